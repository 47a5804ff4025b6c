"""Every notebook re-executed: no diff but masked IDs, no API key anywhere, and pure %%agent notebooks replayed.

One pass executes each notebook the way ``make notebooks`` does (scripts/execute_notebook.py), with a
made-up API key in the environment, widget state kept (to scan it), and every request recorded to a
cassette. The kernels reuse one embedded server through ``LG_MAGICS_URL``, as under the pytest plugin,
while the saved notebooks were executed with their own ``%agent serve``: so a match also shows that
outputs are the same with and without the plugin.
"""

from __future__ import annotations

import configparser
import copy
import importlib.util
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from lg_magics.server import EmbeddedServer, free_port

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SANITIZE = ROOT / "notebooks" / "nbval-sanitize.cfg"
SECRET = "lgm-test-secret-XYZ-9f8e7d6c5b4a3210"
#: Notebooks whose every request goes through the magics (no SDK calls, no nested kernels): they must
#: replay from their cassette with no server at all.
REPLAYABLE = ("quickstart.ipynb", "streaming_modes.ipynb")


def _script() -> Any:
    spec = importlib.util.spec_from_file_location("execute_notebook", ROOT / "scripts" / "execute_notebook.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def sanitized(nb: nbformat.NotebookNode) -> str:
    """The saved file's text with nbval's sanitize rules applied, as a reviewer would diff it."""
    text = nbformat.writes(nb)
    rules = configparser.ConfigParser()
    rules.read(SANITIZE)
    for section in rules.sections():
        text = re.sub(rules[section]["regex"], rules[section]["replace"], text)
    return text


@dataclass
class Executed:
    notebook: nbformat.NotebookNode  # as executed: widget state kept
    error: Any
    cassette: Path


@pytest.fixture(scope="module")
def executed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Executed], str]]:
    """Each notebook executed once with a secret in the environment; and the server's log."""
    script = _script()
    folder = tmp_path_factory.mktemp("executed")
    results: dict[str, Executed] = {}
    with pytest.MonkeyPatch.context() as env:
        env.setenv("LANGSMITH_API_KEY", SECRET)  # before the server starts: it must not log it either
        env.setenv("LG_MAGICS_RECORD_MODE", "record")
        server = EmbeddedServer()
        server.start()
        try:
            env.setenv("LG_MAGICS_URL", server.url)
            for path in NOTEBOOKS:
                cassette = folder / f"{path.stem}.cassette.json"
                env.setenv("LG_MAGICS_CASSETTE", str(cassette))
                nb, error = script.execute(path)
                results[path.name] = Executed(nb, error, cassette)
            log = server.log_path.read_text(errors="replace") if server.log_path else ""
        finally:
            server.stop()
    yield results, log


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_reexecuting_changes_nothing_but_masked_ids(path: Path, executed: tuple[dict[str, Executed], str]) -> None:
    result = executed[0][path.name]
    assert result.error is None, f"{path.name}: {result.error}"
    nb = copy.deepcopy(result.notebook)
    _script().stabilize(nb)
    assert sanitized(nb) == sanitized(nbformat.read(path, as_version=4))


def test_no_api_key_in_outputs_widget_state_cassettes_or_logs(executed: tuple[dict[str, Executed], str]) -> None:
    results, log = executed
    places = {"server log": log}
    assert any("widgets" in result.notebook.metadata for result in results.values())  # widget state was kept, and scanned
    for name, result in results.items():
        places[f"{name} (outputs, metadata, widget state)"] = nbformat.writes(result.notebook)
        if result.cassette.exists():
            places[result.cassette.name] = result.cassette.read_text()
    assert any(name.endswith(".cassette.json") for name in places)
    # The prefix too: a truncated key in a repr or a log line is a leak as well.
    leaks = [where for where, text in places.items() if SECRET in text or SECRET[:20] in text]
    assert leaks == []


@pytest.mark.parametrize("name", REPLAYABLE)
def test_recorded_notebook_replays_with_no_server(
    name: str, executed: tuple[dict[str, Executed], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = executed[0][name]
    assert json.loads(result.cassette.read_text())["interactions"]
    monkeypatch.setenv("LG_MAGICS_CASSETTE", str(result.cassette))
    monkeypatch.setenv("LG_MAGICS_RECORD_MODE", "replay")
    monkeypatch.setenv("LG_MAGICS_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    script = _script()
    nb, error = script.execute(ROOT / "notebooks" / name)
    assert error is None, error
    script.stabilize(nb)
    assert sanitized(nb) == sanitized(nbformat.read(ROOT / "notebooks" / name, as_version=4))
