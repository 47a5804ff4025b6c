"""Write the lock: the exact version of every package ``pip install -e '.[test]'`` installs today.

    python scripts/lock.py constraints.txt

A fresh virtual environment gets the newest releases that pyproject.toml's ranges allow; ``pip freeze``
of it is the lock, used as a pip constraints file (``pip install -c constraints.txt``). Constraints pin
what gets installed without adding anything, so the package's own ranges stay ranges for its users.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = """\
# The lock: exact versions for `make test`, `make demo` and CI (a pip constraints file).
# Written by `make upgrade` (scripts/lock.py) from a fresh install of '.[test]'; do not edit by hand.
"""


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "constraints.txt")
    with tempfile.TemporaryDirectory(prefix="lg-magics-lock-") as folder:
        venv.create(folder, with_pip=True)
        python = str(Path(folder) / "bin" / "python")
        subprocess.run([python, "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", f"{ROOT}[test]"], check=True)
        frozen = subprocess.run(
            [python, "-m", "pip", "freeze", "--all", "--exclude", "lg-magics"], check=True, capture_output=True, text=True
        ).stdout
    pins = sorted((line for line in frozen.splitlines() if "==" in line), key=str.lower)
    out.write_text(HEADER + "\n".join(pins) + "\n")
    print(f"Wrote {len(pins)} pins to {out}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
