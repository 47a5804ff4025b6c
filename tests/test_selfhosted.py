"""The seed flow and run control against self-hosted Agent Servers on PostgreSQL: Aegra 0.11, and the
stock langgraph-api on PostgreSQL + Redis (langhost), each serving our unchanged demo graphs.

Every test runs against both (``target``), with the same visible results as against ``langgraph dev``.
The servers, PostgreSQL and Redis start once per session on loopback and stop by PID; one that cannot
start fails the tests that need it (``make selfhosted`` installs them), never skips them.
"""

from __future__ import annotations

import _thread
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from lg_magics.client import Client
from lg_magics.exceptions import AuthenticationFailed, ThreadNotFound
from lg_magics.server import free_port

from .conftest import Shell, wait_for
from .proxy import CuttingProxy
from .selfhosted import Aegra, Servers

pytestmark = [pytest.mark.server, pytest.mark.selfhosted]

SEED = "Hello! My name is Bagatur and I am 26 years old."
QUESTION = "What is my name and how old am I?"
TOKEN = "demo-token-0123456789"  # lg_magics/demo/auth.py


def magics(shell: Shell) -> Any:
    return shell.ip.magics_manager.registry["AgentMagics"]


def runs_of(api: Client, thread_id: str) -> list[dict[str, Any]]:
    return api._json("GET", f"/threads/{thread_id}/runs") or []


def interrupt_when(condition: Any) -> threading.Thread:
    """Interrupt the main thread (as a kernel interrupt does) once ``condition`` holds."""

    def watch() -> None:
        wait_for(condition, timeout=60, what="the run to start")
        _thread.interrupt_main()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


# -- the seed flow ---------------------------------------------------------------------------------
def test_stateful_chat_remembers_and_stateless_does_not(remote: Shell, api: Client) -> None:
    remote.cell("chat", SEED)
    assert "Nice to meet you, **Bagatur**!" in remote.summary()
    remote.cell("chat", QUESTION)
    assert remote.ns["_agent"].text == "Your name is **Bagatur** and you are **26** years old."
    assert remote.summary().splitlines()[0] == "chat · thread chat_thread · done"
    values = api.get_state(remote.ns["chat_thread"])["values"]
    assert [m["type"] for m in values["messages"]] == ["human", "ai", "human", "ai"]
    remote.cell("chat --stateless", QUESTION)
    assert remote.ns["_agent"].text.startswith("I don't know your name or your age")


def test_wait_returns_the_final_state(remote: Shell) -> None:
    remote.cell("chat --wait", SEED)
    assert remote.ns["_agent"]["user_name"] == "Bagatur" and remote.ns["_agent"].status == "done"


def test_a_stale_thread_says_pass_new(remote: Shell) -> None:
    remote.ns["chat_thread"] = str(uuid.uuid4())
    with pytest.raises(ThreadNotFound, match="Pass --new to start a new thread"):
        remote.cell("chat", SEED)


def test_unknown_assistant_lists_the_available_ones(remote: Shell) -> None:
    from lg_magics.exceptions import AssistantNotFound

    with pytest.raises(AssistantNotFound, match=r"No assistant 'pirate' on .*Available: .*approval.*chat"):
        remote.cell("pirate", SEED)


def test_custom_assistant_by_name(remote: Shell, api: Client) -> None:
    name = f"pirate-{uuid.uuid4().hex[:6]}"
    assistant = api._json("POST", "/assistants", json={"graph_id": "chat", "name": name})
    try:
        remote.cell(f"{name} --stateless", SEED)
        assert remote.ns["_agent"]["user_name"] == "Bagatur"
    finally:
        api._json("DELETE", f"/assistants/{assistant['assistant_id']}")


# -- interrupts and resume -------------------------------------------------------------------------
def test_interrupt_waits_and_resume_finishes(remote: Shell) -> None:
    remote.cell("approval", "ship v2")
    assert remote.ns["_agent"].status == "waiting for input"
    assert remote.summary().splitlines()[0] == "approval · thread approval_thread · waiting for input"
    remote.cell("approval --resume", "yes")
    assert remote.ns["_agent"]["result"] == "published: DRAFT: ship v2" and remote.ns["_agent"].status == "done"


