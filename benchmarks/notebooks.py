"""How long the notebook suite takes: strict nbval over notebooks/, embedded server start included.

    python benchmarks/notebooks.py

A script, not a test: it prints figures and asserts nothing. It runs exactly what
``make test`` runs once (``pytest --nbval --agent-server ...`` in a fresh process)
with two xdist workers, and reports the wall time, and the time per notebook from pytest's JUnit report.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_S = 60.0


def main() -> int:
    notebooks = sorted((ROOT / "notebooks").glob("*.ipynb"))
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "junit.xml"
        command = [
            sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2", "--dist", "loadscope", "--nbval",
            "--agent-server", str(ROOT / "lg_magics" / "demo" / "langgraph.json"),
            "--nbval-sanitize-with", str(ROOT / "notebooks" / "nbval-sanitize.cfg"),
            f"--junitxml={report}", *map(str, notebooks),
        ]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        per_notebook: dict[str, float] = defaultdict(float)
        cells = 0
        if report.exists():
            for case in ElementTree.parse(report).getroot().iter("testcase"):
                # nbval's class name is the notebook's dotted path: notebooks.quickstart.ipynb
                name = case.get("classname", "?").removesuffix(".ipynb").split(".")[-1] + ".ipynb"
                per_notebook[name] += float(case.get("time", 0))
                cells += 1
    print(
        f"notebook suite: {len(notebooks)} notebooks, {cells} cells, strict nbval with --agent-server and 2 xdist workers, "
        f"on {os.cpu_count()} cores: {elapsed:.1f} s wall (goal <= {GOAL_S:.0f} s, server start included)"
    )
    for name, seconds in sorted(per_notebook.items()):
        print(f"    {name:40} {seconds:6.1f} s")
    print(f"    pytest: {done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr.strip()[-300:]}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
