"""The live widget view, with a fake clock and no kernel (ipywidgets works without one).

Widget traffic is measured by recording every ``Widget._send`` (state updates
to the front end) with its JSON size.
"""

from __future__ import annotations

import json

import ipywidgets as widgets
import pytest

from lg_magics import view as view_module
from lg_magics.protocol import Event
from lg_magics.render import markdown_html
from lg_magics.transcript import Transcript
from lg_magics.view import RunView

AI_ID = "lc_run--01a20bbb-c241-737e-a622-85a9e6b9a8aa"
META = {"langgraph_node": "respond", "langgraph_step": 1}
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


class FakeClock:
    """Whole milliseconds, so 50 ticks are exactly one 0.05 s interval."""

    def __init__(self) -> None:
        self.ms = 0

    def __call__(self) -> float:
        return self.ms / 1000

    def tick(self, ms: int = 1) -> None:
        self.ms += ms


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """(method, JSON bytes) of every message a widget sends to the front end."""
    messages: list[tuple[str, int]] = []
    original = widgets.Widget._send

    def record(self: widgets.Widget, msg: dict, buffers: object = None) -> None:
        messages.append((msg.get("method", ""), len(json.dumps(msg).encode())))
        original(self, msg, buffers)

    monkeypatch.setattr(widgets.Widget, "_send", record)
    return messages


def chunk(content: str, position: str | None = None) -> Event:
    return Event("messages", [{"content": content, "type": "AIMessageChunk", "id": AI_ID, "chunk_position": position}, META])


def stream_tokens(t: Transcript, view: RunView, clock: FakeClock, tokens: list[str]) -> None:
    for token in tokens:
        clock.tick()
        t.apply(chunk(token))
        view.refresh()


TOKENS = ["**Counting**: "] + [f"{i} " for i in range(1, 2000)]  # 2,000 one-token deltas


def test_a_2000_token_stream_is_coalesced_and_appended(sent: list[tuple[str, int]]) -> None:
    clock = FakeClock()
    t = Transcript(assistant="chat")
    t.add_input("count to 2000")
    view = RunView(t, clock=clock, interval=0.05)
    sent.clear()  # count the stream only, not the first draw

    stream_tokens(t, view, clock, TOKENS)
    t.apply(chunk("", position="last"))
    text = "".join(TOKENS)
    t.apply(Event("updates", {"respond": {"messages": [{"content": text, "type": "ai", "id": AI_ID}]}}))
    t.finish("success")
    view.flush()

    # One redraw per 50 ms of fake time (2,000 ms of tokens), plus the first and the final one.
    assert 2000 / 50 <= view.flushes <= 2000 / 50 + 3
    assert len(sent) < 2000 / 10
    # Appending: no update carries more than one segment, and the total is linear in the text.
    streamed = [size for method, size in sent if method == "update"]
    assert max(streamed) <= view_module.SEGMENT + 512
    assert sum(size for _, size in sent) < 20 * len(text)


def test_a_resent_message_would_break_the_byte_budget(sent: list[tuple[str, int]]) -> None:
    """The budget above can fail: redrawing the whole message each time costs ~20x the text."""
    text = "".join(TOKENS)
    html = widgets.HTML()
    for flush in range(1, 41):
        html.value = text[: len(text) * flush // 40]
    assert sum(size for _, size in sent) >= 20 * len(text)


def test_the_finished_stream_is_one_html_widget_with_markdown(sent: list[tuple[str, int]]) -> None:
    clock = FakeClock()
    t = Transcript(assistant="chat")
    t.add_input("count to 2000")
    view = RunView(t, clock=clock, interval=0.05)
    stream_tokens(t, view, clock, TOKENS)
    assert isinstance(view.body.children[1], widgets.VBox)  # streaming: a head and text segments

    t.apply(chunk("", position="last"))
    t.finish("success")
    view.flush()

    text = "".join(TOKENS)
    message = view.body.children[1]
    assert type(message) is widgets.HTML
    assert markdown_html(text) in message.value
    assert "<strong>Counting</strong>" in message.value
    assert "done" in view.header.value


def test_refresh_redraws_at_most_once_per_interval(sent: list[tuple[str, int]]) -> None:
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


def test_segments_hold_at_most_SEGMENT_characters_during_a_long_stream(sent: list[tuple[str, int]]) -> None:
    clock = FakeClock()
    t = Transcript(assistant="chat")
    view = RunView(t, clock=clock, interval=0.05)
    stream_tokens(t, view, clock, TOKENS)
    view.flush()

    segments = view.body.children[0].children[1].children
    assert len(segments) > 1
    assert "".join(s.value.removeprefix('<span class="lgm-seg">').removesuffix("</span>") for s in segments) == "".join(TOKENS)
    assert all(len(s.value) <= view_module.SEGMENT + 50 for s in segments)


def test_a_large_burst_is_still_split_into_segments(sent: list[tuple[str, int]]) -> None:
    clock = FakeClock()
    t = Transcript(assistant="chat")
    view = RunView(t, clock=clock, interval=0.05)
    t.apply(chunk("word " * (3 * view_module.SEGMENT // 5)))  # 3 segments arrive between two redraws
    view.flush()

    segments = view.body.children[0].children[1].children
    assert all(len(s.value) <= view_module.SEGMENT + 50 for s in segments)


def test_finishing_a_stream_closes_its_streaming_widgets(sent: list[tuple[str, int]]) -> None:
    clock = FakeClock()
    t = Transcript(assistant="chat")
    view = RunView(t, clock=clock, interval=0.05)
    stream_tokens(t, view, clock, TOKENS[:10])
    view.flush()
    head, stream = view.body.children[0].children

    t.apply(chunk("", position="last"))
    view.flush()
    assert head.comm is None and stream.comm is None


def test_repr_is_a_widget_view_with_a_fixed_plain_text(sent: list[tuple[str, int]]) -> None:
    clock = FakeClock()
    t = Transcript(assistant="chat")
    view = RunView(t, clock=clock, interval=0.05)
    before = view._repr_mimebundle_()

    stream_tokens(t, view, clock, TOKENS[:100])
    t.finish("success")
    view.flush()
    after = view._repr_mimebundle_()

    assert before["text/plain"] == after["text/plain"] == "<lg_magics run: chat>"
    assert after[WIDGET_MIME]["model_id"] == view.root.model_id
    assert view.root.model_id not in after["text/plain"]


def test_the_view_sends_nothing_when_nothing_changed(sent: list[tuple[str, int]]) -> None:
    clock = FakeClock()
    t = Transcript(assistant="chat")
    t.add_input("hi")
    view = RunView(t, clock=clock, interval=0.05)
    view.flush()
    sent.clear()

    view.flush()  # same transcript, same (fake) time
    assert sent == []


def test_a_skipped_refresh_schedules_one_trailing_redraw() -> None:
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
    assert "hi" in view.body.children[0].value
