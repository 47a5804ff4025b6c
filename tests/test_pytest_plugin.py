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
    assert "with graphs: chat, slow_chat, approval, tools, boom, essay" in done.stdout
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
        f"Agent Server ready at {server.url} with graphs: chat, slow_chat, approval, tools, boom, essay. Stop it with %agent stop.",
        "Stopped the embedded Agent Server.",
    ]
    assert magics.connection.server is None
    assert client.ok()  # still running: it belongs to the session, not to this kernel
