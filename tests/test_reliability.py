"""Reliability in a real kernel against real servers: an interrupt at each stage of a run, a stuck
server (SIGSTOP), a response that never comes (a stalling proxy). Whatever happens, the cell ends
within the deadlines with one line."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest

from lg_magics.client import Client
from lg_magics.server import EmbeddedServer

from .conftest import wait_for
from .kernel import Kernel, widget_text
from .proxy import CuttingProxy


def _tokens_arrived(msg: dict[str, Any]) -> bool:
    # The live view sends streamed text as "a" (append) ops, a token or a few at a time.
    text = widget_text(msg) or ""
    return '["a", ' in text or "1 2 3" in text


def _run_status(client: Client, thread_id: str) -> str:
    runs = client.list_runs(thread_id)
    return runs[0]["status"] if runs else "none"


def _error(reply: dict[str, Any]) -> tuple[str, str, list[str]]:
    content = reply["content"]
    assert content["status"] == "error", content
    return content["ename"], content["evalue"], content["traceback"]


@pytest.fixture(scope="module")
def stuck_server() -> Iterator[EmbeddedServer]:
    """A server of this module's own, which tests stop with SIGSTOP (never the shared one)."""
    embedded = EmbeddedServer()
    embedded.start()
    yield embedded
    os.killpg(embedded.pid, signal.SIGCONT)
    embedded.stop()


@pytest.fixture()
def connected(kernel: Kernel, server: EmbeddedServer) -> Iterator[Kernel]:
    """The module's kernel; connected to the shared server again after the test."""
    yield kernel
    kernel.execute(f"%agent connect {server.url}")


class Stopped:
    """SIGSTOP a server's process group; SIGCONT on exit, whatever happened."""

    def __init__(self, server: EmbeddedServer) -> None:
        self.pgid = server.pid

    def __enter__(self) -> None:
        os.killpg(self.pgid, signal.SIGSTOP)

    def __exit__(self, *exc: object) -> None:
        os.killpg(self.pgid, signal.SIGCONT)


def test_interrupt_ends_a_foreground_run_with_one_line(connected: Kernel, client: Client) -> None:
    kernel = connected
    msg_id = kernel.client.execute("%%agent slow_chat --new\ncount to 80")
    kernel.wait_iopub(_tokens_arrived, msg_id)
    kernel.manager.interrupt_kernel()
    assert _error(kernel.reply(msg_id)) == ("Interrupted", "run cancelled", ["Interrupted: run cancelled"])
    thread_id = kernel.text_of("print(slow_chat_thread)").strip()
    wait_for(lambda: _run_status(client, thread_id) == "interrupted", what="the run to be cancelled")
    assert kernel.text_of("print(_agent.status)") == "cancelled\n"
    # The same word for the thread (the server says "interrupted", as for a run waiting for input).
    [state] = [
        m["content"]["data"]["text/plain"]
        for m in kernel.execute("%agent state slow_chat_thread")
        if m["msg_type"] == "display_data"
    ]
    assert state.startswith("slow_chat_thread: cancelled · ")


def _streaming_from(kernel: Kernel, server: EmbeddedServer) -> str:
    """Start a long run on ``server``; its cell's message id once tokens arrive."""
    kernel.execute(f"%agent connect {server.url}")
    msg_id = kernel.client.execute("%%agent slow_chat --new\ncount to 400")
    kernel.wait_iopub(_tokens_arrived, msg_id)
    return msg_id


def test_interrupt_while_the_server_is_stuck_ends_the_cell_at_once(connected: Kernel, stuck_server: EmbeddedServer) -> None:
    kernel = connected
    msg_id = _streaming_from(kernel, stuck_server)
    with Stopped(stuck_server):
        # Nothing comes, not even a heartbeat: the view says so while the cell waits.
        kernel.wait_iopub(lambda m: "no event for 1" in (widget_text(m) or ""), msg_id, timeout=20)
        kernel.manager.interrupt_kernel()
        # The cancel has a deadline of a few seconds (it used to wait 300 s for the stuck server).
        ename, evalue, traceback = _error(kernel.reply(msg_id, timeout=15))
    assert ename == "Interrupted"
    assert evalue.startswith("could not reach the server to cancel run ") and evalue.endswith("; it may still be running")
    assert traceback == [f"Interrupted: {evalue}"]
    assert kernel.text_of("print(_agent.status)") == "cancelled\n"


