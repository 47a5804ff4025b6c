"""``%%agent`` in a real IPython kernel (jupyter_client), as a notebook frontend sees it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from .kernel import Kernel


def _of_type(messages: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if m["msg_type"] == kind]


def test_failed_run_is_a_short_error_output(kernel: Kernel) -> None:
    messages = kernel.execute("%%agent boom --stateless\nanything")
    [error] = _of_type(messages, "error")
    assert error["content"]["ename"] == "RunFailed"
    # The error is shown once, by the view and the summary: the error line points there.
    assert error["content"]["traceback"] == [
        "RunFailed: The run failed (its error is shown above); pass --no-fail to keep the cell from failing."
    ]
    shown = [m["content"]["data"].get("text/plain", "") for m in _of_type(messages, "display_data")]
    assert sum("kaboom" in text for text in shown) == 1


def test_bad_arguments_are_an_error_output_not_just_stderr(kernel: Kernel) -> None:
    messages = kernel.execute("%%agent chat --stream-mode bogus\nhello")
    [error] = _of_type(messages, "error")
    assert error["content"]["ename"] == "AgentUsageError"
    assert len(error["content"]["traceback"]) == 1
    assert "Unknown stream mode 'bogus'" in error["content"]["traceback"][0]


def test_view_then_summary_and_nothing_printed(kernel: Kernel) -> None:
    messages = kernel.execute("%%agent chat --stateless\nHello! My name is Bagatur and I am 26 years old.")
    outputs = [m for m in messages if m["msg_type"] in ("display_data", "stream", "execute_result", "update_display_data")]
    # The view has no text/plain (no placeholder line where widgets do not render); the summary does.
    assert [(m["msg_type"], sorted(m["content"]["data"])) for m in outputs] == [
        ("display_data", ["application/vnd.jupyter.widget-view+json"]),
        ("update_display_data", ["application/vnd.jupyter.widget-view+json"]),
        ("display_data", ["text/html", "text/plain"]),
    ]
    # When the run ended the view closed its widgets and marked its output closed (an empty model ID:
    # frontends hide it, and a reopened notebook has no widget to miss).
    view, closed = (m["content"] for m in outputs[:2])
    assert view["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] in {
        m["content"]["comm_id"] for m in _of_type(messages, "comm_close")
    }
    assert closed["transient"]["display_id"] == view["transient"]["display_id"]
    assert closed["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] == ""


def test_a_2000_token_reply_is_coalesced(kernel: Kernel) -> None:
    messages = kernel.execute("%%agent chat --stateless\ncount to 2000")
    updates = _of_type(messages, "comm_msg")
    opened = _of_type(messages, "comm_open")
    sent = sum(len(json.dumps(m["content"]["data"])) for m in updates + opened)
    reply = " ".join(str(i) for i in range(1, 2001))
    # One widget message per token would be 2,000+; coalescing sends one per redraw.
    assert len(updates) < 100, len(updates)
    assert len(opened) < 10, len(opened)
    # Appending, not resending: the bytes stay about twice the reply (and the view's code, once).
    assert sent < 2 * len(reply) + 10_000, sent
    summary = _of_type(messages, "display_data")[-1]["content"]["data"]["text/plain"]
    assert reply in summary


@pytest.mark.kernel
def test_embedded_server_stops_when_the_kernel_exits() -> None:
    import os

    from .conftest import wait_for
    from .kernel import Kernel

    k = Kernel()
    try:
        k.execute("%load_ext lg_magics\n%agent serve")
        pid = int(k.text_of("print(get_ipython().magics_manager.registry['AgentMagics'].connection.server.pid)"))
        os.kill(pid, 0)  # running
    finally:
        k.stop()

    def gone() -> bool:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(gone, what="the embedded server to stop with its kernel")


def test_finished_runs_leave_no_widgets_behind(kernel: Kernel) -> None:
    """Issue 12: each run used to leave 23-31 widget models alive in the kernel (4,679 after 200 cells)."""
    alive = "import ipywidgets.widgets.widget as w; print(len(w._instances))"
    kernel.execute("%%agent chat --new\nHello! My name is Bagatur.")
    kernel.execute("%%agent chat --stateless\ncount to 20")
    before = int(kernel.text_of(alive))
    for _ in range(5):
        kernel.execute("%%agent chat\nWhat is my name?")
        kernel.execute("%%agent chat --stateless\ncount to 20")
    assert int(kernel.text_of(alive)) <= before
