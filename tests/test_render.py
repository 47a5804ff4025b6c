"""Rendering a transcript as text and HTML: stable, escaped, no IDs."""

from __future__ import annotations

import pytest

from lg_magics.protocol import Event
from lg_magics.render import status_label, transcript_html, transcript_text
from lg_magics.transcript import CANCELLED, ERROR, SUCCESS, WAITING, Transcript

RUN_ID = "01a20bbc-29aa-70c4-bc7c-001ee9fd19aa"
THREAD_ID = "01a20bbc-2984-7556-9696-a62a207f4fb3"
AI_ID = "lc_run--01a20bbb-c241-737e-a622-85a9e6b9a8aa"
CALL = {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1", "type": "tool_call"}
INTERRUPT = {"value": {"question": "Approve this draft?"}, "id": "79aabd5f78592ea895535005652c1182", "response_schema": None}


def tools_run(run_id: str = RUN_ID, thread_id: str = THREAD_ID) -> Transcript:
    """A finished tools run with every kind of entry, as the runner would build it."""
    t = Transcript(assistant="tools", thread_var="tools_thread", run_id=run_id, thread_id=thread_id)
    t.add_input("weather in Paris")
    meta = {"langgraph_node": "agent", "run_id": run_id, "thread_id": thread_id}
    t.apply(Event("metadata", {"run_id": run_id, "attempt": 1}))
    t.apply(Event("messages", [{"content": "", "type": "ai", "id": "ai-call", "tool_calls": [CALL]}, meta]))
    t.apply(Event("updates", {"agent": {"messages": [{"content": "", "type": "ai", "id": "ai-call", "tool_calls": [CALL]}]}}))
    t.apply(Event("custom", {"tool": "get_weather", "city": "Paris"}))
    tool = {
        "content": "It is sunny in Paris.",
        "type": "tool",
        "name": "get_weather",
        "id": "59c99877-aa",
        "tool_call_id": "call_1",
    }
    t.apply(Event("updates", {"tools": {"messages": [tool]}}))
    for token in ("Weather ", "report: ", "**sunny**."):
        t.apply(Event("messages", [{"content": token, "type": "AIMessageChunk", "id": AI_ID}, meta]))
    t.apply(Event("messages", [{"content": "", "type": "AIMessageChunk", "id": AI_ID, "chunk_position": "last"}, meta]))
    t.apply(
        Event(
            "updates", {"agent": {"messages": [{"content": "Weather report: **sunny**.", "type": "ai", "id": AI_ID}], "step": 2}}
        )
    )
    t.apply(Event("updates", {"__interrupt__": [INTERRUPT]}))
    t.finish("success")
    return t


def test_text_is_deterministic_and_free_of_ids() -> None:
    first = transcript_text(tools_run())
    again = transcript_text(
        tools_run(run_id="01a20bbc-0000-7000-8000-000000000001", thread_id="90aeb581-0000-4000-8000-000000000002")
    )

    assert first == again
    for identifier in (RUN_ID, THREAD_ID, AI_ID, "ai-call", "59c99877", "call_1", INTERRUPT["id"]):
        assert identifier not in first


def test_text_reads_as_a_conversation() -> None:
    assert transcript_text(tools_run()).splitlines() == [
        "tools · thread tools_thread · waiting for input",
        "[you] weather in Paris",
        "[ai · agent]",
        '    → get_weather(city="Paris")',
        "✓ agent",
        '[custom] {"city": "Paris", "tool": "get_weather"}',
        "[tool get_weather] It is sunny in Paris.",
        "✓ tools",
        "[ai · agent] Weather report: **sunny**.",
        "✓ agent → step: 2",
        '[interrupt] waiting for input: {"question": "Approve this draft?"}',
    ]


def test_html_has_no_ids() -> None:
    page = transcript_html(tools_run())
    for identifier in (RUN_ID, THREAD_ID, AI_ID, INTERRUPT["id"]):
        assert identifier not in page


def test_html_escapes_human_and_tool_text() -> None:
    t = Transcript(assistant="tools")
    t.add_input("is <b>this</b> & <script>alert(1)</script> bold?")
    t.apply(
        Event(
            "updates",
            {"tools": {"messages": [{"content": "<img src=x onerror=alert(2)>", "type": "tool", "name": "t", "id": "tool-1"}]}},
        )
    )
    page = transcript_html(t)

    assert "is &lt;b&gt;this&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt; bold?" in page
    assert "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<script>" not in page
    assert "<img" not in page


def test_html_renders_ai_markdown_with_raw_html_disabled() -> None:
    t = Transcript(assistant="chat")
    t.apply(
        Event(
            "updates",
            {"respond": {"messages": [{"content": "Your name is **Ada**. <script>alert(1)</script>", "type": "ai", "id": "a1"}]}},
        )
    )
    page = transcript_html(t)

    assert "<strong>Ada</strong>" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page


def test_html_shows_streaming_ai_text_as_escaped_plain_text() -> None:
    t = Transcript(assistant="chat")
    t.apply(Event("messages", [{"content": "**half** <i>done", "type": "AIMessageChunk", "id": "a1"}, {}]))
    page = transcript_html(t)

    assert "**half** &lt;i&gt;done" in page
    assert "<strong>" not in page


def test_html_shows_tool_calls_escaped() -> None:
    t = Transcript(assistant="tools")
    call = {"name": "lookup", "args": {"q": "<b>x</b>"}, "id": "c1"}
    t.apply(Event("updates", {"agent": {"messages": [{"content": "", "type": "ai", "id": "a1", "tool_calls": [call]}]}}))
    page = transcript_html(t)

    assert 'lookup(q="&lt;b&gt;x&lt;/b&gt;")' in page


@pytest.mark.parametrize(
    ("status", "label"),
    [
        (SUCCESS, "done"),
        (WAITING, "waiting for input"),
        (ERROR, "failed"),
        (CANCELLED, "cancelled"),
        ("pending", "queued"),
        ("running", "running"),
    ],
)
def test_status_labels(status: str, label: str) -> None:
    assert status_label(status) == label


def test_an_interrupted_run_reads_waiting_for_input() -> None:
    t = tools_run()
    assert t.status == WAITING
    assert transcript_text(t).splitlines()[0].endswith("· waiting for input")
    assert ">waiting for input</span>" in transcript_html(t)


def test_a_failed_run_reads_failed_with_the_error() -> None:
    t = Transcript(assistant="boom")
    t.apply(Event("error", {"error": "ValueError", "message": "kaboom: <the boom node> always fails"}))
    t.finish("error")
    text, page = transcript_text(t), transcript_html(t)

    assert text.splitlines() == ["boom · stateless · failed", "[error] ValueError: kaboom: <the boom node> always fails"]
    assert ">failed</span>" in page
    assert "kaboom: &lt;the boom node&gt; always fails" in page


def test_a_cancelled_run_reads_cancelled() -> None:
    t = Transcript(assistant="chat", thread_var="chat_thread")
    t.add_input("count to 300")
    t.finish("interrupted")

    assert transcript_text(t).splitlines()[0] == "chat · thread chat_thread · cancelled"
    assert ">cancelled</span>" in transcript_html(t)
