"""The pytest plugin (``--agent-server``, ``--agent-record-mode``) and the shared server it gives notebooks."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import pytest

from lg_magics.client import Client
from lg_magics.server import EmbeddedServer

from .conftest import Shell

pytestmark = pytest.mark.notebooks

INNER = """
import os
from pathlib import Path

import httpx


def test_the_server_answers():
    url = os.environ["LG_MAGICS_URL"]
    assert httpx.get(url + "/ok").json()["ok"] is True
    Path("url.txt").write_text(url)


def test_one_server_for_the_whole_session():
    assert os.environ["LG_MAGICS_URL"] == Path("url.txt").read_text()
    Path("mode.txt").write_text(os.environ.get("LG_MAGICS_RECORD_MODE", "unset"))
"""


def _pytest(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args]
    return subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300)


def test_installed_as_a_pytest_entry_point() -> None:
    assert [ep.value for ep in entry_points(group="pytest11", name="lg_magics")] == ["lg_magics.pytest_plugin"]


def test_importing_the_plugin_stays_light() -> None:
    code = "import sys, lg_magics.pytest_plugin; print(sorted(m for m in ('httpx', 'IPython', 'ipywidgets', 'lg_magics.server') if m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"


def test_agent_server_runs_once_for_the_session_and_stops_after(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER)
    done = _pytest(tmp_path, "--agent-server", "demo", "--agent-record-mode", "replay", "test_inner.py")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "lg_magics: Agent Server at http://127.0.0.1:" in done.stdout
    assert "with graphs: chat, slow_chat, approval, tools, boom" in done.stdout
    assert (tmp_path / "mode.txt").read_text() == "replay"
    with pytest.raises(httpx.TransportError):  # stopped with the session
        httpx.get((tmp_path / "url.txt").read_text() + "/ok")


def test_a_bad_langgraph_json_is_one_usage_error(tmp_path: Path) -> None:
    (tmp_path / "test_inner.py").write_text(INNER)
    done = _pytest(tmp_path, "--agent-server", "missing/langgraph.json", "test_inner.py")
    assert done.returncode == 4
    assert "ERROR: --agent-server missing/langgraph.json: No langgraph.json at" in done.stderr
    assert "Traceback" not in done.stderr


def test_serve_uses_the_session_server_and_stop_leaves_it_running(
    shell: Shell, server: EmbeddedServer, client: Client, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    magics = shell.ip.magics_manager.registry["AgentMagics"]
    monkeypatch.setenv("LG_MAGICS_URL", server.url)
    shell.line("serve")
    shell.line("stop")
    # The same lines as when the notebook starts and stops its own server.
    printed = [line for line in capsys.readouterr().out.replace("\x1b[2K", "").splitlines() if line]  # no terminal codes
    assert printed == [
        f"Agent Server ready at {server.url} with graphs: chat, slow_chat, approval, tools, boom. Stop it with %agent stop.",
        "Stopped the embedded Agent Server.",
    ]
    assert magics.connection.server is None
    assert client.ok()  # still running: it belongs to the session, not to this kernel


def _notebook(folder: Path, *, loads_us: bool) -> Path:
    """A notebook whose saved outputs differ from a re-run only where lg_magics' rules mask:
    a loopback port, an ID and the server versions %agent info prints."""
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook, new_output

    code = 'import uuid\nprint(f"http://127.0.0.1:{uuid.uuid4().int % 50000 + 10000} {uuid.uuid4()}")\nprint("Server: langgraph-api 0.17.0, langgraph 1.2.99")'
    saved = "http://127.0.0.1:44053 0b7c9a3e-2f64-4c3c-9a7e-2c1f5d3b8e01\nServer: langgraph-api 0.16.7, langgraph 1.2.22\n"
    cells = [new_code_cell("%load_ext lg_magics" if loads_us else "pass", execution_count=1)]
    cells.append(new_code_cell(code, execution_count=2, outputs=[new_output("stream", name="stdout", text=saved)]))
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / ("uses_us.ipynb" if loads_us else "plain.ipynb")
    nbformat.write(nb, path)
    return path


def test_shipped_sanitize_rules_apply_to_notebooks_that_load_lg_magics(tmp_path: Path) -> None:
    ours = _notebook(tmp_path, loads_us=True)
    done = _pytest(tmp_path, "--nbval", "-q", ours.name)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    # The same outputs fail without the rules: with the option, or in a notebook that does not load us.
    assert _pytest(tmp_path, "--nbval", "-q", "--agent-no-sanitize", ours.name).returncode == 1
    assert _pytest(tmp_path, "--nbval", "-q", _notebook(tmp_path, loads_us=False).name).returncode == 1


def test_users_sanitize_file_adds_to_the_shipped_rules(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_output

    path = _notebook(tmp_path, loads_us=True)
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source += '\nprint("took 1.234 s")'
    nb.cells[1].outputs[0]["text"] += "took 9.9 s\n"
    nb.cells[1].outputs = [new_output("stream", name="stdout", text=nb.cells[1].outputs[0]["text"])]
    nbformat.write(nb, path)
    (tmp_path / "mine.cfg").write_text("[timing]\nregex: took [0-9.]+ s\nreplace: took T s\n")
    assert _pytest(tmp_path, "--nbval", "-q", path.name).returncode == 1
    done = _pytest(tmp_path, "--nbval", "-q", "--nbval-sanitize-with", "mine.cfg", path.name)
    assert done.returncode == 0, done.stdout[-3000:]