def test_wait_shows_an_interrupt(remote: Shell) -> None:
    remote.cell("approval --wait", "ship v6")
    assert remote.ns["_agent"].status == "waiting for input"


# -- cancel ----------------------------------------------------------------------------------------
def test_a_kernel_interrupt_cancels_a_streaming_run(remote: Shell, api: Client) -> None:
    thread_id = remote.ns["t"] = api.create_thread()["thread_id"]
    interrupt_when(lambda: any(r.get("status") == "running" for r in runs_of(api, thread_id)))
    with pytest.raises(KeyboardInterrupt):
        remote.cell('slow_chat --thread t --context {"delay":0.2}', "count to 100")
    assert remote.summary().splitlines()[0] == "slow_chat · thread t · cancelled"
    wait_for(lambda: all(r["status"] not in ("pending", "running") for r in runs_of(api, thread_id)), what="the run to stop")


def test_a_kernel_interrupt_cancels_a_wait_run_by_its_id(remote: Shell, api: Client) -> None:
    thread_id = remote.ns["t"] = api.create_thread()["thread_id"]
    interrupt_when(lambda: any(r.get("status") == "running" for r in runs_of(api, thread_id)))
    with pytest.raises(KeyboardInterrupt):
        remote.cell('slow_chat --thread t --wait --context {"delay":0.2}', "count to 100")
    wait_for(lambda: all(r["status"] not in ("pending", "running") for r in runs_of(api, thread_id)), what="the run to stop")


def test_background_run_cancelled_shows_cancelled(remote_kernel: Any) -> None:
    remote_kernel.execute('%%agent slow_chat --background --new --out c --context {"delay":0.2}\ncount to 100')
    assert remote_kernel.text_of("%agent cancel c").strip() == "Cancelled c."
    remote_kernel.execute("%agent wait c")
    assert remote_kernel.text_of("print(c.status)").strip() == "cancelled"


# -- background, map, reconnect --------------------------------------------------------------------
def test_background_run_and_wait(remote_kernel: Any) -> None:
    remote_kernel.execute('%%agent slow_chat --background --new --out bg --context {"delay":0.01}\ncount to 10')
    remote_kernel.execute("%agent wait bg")
    assert remote_kernel.text_of("print(bg.status, bg.text)").strip() == "done " + " ".join(str(i) for i in range(1, 11))


def test_map_runs_each_item(remote: Shell) -> None:
    remote.ns["people"] = [{"name": "Ada", "age": 36}, {"name": "Bo", "age": 3}]
    remote.cell("chat --map people --out replies", "My name is {{name}} and I am {{age}} years old.")
    assert [r["user_name"] for r in remote.ns["replies"]] == ["Ada", "Bo"]
    assert all(r.status == "done" for r in remote.ns["replies"])


def test_a_dropped_stream_is_rejoined_and_the_run_continues(remote: Shell, target: Any) -> None:
    proxy = CuttingProxy(target.port)
    try:
        remote.line(f"connect {proxy.url}")
        proxy.cut_next("POST /threads/", 1500)
        remote.cell('slow_chat --context {"delay":0.02}', "count to 40")
        assert proxy.cut_count == 1
        assert remote.ns["_agent"].status == "done"
        assert remote.ns["_agent"].text == " ".join(str(i) for i in range(1, 41))
    finally:
        proxy.close()


# -- inspection ------------------------------------------------------------------------------------
def test_inspection_commands(remote: Shell, target: Any, capsys: pytest.CaptureFixture[str]) -> None:
    remote.cell("chat", SEED)
    remote.line("assistants")
    assert "assistants on" in remote.outputs[-1]["data"]["text/plain"]
    remote.line("threads")
    lines = remote.outputs[-1]["data"]["text/plain"].splitlines()
    mine = next(line for line in lines if line.startswith("chat_thread"))
    assert "user_age: 26, user_name: Bagatur; 2 messages" in mine
    remote.line("state")
    assert remote.outputs[-1]["data"]["text/plain"].splitlines()[3:6] == [
        "messages   2 messages, last [ai] Nice to meet you, **Bagatur**! I will remember that you are 26 years old.",
        "user_age   26",
        "user_name  Bagatur",
    ]
    remote.line("history --limit 3")
    assert "checkpoints on the current branch, newest first" in remote.outputs[-1]["data"]["text/plain"]
    remote.line("graph approval")
    assert "review" in remote.outputs[-1]["data"]["text/plain"]
    capsys.readouterr()
    remote.line("info")
    server_line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Server: "))
    assert server_line.startswith("Server: Aegra 0.11" if isinstance(target, Aegra) else "Server: langgraph-api 0.11")


