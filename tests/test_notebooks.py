"""The notebooks in notebooks/: strict nbval twice in a row, and readable without widgets."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Optional

import nbformat
import pytest

pytestmark = pytest.mark.notebooks

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SANITIZE = ROOT / "notebooks" / "nbval-sanitize.cfg"
GRAPHS = ROOT / "lg_magics" / "demo" / "langgraph.json"


def run_nbval(env: Optional[dict[str, str]] = None) -> subprocess.CompletedProcess[str]:
    # Our own pytest plugin: one embedded server for the session, as users run it, shared by two
    # xdist workers (loadscope keeps each notebook's cells in order on one worker). It applies the
    # sanitize rules lg_magics ships; ours add the few this folder needs.
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2", "--dist", "loadscope"]
    command += ["--nbval", "--agent-server", str(GRAPHS)]
    command += ["--nbval-sanitize-with", str(SANITIZE), *map(str, NOTEBOOKS)]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def another_langgraph_release(folder: Path, version: str) -> dict[str, str]:
    """An environment in which langgraph reports another release, as if that one were installed: a
    dist-info ahead of site-packages on the path. The embedded server's ``/info`` reads it through
    ``importlib.metadata``, so ``%agent info`` shows it."""
    dist = folder / f"langgraph-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: langgraph\nVersion: {version}\n")
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(folder), *filter(None, [os.environ.get("PYTHONPATH")])])}


def test_strict_nbval_passes_twice_in_a_row_and_after_a_langgraph_upgrade(tmp_path: Path) -> None:
    # The second run is against a server that reports another langgraph patch release: what the
    # notebooks print about versions must not reach what nbval compares.
    upgraded = another_langgraph_release(tmp_path, "1.2.999")
    reported = [sys.executable, "-c", "import langgraph.version; print(langgraph.version.__version__)"]
    assert subprocess.run(reported, env=upgraded, capture_output=True, text=True, check=True).stdout.strip() == "1.2.999"
    for attempt, env in ((1, None), (2, upgraded)):
        done = run_nbval(env)
        assert done.returncode == 0, f"nbval run {attempt} failed:\n{done.stdout[-4000:]}\n{done.stderr[-2000:]}"
        assert " passed" in done.stdout and "failed" not in done.stdout


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_saved_notebook_has_no_widget_state_or_timings(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert "widgets" not in nb.metadata
    assert all("execution" not in cell.metadata for cell in nb.cells)
    assert all(cell.get("execution_count") for cell in nb.cells if cell.cell_type == "code"), "notebook not executed"


def test_quickstart_reads_well_without_a_widget_manager() -> None:
    from nbconvert import HTMLExporter

    nb = nbformat.read(ROOT / "notebooks" / "quickstart.ipynb", as_version=4)
    body, _ = HTMLExporter().from_notebook_node(nb)
    # The conversation is in the saved summary: Markdown rendered, once per run (stateful, streamed, waited).
    assert body.count("Nice to meet you, <strong>Bagatur</strong>!") == 3
    assert "Your name is <strong>Bagatur</strong> and you are <strong>26</strong> years old." in body
    assert "kaboom: the boom node always fails" in body
