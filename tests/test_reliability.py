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
    return "1 2 3" in (widget_text(msg) or "")


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


def test_interrupt_while_the_server_is_stuck_ends_the_cell_at_once(connected: Kernel, stuck_server: EmbeddedServer) -> None:
    kernel = connected
    kernel.execute(f"%agent connect {stuck_server.url}")
    msg_id = kernel.client.execute("%%agent slow_chat --new\ncount to 400")
    kernel.wait_iopub(_tokens_arrived, msg_id)
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
    kernel.execute(f"%agent connect {stuck_server.url}")
    msg_id = kernel.client.execute("%%agent slow_chat --new\ncount to 400")
    kernel.wait_iopub(_tokens_arrived, msg_id)
    with Stopped(stuck_server):
        # The stream read's deadline (30 s of silence), then one short question to the server.
        ename, evalue, traceback = _error(kernel.reply(msg_id, timeout=60))
    assert ename == "StreamInterrupted"
    assert "sent nothing for 30 s, not even its heartbeat" in evalue and "may still be going on the server" in evalue
    assert len(traceback) == 1


def test_interrupt_before_the_server_answered_cancels_the_run_it_created(
    connected: Kernel, server: EmbeddedServer, client: Client
) -> None:
    kernel = connected
    proxy = CuttingProxy(server.port)  # type: ignore[arg-type]
    try:
        kernel.execute(f"%agent connect {proxy.url}")
        proxy.stall_next("POST /threads/")
        msg_id = kernel.client.execute("%%agent slow_chat --thread early\ncount to 80")
        wait_for(proxy.stalled.is_set, what="the server to answer the run's request")
        kernel.manager.interrupt_kernel()
        assert _error(kernel.reply(msg_id, timeout=20))[:2] == ("Interrupted", "run cancelled")
    finally:
        proxy.release()
        proxy.close()
    # The thread exists, so its variable holds it, and the run the request created is cancelled.
    thread_id = kernel.text_of("print(early)").strip()
    wait_for(lambda: _run_status(client, thread_id) == "interrupted", what="the run to be cancelled")