# -- record and replay -----------------------------------------------------------------------------
def test_record_then_replay_without_the_server(remote: Shell, target: Any, tmp_path: Path) -> None:
    from .test_cassette import _summaries, new_kernel

    path = tmp_path / "remote.cassette.json"
    cells = [("chat", SEED), ("chat", QUESTION), ("approval", "ship it"), ("boom --no-fail", "anything")]
    remote.line(f"record {path} --mode record")
    remote.line(f"connect {target.url}")
    recorded = _summaries(remote, cells)
    new_kernel(remote)
    remote.line(f"record {path} --mode replay")
    remote.line(f"connect http://127.0.0.1:{free_port()}")
    assert _summaries(remote, cells) == recorded


# -- bearer auth -----------------------------------------------------------------------------------
# langhost 0.11.1.post1 with custom auth answers runs with HTTP 500 (its worker drops the connection),
# so bearer auth is tested on Aegra and on `langgraph dev`, which run the same handler.
@pytest.fixture(scope="module", params=["aegra-auth", "dev-auth"])
def auth_target(request: pytest.FixtureRequest, servers: Servers) -> Any:
    return servers.get(request.param)


def test_bearer_token(
    auth_target: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lg_magics.magics import AgentMagics

    shell = Shell()
    shell.ip.reset(new_session=False)
    shell.ip.register_magics(AgentMagics(shell=shell.ip))
    try:
        # Readiness paths may not check auth: connect must still fail, in one line naming the settings.
        with pytest.raises(AuthenticationFailed, match="authentication failed. Set LG_MAGICS_AUTH_TOKEN") as caught:
            shell.line(f"connect {auth_target.url}")
        assert len(caught.value._render_traceback_()) == 1
        magics(shell).auth_token = "wrong-token-0123456789"
        with pytest.raises(AuthenticationFailed):
            shell.line(f"connect {auth_target.url}")
        # The environment variable, read when the extension loads, as a user sets it.
        monkeypatch.setenv("LG_MAGICS_AUTH_TOKEN", TOKEN)
        shell.ip.register_magics(AgentMagics(shell=shell.ip))
        path = tmp_path / "auth.cassette.json"
        shell.line(f"record {path} --mode record")
        shell.line(f"connect {auth_target.url}")
        shell.cell("chat", SEED)
        assert shell.ns["_agent"]["user_name"] == "Bagatur"
        shell.cell("approval --wait", "ship it")
        shell.line("info")
        shell.line("threads")
        shown = capsys.readouterr().out + repr(magics(shell).connection.client(auth_target.url)) + str(shell.outputs)
        assert "Bearer token: from LG_MAGICS_AUTH_TOKEN" in shown
        assert TOKEN not in shown and TOKEN not in path.read_text() and "authorization" not in path.read_text().lower()
    finally:
        shell.ip.register_magics(AgentMagics(shell=shell.ip))


def test_a_failed_run_fails_the_cell_with_its_error(remote: Shell) -> None:
    from lg_magics.exceptions import RunFailed

    with pytest.raises(RunFailed, match=r"The run failed \(its error is shown above\)"):
        remote.cell("boom", "anything")
    assert "kaboom: the boom node always fails" in remote.summary()
    assert "kaboom: the boom node always fails" in remote.ns["_agent"].error["message"]
    assert remote.ns["_agent"].status == "failed"


def test_serve_under_lg_magics_url_uses_that_server(
    remote: Shell, target: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The CI path: %agent serve borrows the server named by LG_MAGICS_URL, listing its graphs page by page.
    monkeypatch.setenv("LG_MAGICS_URL", target.url)
    capsys.readouterr()
    remote.line("serve")
    line = capsys.readouterr().out.strip()
    assert f"Agent Server ready at {target.url} with graphs: " in line
    assert sorted(line.split("graphs: ")[1].split(". Stop")[0].split(", ")) == sorted(target.graphs)