def test_a_stuck_server_ends_the_run_with_one_line(connected: Kernel, stuck_server: EmbeddedServer) -> None:
    kernel = connected
    msg_id = _streaming_from(kernel, stuck_server)
    with Stopped(stuck_server):
        # The stream read's deadline (30 s of silence), then one short question to the server.
        ename, evalue, traceback = _error(kernel.reply(msg_id, timeout=60))
    assert ename == "StreamInterrupted"
    assert "sent nothing for 30 s, not even its heartbeat" in evalue and "may still be going on the server" in evalue
    assert len(traceback) == 1


@pytest.mark.parametrize("flags", ["--thread early --new", "--thread early --new --background", "--stateless --background"])
def test_interrupt_before_the_server_answered_cancels_the_run_it_created(
    connected: Kernel, server: EmbeddedServer, client: Client, flags: str
) -> None:
    kernel = connected
    proxy = CuttingProxy(server.port)  # type: ignore[arg-type]
    try:
        kernel.execute(f"%agent connect {proxy.url}")
        proxy.stall_next("POST /threads/")
        msg_id = kernel.client.execute(f"%%agent slow_chat {flags}\ncount to 80")
        wait_for(proxy.stalled.is_set, what="the server to answer the run's request")
        kernel.manager.interrupt_kernel()
        assert _error(kernel.reply(msg_id, timeout=20))[:2] == ("Interrupted", "run cancelled")
    finally:
        proxy.release()
        proxy.close()
    if "--thread early" in flags:
        # The thread exists, so its variable holds it.
        thread_id = kernel.text_of("print(early)").strip()
    else:
        # A stateless background run's thread of its own: the thread most recently updated.
        thread_id = client.search_threads(limit=1)[0]["thread_id"]
    # The run the request created is cancelled.
    wait_for(lambda: _run_status(client, thread_id) == "interrupted", what="the run to be cancelled")


def test_a_second_interrupt_during_the_cancel_is_one_line_too(connected: Kernel, server: EmbeddedServer) -> None:
    kernel = connected
    proxy = CuttingProxy(server.port)  # type: ignore[arg-type]
    try:
        kernel.execute(f"%agent connect {proxy.url}")
        msg_id = kernel.client.execute("%%agent slow_chat --new\ncount to 80")
        kernel.wait_iopub(_tokens_arrived, msg_id)
        proxy.stall_next("POST /threads/")  # the cancel: its answer never comes
        kernel.manager.interrupt_kernel()
        wait_for(proxy.stalled.is_set, what="the cancel to be under way")
        kernel.manager.interrupt_kernel()
        ename, evalue, traceback = _error(kernel.reply(msg_id))
    finally:
        proxy.release()
        proxy.close()
    assert ename == "Interrupted" and traceback == [f"Interrupted: {evalue}"]
    assert evalue.startswith("could not reach the server to cancel run ") and evalue.endswith("; it may still be running")


