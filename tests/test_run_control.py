"""Interrupts, resume, busy threads and reconnects, against the real server."""

from __future__ import annotations

import pytest

from lg_magics.client import Client
from lg_magics.exceptions import AgentUsageError, BusyThread, StreamInterrupted
from lg_magics.protocol import Event, EventCursor, run_body

from .conftest import wait_for
from .proxy import CuttingProxy

SEED = "Hello! My name is Bagatur and I am 26 years old."


# -- interrupts and resume -------------------------------------------------------------------------
def test_interrupt_waits_for_input_and_the_cell_succeeds(shell) -> None:
    shell.cell("approval", "ship v2")
    result = shell.ns["_agent"]
    assert result.status == "waiting for input"
    assert result.interrupts[0]["value"] == {"question": "Approve this draft?", "draft": "DRAFT: ship v2"}
    assert shell.summary().splitlines()[0] == "approval · thread approval_thread · waiting for input"
    assert '[interrupt] waiting for input: {"draft": "DRAFT: ship v2", "question": "Approve this draft?"}' in shell.summary()
    # The graph's response_schema says what an answer looks like (and gives the live view a form).
    assert "    answer: {approved: true/false, comment: text (optional)}" in shell.summary().splitlines()
    assert result.interrupts[0]["response_schema"]["required"] == ["approved"]


@pytest.mark.parametrize("modes", ["messages-tuple", "custom", "messages", "events"])
def test_interrupt_is_visible_whatever_the_stream_modes(shell, modes) -> None:
    # The server shows interrupts only in updates/values/tasks/debug; the thread state tells the rest.
    shell.cell(f"approval --new --stream-mode {modes}", "ship v3")
    assert shell.ns["_agent"].status == "waiting for input"
    assert "[interrupt] waiting for input" in shell.summary()


def test_interrupt_of_a_stateless_run(shell) -> None:
    shell.cell("approval --stateless", "ship v4")
    assert shell.ns["_agent"].status == "waiting for input"
    assert shell.ns["_agent"].interrupts[0]["value"]["draft"] == "DRAFT: ship v4"


@pytest.mark.parametrize(
    ("value", "result"),
    [
        ("yes", "published"),
        ('{"approved": false}', "rejected"),
        ("true", "published"),
        ('{"approved": true, "comment": "as the form sends it"}', "published"),
    ],
)
def test_resume_with_text_or_json(shell, client: Client, value, result) -> None:
    shell.cell("approval --new", "ship v5")
    shell.cell("approval --resume", value)
    comment = " (as the form sends it)" if "comment" in value else ""
    assert shell.ns["_agent"]["result"] == f"{result}: DRAFT: ship v5{comment}"
    assert shell.ns["_agent"].status == "done"
    assert shell.summary().splitlines()[1] == f"[resume] {value}"
    assert client.get_thread(shell.ns["approval_thread"])["status"] == "idle"


def test_resume_errors_are_one_line(shell) -> None:
    with pytest.raises(AgentUsageError, match="Nothing to resume: approval_thread holds no thread"):
        shell.cell("approval --resume", "yes")
    with pytest.raises(AgentUsageError, match="drop --stateless"):
        shell.cell("approval --stateless --resume", "yes")
    shell.cell("chat", SEED)
    with pytest.raises(AgentUsageError, match="not waiting at an interrupt"):
        shell.cell("chat --resume", "yes")


def test_wait_shows_an_interrupt(shell) -> None:
    shell.cell("approval --wait", "ship v6")
    assert shell.ns["_agent"].status == "waiting for input"
    assert "[interrupt]" in shell.summary() and "answer: {approved" in shell.summary()


# -- busy threads ----------------------------------------------------------------------------------
def _busy_thread(client: Client) -> tuple[str, str]:
    thread_id = client.create_thread()["thread_id"]
    run = client.create_run(thread_id, run_body("slow_chat", input={"messages": [{"role": "human", "content": "count to 40"}]}))
    wait_for(lambda: client.get_run(thread_id, run["run_id"])["status"] == "running", what="the first run to start")
    return thread_id, run["run_id"]


