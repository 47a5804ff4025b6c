"""Cancelling and background runs in a real kernel: SIGINT, the event loop, widget buttons."""

from __future__ import annotations

import json
from typing import Any

from lg_magics.client import Client

from .conftest import wait_for
from .kernel import Kernel, widget_text


def _run_status(client: Client, thread_id: str) -> str:
    runs = client._json("GET", f"/threads/{thread_id}/runs")
    return runs[0]["status"] if runs else "none"


def _ended_as(client: Client, thread_id: str, status: str) -> None:
    wait_for(lambda: _run_status(client, thread_id) == status, what=f"the run to end {status}")


def _thread(kernel: Kernel, var: str) -> str:
    return kernel.text_of(f"print({var})").strip()


def _tokens_arrived(msg: dict[str, Any]) -> bool:
    return '"3 ' in (widget_text(msg) or "")  # the third token, appended to the streaming reply


def test_kernel_interrupt_cancels_the_run_on_the_server(kernel: Kernel, client: Client) -> None:
    msg_id = kernel.client.execute("%%agent slow_chat --new\ncount to 80")
    kernel.wait_iopub(_tokens_arrived, msg_id)
    kernel.manager.interrupt_kernel()
    reply = kernel.reply(msg_id)
    assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "Interrupted"
    _ended_as(client, _thread(kernel, "slow_chat_thread"), "interrupted")
    # The kernel lives on, and the cell's summary said how the run ended.
    assert kernel.text_of("1 + 1") == "2"


def test_kernel_interrupt_of_a_stateless_run(kernel: Kernel) -> None:
    msg_id = kernel.client.execute("%%agent slow_chat --stateless\ncount to 80")
    kernel.wait_iopub(_tokens_arrived, msg_id)
    kernel.manager.interrupt_kernel()
    summary = kernel.wait_iopub(lambda m: m["msg_type"] == "display_data" and "text/html" in m["content"]["data"], msg_id)
    assert summary["content"]["data"]["text/plain"].startswith("slow_chat · stateless · cancelled")
    assert kernel.reply(msg_id)["content"]["ename"] == "Interrupted"
    assert kernel.text_of("2 + 2") == "4"


def test_background_run_streams_while_the_kernel_is_idle(kernel: Kernel) -> None:
    messages = kernel.execute('%%agent chat --background --new --out bg --context {"delay":0.05}\ncount to 20')
    view, slot = [m for m in messages if m["msg_type"] == "display_data"]
    assert list(view["content"]["data"]) == ["application/vnd.jupyter.widget-view+json"]  # nothing printed
    # Under the view, an empty slot that the run's summary fills when it ends (the view then goes).
    assert slot["content"]["data"] == {"text/html": '<div class="lgm-late"></div><!--lgm-late-->'}
    display_id = slot["content"]["transient"]["display_id"]
    # Nothing runs in the foreground now; the task on the kernel's loop keeps the view going, and fills the slot.
    filled = kernel.wait_iopub(lambda m: m["msg_type"] == "update_display_data", kernel.last_msg_id)
    assert filled["content"]["transient"]["display_id"] == display_id
    assert "1 2 3 4" in filled["content"]["data"]["text/html"] and ">done<" in filled["content"]["data"]["text/html"]
    hint = "Running in the background: %agent wait bg waits for it, %agent cancel bg stops it."
    assert any(hint in (widget_text(m) or "") for m in messages)  # in the view, until the run ends
    assert kernel.text_of("%agent runs").startswith("bg: chat · done · ")
    kernel.execute("%agent wait bg")
    assert kernel.text_of("print(bg.text)") == " ".join(str(i) for i in range(1, 21)) + "\n"
    assert kernel.text_of("print(_agent is bg)") == "True\n"


