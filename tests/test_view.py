"""The live view, with a fake clock and no kernel (ipywidgets works without one).

Every message a widget sends is recorded (``Widget._send``) with its JSON size, and the live
widget's custom messages are applied to a copy of its first state by :class:`Frontend`, which
does what the view's JavaScript does: so these tests check what a browser would show.
"""

from __future__ import annotations

import html
import json
from typing import Any

import ipywidgets as widgets
import pytest

from lg_magics.protocol import Event
from lg_magics.render import entry_html, header_html, markdown_html, transcript_html, transcript_text
from lg_magics.transcript import Transcript
from lg_magics.view import RunView

AI_ID = "lc_run--01a20bbb-c241-737e-a622-85a9e6b9a8aa"
META = {"langgraph_node": "respond", "langgraph_step": 1}


class FakeClock:
    """Whole milliseconds, so 50 ticks are exactly one 0.05 s interval."""

    def __init__(self) -> None:
        self.ms = 0

    def __call__(self) -> float:
        return self.ms / 1000

    def tick(self, ms: int = 1) -> None:
        self.ms += ms


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


class Frontend:
    """The view's JavaScript ``apply``, in Python: the frontend's copy of the run's state."""

    def __init__(self) -> None:
        self.state: dict[str, Any] = {"h": "", "t": None, "e": []}

    def apply(self, ops: list[list[Any]]) -> None:
        st = self.state
        for op in ops:
            kind = op[0]
            if kind == "h":
                st["h"] = op[1]
            elif kind == "t":
                st["t"] = [op[1], op[2]]
            elif kind == "e":
                index = op[1]
                while len(st["e"]) <= index:
                    st["e"].append(None)
                st["e"][index] = list(op[2:])
            elif kind == "a":
                st["e"][op[1]][1] += op[2]
            elif kind == "f":
                entry = st["e"][op[1]]
                st["e"][op[1]] = [op[2] + _esc(entry[1][op[3] : op[4]]) + op[5]]

    def entries(self) -> list[str]:
        """Each entry's HTML as drawn (a streaming text in its own span)."""
        return [e[0] if len(e) == 1 else e[0] + f'<span class="lgm-s">{_esc(e[1])}</span>' + e[2] for e in self.state["e"]]


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every message widgets send to the frontend: method, JSON bytes and content."""
    messages: list[dict[str, Any]] = []
    original = widgets.Widget._send

    def record(self: widgets.Widget, msg: dict, buffers: object = None) -> None:
        if self.comm is None:  # not open yet: ipywidgets sends nothing
            return
        messages.append({"method": msg.get("method", ""), "bytes": len(json.dumps(msg).encode()), "msg": msg, "widget": self})
        original(self, msg, buffers)

    monkeypatch.setattr(widgets.Widget, "_send", record)
    return messages


def frontend_of(view: RunView, sent: list[dict[str, Any]]) -> Frontend:
    front = Frontend()
    for message in sent:
        if message["widget"] is view.live and message["method"] == "custom":
            front.apply(message["msg"]["content"]["o"])
    return front


def chunk(content: str, position: str | None = None) -> Event:
    return Event("messages", [{"content": content, "type": "AIMessageChunk", "id": AI_ID, "chunk_position": position}, META])


def stream_tokens(t: Transcript, view: RunView, clock: FakeClock, tokens: list[str]) -> None:
    for token in tokens:
        clock.tick()
        t.apply(chunk(token))
        view.refresh()


TOKENS = ["**Counting**: "] + [f"{i} " for i in range(1, 2000)]  # 2,000 one-token deltas


def finish_stream(t: Transcript, text: str) -> None:
    t.apply(chunk("", position="last"))
    t.apply(Event("updates", {"respond": {"messages": [{"content": text, "type": "ai", "id": AI_ID}]}}))
    t.finish("success")


def test_a_2000_token_stream_is_one_message_per_redraw_and_about_twice_the_text(sent: list[dict[str, Any]]) -> None:
    clock = FakeClock()
    t = Transcript(assistant="chat")
    t.add_input("count to 2000")
    view = RunView(t, clock=clock, interval=0.05)
    flushes = view.flushes

    stream_tokens(t, view, clock, TOKENS)
    text = "".join(TOKENS)
    finish_stream(t, text)
    view.flush()

    redraws = view.flushes - flushes
    assert 2000 / 50 <= redraws <= 2000 / 50 + 3  # one redraw per 50 ms of fake time, plus the final one
    stream = [m for m in sent if m["widget"] is view.live and m["method"] == "custom"]
    assert len(stream) <= redraws + 1  # one message per redraw at most (plus the first draw)
    # Text goes once while it streams, and the final Markdown once: about twice the text in all.
    assert sum(m["bytes"] for m in stream) < 2.5 * len(text)
    assert not [m for m in sent if m["method"] == "update" and m["widget"] is view.live]  # its state is never resent


def test_the_frontend_shows_what_render_draws(sent: list[dict[str, Any]]) -> None:
    clock = FakeClock()
    t = Transcript(assistant="chat")
    t.add_input("count to 2000")
    view = RunView(t, clock=clock, interval=0.05)
    stream_tokens(t, view, clock, TOKENS[:300])
    view.flush()

    front = frontend_of(view, sent)
    assert front.state == view.live.run  # the kernel's copy (what a reloaded page gets) is the same
    streaming = front.entries()[1]
    assert '<span class="lgm-s">**Counting**: 1 2 3 ' in streaming  # the raw text, escaped, as it streams

    finish_stream(t, "".join(TOKENS[:300]))
    view.flush()
    front = frontend_of(view, sent)
    assert front.entries() == [entry_html(e) for e in t.entries]
    assert "<strong>Counting</strong>" in front.entries()[1] and markdown_html("".join(TOKENS[:300])) in front.entries()[1]
    assert front.state["h"] == header_html(t) and ">done<" in front.state["h"]
    assert front.state == view.live.run


def test_a_finished_plain_reply_is_not_sent_twice(sent: list[dict[str, Any]]) -> None:
    clock = FakeClock()
    t = Transcript(assistant="chat")
    view = RunView(t, clock=clock, interval=0.05)
    tokens = [f"{i} " for i in range(1, 2001)]
    stream_tokens(t, view, clock, tokens)
    view.flush()
    before = sum(m["bytes"] for m in sent)
    finish_stream(t, "".join(tokens).strip())
    view.flush()
    assert sum(m["bytes"] for m in sent) - before < 500  # only the Markdown around the text
    assert frontend_of(view, sent).entries() == [entry_html(e) for e in t.entries]


def test_many_entries_cost_the_same_each_and_a_bounded_number_of_widgets(sent: list[dict[str, Any]]) -> None:
    clock = FakeClock()
    t = Transcript(assistant="tools", modes=("custom",))
    view = RunView(t, clock=clock, interval=0.05)
    costs = []
    for batch in range(4):
        start = len(sent)
        for i in range(1000):
            clock.tick()
            t.apply(Event("custom", {"progress": batch * 1000 + i}))
            view.refresh()
        costs.append(sum(m["bytes"] for m in sent[start:]))
    assert max(costs) < 1.1 * min(costs)  # flat: the 4,000th entry costs what the 1st did
    assert len({id(m["widget"]) for m in sent}) <= 4
    t.finish("success")
    view.flush()
    assert frontend_of(view, sent).entries() == [entry_html(e) for e in t.entries]


def test_refresh_redraws_at_most_once_per_interval(sent: list[dict[str, Any]]) -> None:
    clock = FakeClock()
    t = Transcript(assistant="chat")
    view = RunView(t, clock=clock, interval=0.05)
    flushes = view.flushes

    t.apply(chunk("one "))
    clock.tick(49)
    assert view.refresh() is False
    clock.tick(1)
    assert view.refresh() is True
    assert view.refresh() is False
    assert view.flushes == flushes + 1


def test_the_view_sends_nothing_when_nothing_changed(sent: list[dict[str, Any]]) -> None:
    clock = FakeClock()
    t = Transcript(assistant="chat")
    t.add_input("hi")
    view = RunView(t, clock=clock, interval=0.05)
    view.flush()
    sent.clear()

    clock.tick(1000)
    view.flush()  # same transcript; the clock runs in the frontend
    assert sent == []


def test_a_skipped_refresh_schedules_one_trailing_redraw(sent: list[dict[str, Any]]) -> None:
    # Background views are drawn by a task; without a trailing redraw the last tokens of a burst
    # would wait for the next event, however late it comes.
    now = [0.0]
    scheduled: list = []
    t = Transcript(assistant="chat")
    view = RunView(t, interval=0.05, clock=lambda: now[0], later=lambda delay, f: scheduled.append((delay, f)))
    t.add_input("hi")
    now[0] = 0.01
    assert view.refresh() is False and view.refresh() is False
    assert len(scheduled) == 1 and abs(scheduled[0][0] - 0.04) < 1e-9
    flushes = view.flushes
    scheduled[0][1]()
    assert view.flushes == flushes + 1
    assert "hi" in frontend_of(view, sent).entries()[0]


def test_a_foreground_view_closes_when_the_run_ends() -> None:
    t = Transcript(assistant="chat")
    view = RunView(t, close_when_done=True)
    assert view.root.comm is not None
    t.finish("success")
    view.flush()
    assert view.closed and view.root.comm is None and view.live.comm is None
    view.flush()  # nothing left to draw into, and no error


def test_a_view_waiting_for_an_answer_stays_open() -> None:
    t = Transcript(assistant="approval")
    view = RunView(t, close_when_done=True, on_resume=lambda value: None)
    t.apply(Event("updates", {"__interrupt__": [{"value": {"question": "ok?"}, "id": "i1"}]}))
    t.finish()
    view.flush()
    assert t.status == "waiting" and not view.closed
    assert [type(w).__name__ for w in view.controls.children] == ["Text", "Button"]


REVIEW_SCHEMA = {
    "type": "object",
    "properties": {"approved": {"type": "boolean", "title": "Approved"}, "comment": {"type": "string", "title": "Comment"}},
    "required": ["approved"],
}


def waiting_with_a_form(answers: list[str]) -> RunView:
    t = Transcript(assistant="approval")
    view = RunView(t, close_when_done=True, on_resume=answers.append)
    t.apply(Event("updates", {"__interrupt__": [{"value": {"question": "ok?"}, "id": "i1", "response_schema": REVIEW_SCHEMA}]}))
    t.finish()
    view.flush()
    return view


def test_an_interrupt_with_a_schema_gets_a_form_that_answers_with_json() -> None:
    answers: list[str] = []
    view = waiting_with_a_form(answers)
    [form] = view.controls.children
    approved, comment, button = form.children
    assert (type(approved).__name__, type(comment).__name__, button.description) == ("Checkbox", "Text", "Resume")
    assert (approved.description, comment.placeholder) == ("Approved", "text")
    approved.value, comment.value = True, "ship it"
    button.click()
    assert answers == ['{"approved": true, "comment": "ship it"}']
    assert view.controls.children == () and form.comm is None and approved.comm is None  # answered: the form goes, closed


def test_a_form_refuses_a_missing_field_in_the_view_and_stays() -> None:
    answers: list[str] = []
    t = Transcript(assistant="approval")
    schema = {"type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"]}
    view = RunView(t, close_when_done=True, on_resume=answers.append)
    t.apply(Event("updates", {"__interrupt__": [{"value": "why?", "id": "i1", "response_schema": schema}]}))
    t.finish()
    view.flush()
    [form] = view.controls.children
    form.children[-1].click()
    assert answers == [] and t.entries[-1].text == "AgentUsageError: Fill in reason: the interrupt needs it (text)."
    assert not form.children[-1].disabled  # try again


def test_the_interrupt_says_what_an_answer_looks_like() -> None:
    view = waiting_with_a_form([])
    assert "answer: {approved: true/false, comment: text (optional)}" in transcript_text(view.transcript)
    assert "answer: {approved: true/false" in transcript_html(view.transcript)


def test_the_background_hint_goes_when_the_run_ends(sent: list[dict[str, Any]]) -> None:
    t = Transcript(assistant="chat")
    view = RunView(t, on_stop=lambda: None)
    view.show_hint("Running in the background: %agent wait x waits for it")
    assert "%agent wait x" in frontend_of(view, sent).state["h"]
    t.finish("success")
    view.flush()
    assert "%agent wait" not in frontend_of(view, sent).state["h"] and not view.closed


@pytest.fixture
def slots(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """What summary slots do: ("show", slot) when displayed, ("add", status) when a run reports."""
    from lg_magics.view import SummarySlot

    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr(SummarySlot, "show", lambda self: calls.append(("show", self)))
    monkeypatch.setattr(SummarySlot, "add", lambda self, t: calls.append(("add", t.status)))
    return calls


def test_a_background_view_fills_its_slot_and_goes_when_the_run_ends(slots: list[tuple[str, Any]]) -> None:
    from lg_magics.view import SummarySlot

    t = Transcript(assistant="chat")
    view = RunView(t, on_stop=lambda: None, close_when_done=True, slot=SummarySlot())
    view._ipython_display_ = lambda: view.slot.show()  # type: ignore[method-assign]  # no shell to display the widget
    view._ipython_display_()
    assert [kind for kind, _ in slots] == ["show"] and not view.closed
    t.finish("success")
    view.flush()
    view.flush()
    assert slots[1:] == [("add", "success")] and view.closed  # reported once


def test_an_answer_from_the_view_reports_under_it_then_both_go(slots: list[tuple[str, Any]]) -> None:
    t = Transcript(assistant="approval")
    parent = RunView(t, close_when_done=True, on_resume=lambda value: None)
    t.apply(Event("updates", {"__interrupt__": [{"value": "ok?", "id": "i1"}]}))
    t.finish()
    parent.flush()
    assert slots == []
    parent.summary_shown()  # still in the cell, under the summary: a slot for what the answer starts
    [(kind, slot)] = slots
    assert kind == "show" and parent.followup_slot is slot and not parent.closed

    parent.on_resume = None  # answered (what the Resume button does)
    child_t = Transcript(assistant="approval")
    child = RunView(child_t, on_stop=lambda: None)
    parent.attach(child)
    parent.flush()
    assert child.slot is slot and not parent.closed  # the resumed run goes on
    child_t.finish("success")
    child.flush()
    assert slots[1:] == [("add", "success")] and child.closed and parent.closed


def test_a_stale_resume_field_goes_when_the_thread_moves_on(slots: list[tuple[str, Any]]) -> None:
    t = Transcript(assistant="approval")
    view = RunView(t, close_when_done=True, on_resume=lambda value: None)
    t.apply(Event("updates", {"__interrupt__": [{"value": "ok?", "id": "i1"}]}))
    t.finish()
    view.flush()
    assert not view.closed
    view.retire()  # e.g. %%agent approval --resume in another cell
    assert view.closed