def test_busy_thread_with_reject_names_the_flag(shell, client: Client) -> None:
    thread_id, run_id = _busy_thread(client)
    shell.ns["t"] = thread_id
    try:
        with pytest.raises(BusyThread, match="--multitask interrupt\\|rollback\\|enqueue") as info:
            shell.cell("slow_chat --thread t --multitask reject", SEED)
        assert len(info.value._render_traceback_()) == 1
    finally:
        client.cancel_run(thread_id, run_id)


def test_busy_thread_with_interrupt_takes_over(shell, client: Client) -> None:
    thread_id, run_id = _busy_thread(client)
    shell.ns["t"] = thread_id
    shell.cell('slow_chat --thread t --multitask interrupt --context {"delay":0}', SEED)
    assert shell.ns["_agent"].status == "done"
    assert client.get_run(thread_id, run_id)["status"] == "interrupted"


# -- reconnect -------------------------------------------------------------------------------------
def test_cursor_delivers_each_event_once_despite_shared_ids() -> None:
    # Ids have millisecond resolution: two events may share one, and a rejoin from that
    # id would skip the second. The cursor rejoins from the id before and skips what it had.
    stream = [
        Event("metadata", {}, "1-0"),
        Event("custom", {"a": 1}, "2-0"),
        Event("updates", {"b": 2}, "2-0"),
        Event("values", {}, "3-0"),
    ]
    cursor = EventCursor()
    assert [cursor.deliver(e) for e in stream[:2]] == [True, True]
    assert cursor.rejoin_from() == "1-0"
    replay = [e for e in stream if e.id > "1-0"]  # what the server replays after 1-0
    assert [e.event for e in replay if cursor.deliver(e)] == ["updates", "values"]
    assert cursor.rejoin_from() == "2-0"
    assert EventCursor().rejoin_from() == "-1"


@pytest.fixture()
def proxy(server):
    p = CuttingProxy(server.port)
    yield p
    p.close()


@pytest.mark.parametrize("after_bytes", [1200, 3000])
def test_dropped_thread_stream_is_rejoined_with_every_event_once(shell, proxy: CuttingProxy, after_bytes: int) -> None:
    expected = " ".join(str(i) for i in range(1, 41))
    shell.line(f"connect {proxy.url}")
    proxy.cut_next("POST /threads/", after_bytes)
    shell.cell('slow_chat --context {"delay":0.02}', "count to 40")
    assert proxy.cut_count == 1
    result = shell.ns["_agent"]
    assert result.status == "done"
    assert [m["content"] for m in result.messages] == ["count to 40", expected]
    assert shell.summary().count(expected) == 1


def test_dropped_rejoin_is_retried(shell, proxy: CuttingProxy) -> None:
    shell.line(f"connect {proxy.url}")
    proxy.cut_next("POST /threads/", 1500)
    proxy.cut_next("GET /threads/", 200, times=2)
    shell.cell('slow_chat --context {"delay":0.02}', "count to 30")
    assert proxy.cut_count == 3
    assert shell.ns["_agent"].text == " ".join(str(i) for i in range(1, 31))


def test_dropped_stateless_stream_says_it_cannot_be_rejoined(shell, proxy: CuttingProxy) -> None:
    shell.line(f"connect {proxy.url}")
    proxy.cut_next("POST /runs/stream", 1500)
    with pytest.raises(StreamInterrupted, match="stateless streams cannot be rejoined"):
        shell.cell('slow_chat --stateless --context {"delay":0.02}', "count to 30")
    assert shell.summary().splitlines()[0] == "slow_chat · stateless · failed"


def test_reconnects_give_up_after_bounded_tries(shell, proxy: CuttingProxy, monkeypatch) -> None:
    import lg_magics.follow as follow

    monkeypatch.setattr(follow, "RECONNECT_DELAYS", (0.01, 0.01))
    shell.line(f"connect {proxy.url}")
    proxy.cut_next("POST /threads/", 1500)
    proxy.cut_next("GET /threads/", 100, times=10)
    with pytest.raises(StreamInterrupted, match="reconnection attempts failed"):
        shell.cell('slow_chat --context {"delay":0.05}', "count to 30")
