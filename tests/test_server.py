"""The embedded Agent Server: start, readiness, logs outside the graph folder, stop."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from lg_magics import server as server_module
from lg_magics.exceptions import EmbeddedServerError
from lg_magics.server import DEMO_CONFIG, EmbeddedServer, absolute_config, free_port

from .conftest import wait_for


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.server
def test_start_on_given_port_then_stop(tmp_path: Path) -> None:
    port = free_port()
    embedded = EmbeddedServer(port=port)
    try:
        assert embedded.start() == f"http://127.0.0.1:{port}"
        assert httpx.get(f"{embedded.url}/ok").json()["ok"] is True
        assert embedded.graphs == ["chat", "slow_chat", "approval", "tools", "boom", "agent", "essay"]
        # Logs and persistence live in the server's own folder, never next to the graphs.
        assert embedded.log_path and embedded.log_path.parent != DEMO_CONFIG.parent
        assert not (DEMO_CONFIG.parent / ".langgraph_api").exists()
        pid = embedded.pid
    finally:
        embedded.stop()
    assert not embedded.running
    wait_for(lambda: not _alive(pid), what="the server process to end")
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/ok")


@pytest.mark.server
def test_own_graphs_with_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "agent.py").write_text((DEMO_CONFIG.parent / "graphs.py").read_text())
    (tmp_path / "langgraph.json").write_text(json.dumps({"dependencies": ["."], "graphs": {"mine": "./agent.py:chat"}}))
    embedded = EmbeddedServer(tmp_path / "langgraph.json")
    try:
        embedded.start()
        assert [a["graph_id"] for a in httpx.post(f"{embedded.url}/assistants/search", json={}).json()] == ["mine"]
    finally:
        embedded.stop()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agent.py", "langgraph.json"]


def test_absolute_config_rewrites_paths(tmp_path: Path) -> None:
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"dependencies": ["."], "graphs": {"a": "./g.py:a", "b": "pkg.mod:b"}, "env": ".env"}))
    result = absolute_config(config)
    assert result["graphs"] == {"a": f"{tmp_path}/g.py:a", "b": "pkg.mod:b"}
    assert result["dependencies"] == [str(tmp_path)]
    assert result["env"] == f"{tmp_path}/.env"


@pytest.mark.server
def test_graph_that_fails_to_load_says_why(tmp_path: Path) -> None:
    (tmp_path / "langgraph.json").write_text(json.dumps({"graphs": {"bad": "./missing.py:graph"}}))
    with pytest.raises(EmbeddedServerError, match="exited during start-up: .*missing.py"):
        EmbeddedServer(tmp_path / "langgraph.json").start()


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "No langgraph.json at"), ("{not json", "Cannot read"), ('{"graphs": 1}', 'needs a "graphs" object')],
)
def test_bad_config_is_one_line(tmp_path: Path, content, message) -> None:
    path = tmp_path / "langgraph.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(EmbeddedServerError, match=message):
        EmbeddedServer(path).start()


def test_missing_server_extra_says_how_to_install(monkeypatch) -> None:
    monkeypatch.setattr(server_module, "server_installed", lambda: False)
    with pytest.raises(EmbeddedServerError, match=r"pip install 'lg-magics\[server\]'"):
        EmbeddedServer().start()


def test_serve_and_stop_magics(shell, capsys) -> None:
    port = free_port()
    try:
        shell.line(f"serve --port {port}")
        assert (
            f"Agent Server ready at http://127.0.0.1:{port} with graphs: chat, slow_chat, approval, tools, boom, agent, essay."
            in capsys.readouterr().out
        )
        shell.cell("chat --stateless", "Hello! My name is Ada.")
        assert shell.ns["_agent"]["user_name"] == "Ada"
    finally:
        shell.line("stop")
    assert "Stopped the embedded Agent Server." in capsys.readouterr().out
    shell.line("stop")
    assert "No embedded Agent Server is running." in capsys.readouterr().out


def test_without_connection_the_embedded_server_starts_on_first_use(shell, capsys, monkeypatch) -> None:
    monkeypatch.delenv("LG_MAGICS_URL", raising=False)
    magics = shell.ip.magics_manager.registry["AgentMagics"]
    magics.url = ""
    try:
        shell.cell("chat --stateless", "Hello! My name is Ada.")
        assert (
            "Started the embedded Agent Server with the demo graphs (chat, slow_chat, approval, tools, boom, agent, essay)."
            in capsys.readouterr().out
        )
        assert magics.connection.server is not None and magics.url == magics.connection.server.url
    finally:
        shell.line("stop")