def test_wait_takes_over_a_running_background_run(kernel: Kernel) -> None:
    kernel.execute('%%agent chat --background --new --out slow --context {"delay":0.1}\ncount to 30')
    messages = kernel.execute("%agent wait slow")
    [summary] = [m for m in messages if m["msg_type"] == "display_data"]
    text = summary["content"]["data"]["text/plain"]
    reply = " ".join(str(i) for i in range(1, 31))
    assert text.splitlines()[0] == "chat · thread chat_thread · done"
    assert text.count(reply) == 1
    assert kernel.text_of("print(slow.status)") == "done\n"


def test_cancel_magic(kernel: Kernel, client: Client) -> None:
    kernel.execute("%%agent slow_chat --background --new --out c\ncount to 80")
    kernel.wait_iopub(_tokens_arrived, kernel.last_msg_id)
    messages = kernel.execute("%agent cancel c")
    assert [m["content"]["text"] for m in messages if m["msg_type"] == "stream"] == ["Cancelled c.\n"]
    assert any(">cancelled<" in (widget_text(m) or "") for m in messages)
    _ended_as(client, _thread(kernel, "slow_chat_thread"), "interrupted")
    assert kernel.text_of("%agent cancel c") == "c already ended: cancelled.\n"


def test_stop_button_cancels_a_background_run(kernel: Kernel, client: Client) -> None:
    messages = kernel.execute("%%agent slow_chat --background --new\ncount to 80")
    stop, started = _opened(messages, description="Stop"), kernel.last_msg_id
    kernel.wait_iopub(_tokens_arrived, started)
    click = kernel.send_comm(stop, {"method": "custom", "content": {"event": "click"}})
    kernel.wait_iopub(lambda m: ">cancelled<" in (widget_text(m) or ""), click)
    _ended_as(client, _thread(kernel, "slow_chat_thread"), "interrupted")


def _opened(messages: list[dict[str, Any]], **state: str) -> str:
    """The comm id of the widget opened with this state, e.g. description="Stop"."""
    [comm_id] = [
        m["content"]["comm_id"]
        for m in messages
        if m["msg_type"] == "comm_open" and all(m["content"]["data"]["state"].get(k) == v for k, v in state.items())
    ]
    return comm_id


def test_the_resume_form_in_the_view_resumes_the_interrupt(kernel: Kernel, client: Client) -> None:
    # approval's interrupt has a response_schema: the view asks with a form (a checkbox, a text box).
    messages = kernel.execute("%%agent approval --new\nship v7")
    approve, comment = _opened(messages, _model_name="CheckboxModel"), _opened(messages, _model_name="TextModel")
    button = _opened(messages, description="Resume")
    kernel.send_comm(approve, {"method": "update", "state": {"value": True}, "buffer_paths": []})
    kernel.send_comm(comment, {"method": "update", "state": {"value": "from the kernel"}, "buffer_paths": []})
    click = kernel.send_comm(button, {"method": "custom", "content": {"event": "click"}})
    thread_id = _thread(kernel, "approval_thread")
    wait_for(
        lambda: client.get_state(thread_id)["values"].get("result") == "published: DRAFT: ship v7 (from the kernel)",
        what="the run resumed from the view",
    )
    # The resumed run streams into a view under the first one, as a task started by the click.
    kernel.wait_iopub(lambda m: "published: DRAFT: ship v7 (from the kernel)" in (widget_text(m) or ""), click)


def test_background_errors_show_in_the_view_and_fail_the_wait(kernel: Kernel) -> None:
    kernel.execute("%%agent boom --background --new\nanything")
    kernel.wait_iopub(lambda m: "kaboom" in (widget_text(m) or ""), kernel.last_msg_id)
    messages = kernel.execute("%agent wait boom_thread")
    [error] = [m for m in messages if m["msg_type"] == "error"]
    assert error["content"]["ename"] == "RunFailed"
    # Once: in the summary %agent wait shows, above the one-line error that points to it.
    shown = [m["content"]["data"]["text/plain"] for m in messages if m["msg_type"] == "display_data"]
    assert "kaboom" in shown[-1] and "kaboom" not in json.dumps(error["content"]["traceback"])
