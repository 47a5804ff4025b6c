"""Time travel, breakpoints, assistants and the store in a real kernel, as a notebook runs them."""

from __future__ import annotations

from typing import Any

from lg_magics.client import Client

from .conftest import wait_for
from .kernel import Kernel, widget_text


def _summary(messages: list[dict[str, Any]]) -> str:
    shown = [m for m in messages if m["msg_type"] == "display_data" and "text/html" in m["content"]["data"]]
    return str(shown[-1]["content"]["data"]["text/plain"])


def _error(messages: list[dict[str, Any]]) -> list[str]:
    [error] = [m for m in messages if m["msg_type"] == "error"]
    return list(error["content"]["traceback"])


def test_breakpoint_continue_in_the_background_and_rerun(kernel: Kernel) -> None:
    background_time_travel(kernel)


def background_time_travel(kernel: Kernel) -> None:
    """A breakpoint, continue in the background, a re-run to a breakpoint, then a fork and a
    re-run in the background, each waited for."""
    first = _summary(kernel.execute("%%agent essay --new --interrupt-before publish\nkernels"))
    assert first.splitlines()[0] == "essay · thread essay_thread · paused before publish"
    kernel.execute("%agent continue --background --out bg")
    kernel.wait_iopub(lambda m: ">done<" in (widget_text(m) or ""), kernel.last_msg_id)
    kernel.execute("%agent wait bg")
    assert (
        kernel.text_of("print(bg.status, bg.text)")
        == "done Why kernels matters. How kernels works. What comes next for kernels.\n"
    )
    rerun = _summary(kernel.execute("%agent rerun --checkpoint 1 --interrupt-after write"))
    assert rerun.splitlines()[:3] == [
        "essay · thread essay_thread · paused after write",
        "· Re-run from step 1",
        "✓ write → draft: Why kernels matters. How kernels works. What comes next for…, words: 11",
    ]
    kernel.execute("%%agent essay --checkpoint 1 --background --out fork\nbackground forks")
    kernel.execute("%agent wait fork")
    assert kernel.text_of("print(fork.status, fork['topic'])") == "done background forks\n"
    kernel.execute("%agent rerun --checkpoint 2 --background --out again")
    kernel.execute("%agent wait again")
    assert kernel.text_of("print(again.status, again['topic'])") == "done background forks\n"
    history = _summary(kernel.execute("%agent history --limit 2"))
    assert history.splitlines()[0].startswith("essay_thread: ")
    assert "checkpoints on the current branch, newest first (the newest 2" in history.splitlines()[0]


def test_bad_input_is_one_line(kernel: Kernel) -> None:
    kernel.execute("%%agent essay --new\nerrors")
    for code, message in [
        ("%agent rerun --checkpoint 42", "AgentUsageError: No step 42 on the current branch of essay_thread"),
        ("%%agent essay --interrupt-before nowhere\nx", "AgentUsageError: --interrupt-before: no node nowhere in this graph"),
        ("%agent store get nothing/here key", "AgentUsageError: No key 'key' in namespace nothing/here"),
        ("%agent assistants create essay --graph essay", "AgentUsageError: An assistant named essay exists already"),
    ]:
        [line] = _error(kernel.execute(code))
        assert line.startswith(message), line


def test_assistants_and_store(kernel: Kernel) -> None:
    kernel.execute("%agent assistants create kernel-brief --graph essay")
    try:
        out = _summary(kernel.execute("%agent assistants update kernel-brief --metadata '{\"v\": 2}'"))
        assert out.startswith("kernel-brief is now version 2.")
        summary = _summary(kernel.execute("%%agent kernel-brief --new\nversions"))
        assert summary.splitlines()[0] == "kernel-brief · thread kernel_brief_thread · done"
    finally:
        assert kernel.text_of("%agent assistants delete kernel-brief") == "Deleted assistant kernel-brief.\n"
    assert kernel.text_of('%agent store put k/one note \'{"text": "hi"}\'') == "Stored note in k/one.\n"
    [shown] = [m for m in kernel.execute("%agent store get k/one note") if m["msg_type"] == "display_data"]
    assert shown["content"]["data"]["text/plain"] == 'k/one note:\n{\n  "text": "hi"\n}'
    assert shown["content"]["data"]["application/json"] == {"text": "hi"}
    assert kernel.text_of("%agent store delete k/one note") == "Deleted note from k/one.\n"


def test_continue_button_goes_on_from_the_breakpoint(kernel: Kernel, client: Client) -> None:
    click_continue(kernel, client)


def click_continue(kernel: Kernel, client: Client) -> None:
    """Pause a run at a breakpoint and click its view's Continue button: the run goes on."""
    messages = kernel.execute("%%agent essay --new --interrupt-before publish\nbuttons")
    [button] = [
        m["content"]["comm_id"]
        for m in messages
        if m["msg_type"] == "comm_open" and m["content"]["data"]["state"].get("description") == "Continue"
    ]
    click = kernel.send_comm(button, {"method": "custom", "content": {"event": "click"}})
    thread_id = kernel.text_of("print(essay_thread)").strip()
    wait_for(lambda: not client.get_state(thread_id)["next"], what="the run continued from the view")
    # The continued run streams into a view under the first one, as a task started by the click.
    kernel.wait_iopub(lambda m: "Why buttons matters." in (widget_text(m) or ""), click)