# -- the embedded server is owned from Popen on ----------------------------------------------------
def _servers_of(pid: int) -> list[int]:
    """The embedded servers (langgraph dev) that process ``pid`` started."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                ppid = int(stat.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                command = cmdline.read()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid and b"langgraph_cli" in command:
            found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture()
def bare_kernel() -> Iterator[Kernel]:
    """A kernel of its own with lg_magics loaded and connected to nothing."""
    k = Kernel()
    k.execute("%load_ext lg_magics")
    yield k
    k.execute("%agent stop")
    k.stop()


def _kernel_pid(kernel: Kernel) -> int:
    return int(kernel.text_of("import os; print(os.getpid())"))


def test_interrupting_serve_stops_the_server_it_was_starting(bare_kernel: Kernel) -> None:
    kernel = bare_kernel
    pid = _kernel_pid(kernel)
    msg_id = kernel.client.execute("%agent serve")
    [server] = wait_for(lambda: _servers_of(pid), what="the server process to start")
    with open(f"/proc/{server}/cmdline", "rb") as cmdline:
        workdir = cmdline.read().split(b"\0")[3].decode()  # python -c CHILD WORKDIR dev ...
    kernel.manager.interrupt_kernel()
    ename, evalue, traceback = _error(kernel.reply(msg_id))
    assert (ename, evalue) == ("Interrupted", "the embedded Agent Server was stopped before it was ready")
    assert len(traceback) == 1
    wait_for(lambda: not _alive(server), what="the server to stop")
    assert not os.path.exists(workdir)
    assert kernel.text_of("%agent stop") == "No embedded Agent Server is running.\n"


def test_a_failed_serve_leaves_the_running_server_alone(bare_kernel: Kernel) -> None:
    import socket

    kernel = bare_kernel
    kernel.execute("%agent serve")
    url = kernel.text_of("print(get_ipython().magics_manager.registry['AgentMagics'].url)").strip()
    [server] = _servers_of(_kernel_pid(kernel))
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        for line, message in (
            ("%agent serve /no/such/langgraph.json", "No langgraph.json at /no/such/langgraph.json."),
            ("%agent serve --port 70000", "--port takes a port from 1 to 65535, not 70000."),
            (f"%agent serve --port {port}", f"Port {port} is taken on 127.0.0.1"),
        ):
            [error] = [m for m in kernel.execute(line) if m["msg_type"] == "error"]
            assert error["content"]["ename"] == "EmbeddedServerError"
            assert error["content"]["evalue"].startswith(message)
            assert len(error["content"]["traceback"]) == 1
    assert _alive(server)
    assert kernel.text_of("print(get_ipython().magics_manager.registry['AgentMagics'].url)").strip() == url
    assert "1 2 3" in kernel.text_of("%%agent chat --wait --quiet\ncount to 3\n") + kernel.text_of("print(_agent.text)")


def test_the_server_folder_goes_when_the_kernel_is_killed() -> None:
    kernel = Kernel()
    pid = 0
    try:
        kernel.execute("%load_ext lg_magics\n%agent serve")
        server = kernel.text_of("print(get_ipython().magics_manager.registry['AgentMagics'].connection.server.pid)")
        workdir = kernel.text_of("print(get_ipython().magics_manager.registry['AgentMagics'].connection.server.workdir)")
        pid, workdir = int(server), workdir.strip()
        assert os.path.isdir(workdir)
        os.kill(_kernel_pid(kernel), signal.SIGKILL)  # no atexit, no cleanup in the kernel
        wait_for(lambda: not _alive(pid), what="the server to end with its kernel")
        wait_for(lambda: not os.path.exists(workdir), what="the server's folder to be removed")
    finally:
        if pid and _alive(pid):
            os.killpg(pid, signal.SIGKILL)
        kernel.client.stop_channels()
        kernel.manager.cleanup_resources()


# -- replay that cannot replay ---------------------------------------------------------------------
def _errors(messages: list[dict[str, Any]]) -> list[tuple[str, str, int]]:
    return [
        (m["content"]["ename"], m["content"]["evalue"], len(m["content"]["traceback"]))
        for m in messages
        if m["msg_type"] == "error"
    ]


def _never_goes_live(kernel: Kernel, cassette: str) -> None:
    """Every way to reach a server fails with the cassette's one line, and no server starts."""
    for line in ("%agent serve", "%%agent chat\nhello", "%agent serve"):
        [(ename, evalue, lines)] = _errors(kernel.execute(line))
        assert (ename, lines) == ("CassetteError", 1)
        assert cassette in evalue and evalue.endswith(
            "Nothing runs until the cassette is fixed (%agent record PATH) or dropped (%agent record --off)."
        )
    assert not _servers_of(_kernel_pid(kernel))


def test_a_failed_record_in_replay_mode_never_goes_live(bare_kernel: Kernel, tmp_path: Any) -> None:
    missing = str(tmp_path / "missing.cassette.json")
    [(ename, evalue, _)] = _errors(bare_kernel.execute(f"%agent record {missing} --mode replay"))
    assert ename == "CassetteError" and evalue.startswith(f"No cassette at {missing} to replay")
    _never_goes_live(bare_kernel, missing)
    assert bare_kernel.text_of("%agent record --off") == "Runs go to the server, without a cassette.\n"


