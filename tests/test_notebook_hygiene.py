"""Every notebook re-executed: no diff but masked IDs, no API key anywhere, and pure %%agent notebooks replayed.

Notebooks are executed the way ``make notebooks`` does (scripts/execute_notebook.py), twice: once as
is, to compare with the saved file, and once with a made-up API key in the environment, widget state
kept and every request recorded to a cassette, to scan all of it for the key. The kernels reuse one
embedded server through ``LG_MAGICS_URL``, as under the pytest plugin, while the saved notebooks were
executed with their own ``%agent serve``: so a match also shows that outputs are the same with and
without the plugin.
"""

from __future__ import annotations

import copy
import difflib
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest

from lg_magics.pytest_plugin import sanitize_rules
from lg_magics.server import EmbeddedServer, free_port

pytestmark = pytest.mark.notebooks

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
    """The saved file's text with nbval's sanitize rules applied to each output, as nbval applies them
    (to an output's text, so ``^`` anchors at its lines), diffed the way a reviewer reads the file."""
    # What nbval applies under our plugin: the rules lg_magics ships, then this folder's.
    rules = [*sanitize_rules(), *sanitize_rules(SANITIZE)]

    def clean(value: Any) -> Any:
        if isinstance(value, list):
            value = "".join(value)
        if not isinstance(value, str):
            return value
        for regex, replace in rules:
            value = re.sub(regex, replace, value)
        return value

    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = clean(output["text"])
            for key, value in output.get("data", {}).items():
                output["data"][key] = clean(value)
    return nbformat.writes(nb)


def assert_same(nb: nbformat.NotebookNode, path: Path) -> None:
    """``nb`` saved over ``path`` would leave no diff but in masked places: else show that diff."""
    committed = sanitized(nbformat.read(path, as_version=4)).splitlines()
    diff = list(difflib.unified_diff(committed, sanitized(nb).splitlines(), "committed", "re-executed", n=2, lineterm=""))
    assert not diff, f"{path.name} would change:\n" + "\n".join(diff[:80])


@dataclass
class Executed:
    notebook: nbformat.NotebookNode  # as executed: widget state kept
    error: Any
    cassette: Path


def execute_all(folder: Path, secret: bool) -> tuple[dict[str, Executed], str]:
    """Every notebook executed in its own kernel, all on one server through ``LG_MAGICS_URL``; and its log.

    With ``secret``, a made-up API key is in the environment (the server's too) and every request is
    recorded to a cassette per notebook. Without, no key and no cassette: what ``make notebooks`` does.
    """
    script = _script()
    results: dict[str, Executed] = {}
    with pytest.MonkeyPatch.context() as env:
        for name in (
            "LANGGRAPH_API_KEY",
            "LANGSMITH_API_KEY",
            "LANGCHAIN_API_KEY",
            "LG_MAGICS_CASSETTE",
            "LG_MAGICS_RECORD_MODE",
        ):
            env.delenv(name, raising=False)
        if secret:
            env.setenv("LANGSMITH_API_KEY", SECRET)  # before the server starts: it must not log it either
            env.setenv("LG_MAGICS_RECORD_MODE", "record")
        server = EmbeddedServer()
        server.start()
        try:
            env.setenv("LG_MAGICS_URL", server.url)
            for path in NOTEBOOKS:
                cassette = folder / f"{path.stem}.cassette.json"
                if secret:
                    env.setenv("LG_MAGICS_CASSETTE", str(cassette))
                nb, error = script.execute(path)
                results[path.name] = Executed(nb, error, cassette)
            log = server.log_path.read_text(errors="replace") if server.log_path else ""
        finally:
            server.stop()
    return results, log


@pytest.fixture(scope="module")
def reexecuted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Executed]:
    return execute_all(tmp_path_factory.mktemp("reexecuted"), secret=False)[0]


@pytest.fixture(scope="module")
def with_secret(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Executed], str]:
    return execute_all(tmp_path_factory.mktemp("with-secret"), secret=True)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_reexecuting_changes_nothing_but_masked_ids(path: Path, reexecuted: dict[str, Executed]) -> None:
    result = reexecuted[path.name]
    assert result.error is None, f"{path.name}: {result.error}"
    nb = copy.deepcopy(result.notebook)
    _script().stabilize(nb)
    assert "widgets" not in nb.metadata
    assert_same(nb, path)


def test_no_api_key_in_outputs_widget_state_cassettes_or_logs(with_secret: tuple[dict[str, Executed], str]) -> None:
    results, log = with_secret
    assert [name for name, result in results.items() if result.error] == []
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
    name: str, with_secret: tuple[dict[str, Executed], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    result = with_secret[0][name]
    assert json.loads(result.cassette.read_text())["interactions"]
    monkeypatch.setenv("LG_MAGICS_CASSETTE", str(result.cassette))
    monkeypatch.setenv("LG_MAGICS_RECORD_MODE", "replay")
    monkeypatch.setenv("LG_MAGICS_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.delenv("LANGSMITH_API_KEY", raising=False)
    script = _script()
    nb, error = script.execute(ROOT / "notebooks" / name)
    assert error is None, error
    script.stabilize(nb)
    assert_same(nb, ROOT / "notebooks" / name)