def test_a_broken_cassette_in_the_environment_never_goes_live(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "broken.cassette.json"
    broken.write_text('{"format": "lg_magics cassette 1", "interactions": [{"request": 1}]}')
    monkeypatch.setenv("LG_MAGICS_CASSETTE", str(broken))
    kernel = Kernel()
    try:
        kernel.execute("%load_ext lg_magics")
        _never_goes_live(kernel, f"{broken}: interaction 1 cannot be replayed")
    finally:
        kernel.stop()


# -- every bad input is one short line -------------------------------------------------------------
_SETUP = """
import datetime, itertools
ctx = {"when": datetime.datetime(2026, 1, 1)}
loop = []
loop.append(loop)
class Bad:
    def __str__(self):
        raise RuntimeError("no text for you")
bad = Bad()
lone = "a\\udcffb"
endless = itertools.count()
"""


@pytest.fixture(scope="module")
def not_agent_server() -> Iterator[str]:
    """A loopback HTTP server that is not an Agent Server: /html/... answers 200 text/html, anything
    else a reverse proxy's HTML 502 page."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = (
                (200, b"<html>hello</html>") if self.path.startswith("/html") else (502, b"<html><h1>502 Bad Gateway</h1></html>")
            )
            self.send_response(status)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.mark.parametrize(
    ("code", "ename", "said"),
    [
        ("%%agent chat --context ctx\nhi", "AgentUsageError", "--context ctx holds a datetime, which JSON cannot carry"),
        ("%%agent chat --context '{\"delay\": NaN}'\nhi", "AgentUsageError", "--context takes a JSON object"),
        ("%agent connect http://[::1", "AgentUsageError", "'http://[::1' is not a valid URL"),
        ("%%agent chat\n{{loop | json}}", "AgentUsageError", "{{loop | json}} in the cell: loop cannot be written as JSON"),
        (
            "%%agent chat\n{{bad}}",
            "AgentUsageError",
            "{{bad}} in the cell: bad cannot be written as text (RuntimeError: no text for you).",
        ),
        (
            "%%agent chat\nsay {{lone}}",
            "AgentUsageError",
            "The cell has a character that is not valid text ('\\udcff', a lone surrogate)",
        ),
        ('%%agent chat --context \'{"a": "\\udcff"}\'\nhi', "AgentUsageError", "--context has a character that is not valid"),
        ("%%agent chat --map endless\n{{item}}", "AgentUsageError", "endless is a count, which may never end"),
        ("%%agent chat --context " + "x" * 18000 + "\nhi", "AgentUsageError", "characters left out"),
        ("%agent connect {url}/html", "ServerError", "/html answered GET /html/ok with text/html, not JSON"),
        ("%agent connect {url}", "ServerError", "GET /ok failed with HTTP 502: Bad Gateway (an HTML page: a proxy or gateway"),
        (
            "%agent record /dev/null/x.json --mode record",
            "CassetteError",
            "Cannot write the cassette /dev/null/x.json: /dev/null is not a folder.",
        ),
    ],
)
def test_bad_input_is_one_short_line(connected: Kernel, not_agent_server: str, code: str, ename: str, said: str) -> None:
    kernel = connected
    kernel.execute(_SETUP)
    try:
        [(got, evalue, lines)] = _errors(kernel.execute(code.replace("{url}", not_agent_server)))
    finally:
        kernel.execute("%agent record --off")
    assert (got, lines) == (ename, 1)
    assert said in evalue and len(evalue) <= 700


def test_a_huge_cell_is_sent_whole_and_shown_abbreviated(connected: Kernel) -> None:
    kernel = connected
    messages = kernel.execute("%%agent chat --new --wait\ncount to 3 " + "word " * 100_000)
    [summary] = [m["content"]["data"] for m in messages if m["msg_type"] == "display_data"]
    assert len(summary["text/plain"]) < 20_000 and len(summary["text/html"]) < 40_000
    assert "[490,011 more characters, sent in full]" in summary["text/plain"]
    assert "1 2 3" in summary["text/plain"][-300:]  # the reply (a state line may follow)
    # The server got all of it.
    assert kernel.text_of("print(len(_agent.values['messages'][0]['content']))") == "500011\n"


# -- Run All twice ---------------------------------------------------------------------------------
def _streams(messages: list[dict[str, Any]]) -> str:
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")


def test_a_thread_of_an_earlier_embedded_server_starts_a_new_thread(bare_kernel: Kernel) -> None:
    kernel = bare_kernel
    kernel.execute("%agent serve")
    kernel.execute("%%agent chat\nMy name is Bo.")
    first = kernel.text_of("print(chat_thread)")
    kernel.execute("%agent serve")  # a new in-memory server: the thread is gone
    messages = kernel.execute("%%agent chat\nWhat is my name?")
    assert not _errors(messages)
    assert _streams(messages) == (
        "The thread in chat_thread was on an earlier embedded server, which forgot it when it stopped: "
        "this run starts a new thread.\n"
    )
    assert kernel.text_of("print(chat_thread)") != first
    assert kernel.text_of("print(_agent.status)") == "done\n"


def test_a_thread_missing_on_another_server_stays_an_error(connected: Kernel) -> None:
    kernel = connected
    kernel.execute("import uuid; gone_thread = str(uuid.uuid4())")
    [(ename, evalue, lines)] = _errors(kernel.execute("%%agent chat --thread gone_thread\nhello"))
    assert (ename, lines) == ("ThreadNotFound", 1)
    assert "in gone_thread is not on the server" in evalue and "Pass --new to start a new thread." in evalue


# -- settings ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("assignment", "said", "kept"),
    [
        ('stream_modes = ["bogus"]', "AgentMagics.stream_modes: unknown stream mode 'bogus'", "['messages-tuple', 'updates']"),
        ("concurrency = 0", "AgentMagics.concurrency takes a number of runs at once from 1 to 64, not 0", "4"),
    ],
)
def test_a_bad_setting_is_refused_when_assigned(connected: Kernel, assignment: str, said: str, kept: str) -> None:
    kernel = connected
    messages = kernel.execute(f"%config AgentMagics.{assignment}")
    [line] = [m["content"]["text"] for m in messages if m["msg_type"] == "stream"]
    assert said in line and line.endswith("; the setting is unchanged.\n") and line.count("\n") == 1
    name = assignment.split()[0]
    assert kernel.text_of(f"print(get_ipython().magics_manager.registry['AgentMagics'].{name})") == kept + "\n"
    # Set directly, the same line is the cell's error.
    [(ename, evalue, lines)] = _errors(kernel.execute(f"get_ipython().magics_manager.registry['AgentMagics'].{assignment}"))
    assert (ename, lines) == ("BadSetting", 1) and said in evalue


# -- statuses ---------------------------------------------------------------------------------------
def test_a_run_rolled_back_by_a_newer_one_is_reported_cancelled(connected: Kernel) -> None:
    kernel = connected
    kernel.execute("%%agent slow_chat --new --background --out first\ncount to 200")
    kernel.wait_iopub(_tokens_arrived, kernel.last_msg_id)
    assert not _errors(kernel.execute("%%agent slow_chat --multitask rollback\ncount to 3"))
    messages = kernel.execute("%agent wait first")
    assert not _errors(messages)
    [summary] = [m["content"]["data"]["text/plain"] for m in messages if m["msg_type"] == "display_data"]
    assert summary.splitlines()[0] == "slow_chat · thread slow_chat_thread · cancelled"
    assert "rolled back: a newer run on the thread replaced this one (--multitask rollback)" in summary
    assert kernel.text_of("print(first.status, first.error)") == "cancelled None\n"


def test_interrupting_wait_stops_waiting_in_one_line(connected: Kernel, client: Client) -> None:
    kernel = connected
    kernel.execute("%%agent slow_chat --new --background --out later\ncount to 80")
    msg_id = kernel.client.execute("%agent wait later")
    kernel.wait_iopub(_tokens_arrived, msg_id)  # the wait follows the run now
    kernel.manager.interrupt_kernel()
    assert _error(kernel.reply(msg_id))[:2] == (
        "Interrupted",
        "stopped waiting; later goes on in the background (%agent cancel later stops it)",
    )
    thread_id = kernel.text_of("print(slow_chat_thread)").strip()
    assert _run_status(client, thread_id) == "running"
    assert kernel.text_of("%agent cancel later") == "Cancelled later.\n"
