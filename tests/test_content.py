"""Unit tests of lg_magics.content and of how the transcript and the summary show real agents' messages.

The chunks are the ones provider packages stream (lg_magics.demo.providers writes them, as
``AIMessageChunk``s serialized the way the server does with ``model_dump()``); the server adds
LangChain's ``lc_run--`` id to every chunk without a provider id.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from lg_magics.content import Content, content_of, plain_text
from lg_magics.protocol import Event
from lg_magics.render import transcript_html, transcript_text
from lg_magics.result import RunResult
from lg_magics.transcript import Transcript

providers = pytest.importorskip("lg_magics.demo.providers")
from langchain_core.messages import AIMessageChunk  # noqa: E402

RUN_ID = "lc_run--019a0000-0000-7000-8000-000000000001"
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(1200)).decode()
TURN = providers.Turn(
    text="Checking both cities.",
    reasoning="The user wants the weather.\n\nCall the tool twice.",
    calls=[("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Tokyo"})],
    input_tokens=120,
    output_tokens=45,
)
META = {"langgraph_node": "agent", "langgraph_checkpoint_ns": "agent:4f1c", "ls_model_name": "ignored-if-the-message-names-one"}


def wire(provider: str, turn: providers.Turn = TURN, run_id: str = RUN_ID) -> list[dict[str, Any]]:
    out = []
    for kw in providers.chunks(provider, turn):
        chunk = AIMessageChunk(**kw)
        chunk.id = chunk.id or run_id
        out.append(chunk.model_dump())
    return out


def whole(provider: str, turn: providers.Turn = TURN) -> dict[str, Any]:
    message = providers.message(provider, turn)
    message.id = message.id or RUN_ID
    return message.model_dump()


def run(provider: str, *, updates: bool = True, turn: providers.Turn = TURN) -> Transcript:
    t = Transcript(assistant="agent", modes=("messages-tuple", "updates") if updates else ("messages-tuple",))
    t.add_input("weather in Paris and Tokyo?")
    for chunk in wire(provider, turn):
        t.apply(Event("messages", [chunk, META]))
    if updates:
        t.apply(Event("updates", {"agent": {"messages": [whole(provider, turn)]}}))
    t.finish("success")
    return t


@pytest.mark.parametrize("updates", [True, False], ids=["with-updates", "chunks-only"])
@pytest.mark.parametrize("provider", providers.PROVIDERS)
def test_every_provider_shape_gives_one_message_with_everything(provider: str, updates: bool) -> None:
    t = run(provider, updates=updates)

    assert [(e.role, e.text) for e in t.messages] == [("human", "weather in Paris and Tokyo?"), ("ai", TURN.text)]
    reply = t.messages[1]
    assert reply.reasoning == TURN.reasoning
    assert [(c.name, c.arguments) for c in reply.body.calls.values()] == [
        ("get_weather", {"city": "Paris"}),
        ("get_weather", {"city": "Tokyo"}),
    ]
    assert reply.usage == {"input_tokens": 120, "output_tokens": 45, "total_tokens": 165}
    assert reply.model == providers.MODELS[provider]
    assert not reply.streaming


@pytest.mark.parametrize("provider", providers.PROVIDERS)
def test_the_summary_shows_reasoning_calls_usage_and_model_once(provider: str) -> None:
    t = run(provider)
    text = transcript_text(t)

    assert text.splitlines()[0] == "agent · stateless · done · tokens 120 in, 45 out"
    assert text.count("Checking both cities.") == 1
    assert text.count('get_weather(city="Paris")') == 1
    assert text.count('get_weather(city="Tokyo")') == 1
    assert f"[ai · agent · {providers.MODELS[provider]} · 120 in, 45 out] Checking both cities." in text
    assert "(reasoning, 49 characters) The user wants the weather. Call the tool twice." in text
    assert "→ ?" not in text

    page = transcript_html(t)
    assert '<details class="lgm-reasoning"><summary>reasoning · 49 characters</summary>' in page
    assert page.count("Checking both cities.") == 1
    assert page.count("get_weather(city=&quot;Paris&quot;)") + page.count('get_weather(city="Paris")') == 1


def test_result_has_reasoning_usage_model_and_blocks() -> None:
    result = RunResult(run("anthropic"))

    assert result.reasoning == TURN.reasoning
    assert result.usage == {"input_tokens": 120, "output_tokens": 45, "total_tokens": 165}
    assert result.model == "claude-sonnet-4-5"
    ai = result.messages[1]
    assert [b["type"] for b in ai["blocks"]] == ["reasoning", "text", "tool_call", "tool_call"]
    assert [c["args"] for c in ai["tool_calls"]] == [{"city": "Paris"}, {"city": "Tokyo"}]
    assert (ai["usage"]["output_tokens"], ai["model"]) == (45, "claude-sonnet-4-5")


def test_an_openai_responses_stream_whose_id_changes_is_one_message() -> None:
    chunks = wire("openai")
    ids = [c["id"] for c in chunks]
    assert ids[0] == ids[-1] != ids[1] == RUN_ID  # resp_…, lc_run--…, resp_… as on the wire

    t = run("openai")
    assert len(t.messages) == 2
    assert "?(" not in transcript_text(t)


def test_two_model_calls_of_one_task_stay_two_messages() -> None:
    t = Transcript(assistant="agent")
    first = providers.Turn(text="First.", input_tokens=1, output_tokens=1)
    second = providers.Turn(text="Second.", input_tokens=2, output_tokens=2)
    for turn, run_id in ((first, "lc_run--a"), (second, "lc_run--b")):
        for kw in providers.chunks("openai", turn, call_prefix=run_id[-1]):
            chunk = AIMessageChunk(**kw)
            chunk.id = chunk.id or run_id
            data = chunk.model_dump()
            data["chunk_position"] = None  # even without the "last" marker
            t.apply(Event("messages", [data, META]))
    assert [e.text for e in t.messages] == ["First.", "Second."]
    assert t.usage == {"input_tokens": 3, "output_tokens": 3, "total_tokens": 6}


def test_parallel_model_calls_of_a_send_fan_out_stream_side_by_side() -> None:
    t = Transcript(assistant="fanout")
    streams = {}
    for n, city in enumerate(("Paris", "Tokyo")):
        streams[city] = wire("deepseek", providers.Turn(text=f"Sunny in {city} today."), run_id=f"lc_run--{n}")
    for a, b in zip(streams["Paris"], streams["Tokyo"]):
        t.apply(Event("messages", [a, {**META, "langgraph_checkpoint_ns": "agent:1"}]))
        t.apply(Event("messages", [b, {**META, "langgraph_checkpoint_ns": "agent:2"}]))
    assert sorted(e.text for e in t.messages) == ["Sunny in Paris today.", "Sunny in Tokyo today."]


def test_legacy_messages_mode_with_a_changing_id_is_one_message() -> None:
    t = Transcript(assistant="agent", modes=("messages",))
    total: dict[str, AIMessageChunk] = {}
    for kw in providers.chunks("openai", TURN):
        chunk = AIMessageChunk(**kw)
        chunk.id = chunk.id or RUN_ID
        if chunk.id not in total:  # the server accumulates per id and announces each id once
            total[chunk.id] = chunk
            t.apply(Event("messages/metadata", {chunk.id: {"metadata": META}}))
        else:
            total[chunk.id] = total[chunk.id] + chunk
        partial = total[chunk.id].model_dump()
        partial["type"] = "ai"
        t.apply(Event("messages/partial", [partial]))
    t.finish("success")
    assert [(e.role, e.text) for e in t.messages] == [("ai", TURN.text)]
    assert len(t.messages[0].tool_calls) == 2


def test_anthropic_redacted_thinking_and_server_tools() -> None:
    content = content_of(
        {
            "content": [
                {"type": "redacted_thinking", "data": "EmwKAhgB", "index": 0},
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "weather"}, "index": 1},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [{"title": "Forecast"}], "index": 2},
                {"type": "text", "text": "Sunny.", "citations": [{"cited_text": "sun"}], "index": 3},
            ],
            "tool_calls": [],
        }
    )
    assert content.reasoning == "[redacted thinking]"
    assert content.text == "Sunny."
    assert content.tool_calls == []  # the provider ran it: not a call for the graph
    (call,) = content.calls.values()
    assert (call.name, call.arguments, call.server, call.result) == (
        "web_search",
        {"query": "weather"},
        True,
        [{"title": "Forecast"}],
    )


def test_v1_invalid_tool_call_and_reasoning_content() -> None:
    content = content_of(
        {
            "content": "Done.",
            "additional_kwargs": {"reasoning_content": "Think first."},
            "invalid_tool_calls": [
                {"name": "get_weather", "args": '{"city": ', "id": "c1", "error": "bad JSON", "type": "invalid_tool_call"}
            ],
        }
    )
    assert (content.text, content.reasoning) == ("Done.", "Think first.")
    assert content.tool_calls == [{"name": "get_weather", "args": '{"city": ', "id": "c1", "error": "bad JSON"}]


def test_images_are_images_in_html_and_a_size_in_text() -> None:
    t = Transcript(assistant="painter")
    t.add_input(
        [{"type": "text", "text": "Draw this:"}, {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}}]
    )
    painted = {
        "type": "ai",
        "id": "ai-1",
        "content": [
            {"type": "text", "text": "Here it is."},
            {"type": "image", "base64": PNG, "mime_type": "image/png"},
            {"type": "image", "url": "https://example.com/cat.png"},
        ],
    }
    t.apply(Event("updates", {"paint": {"messages": [painted]}}))
    t.finish("success")
    text, page = transcript_text(t), transcript_html(t)

    assert "[you] Draw this:\n    [image: image/png, 1.2 kB]" in text
    assert "[ai · paint] Here it is.\n    [image: image/png, 1.2 kB]\n    [image: https://example.com/cat.png]" in text
    assert PNG not in text
    assert page.count(f'src="data:image/png;base64,{PNG}"') == 2
    assert '<img class="lgm-img" alt="image" src="https://example.com/cat.png">' in page


def test_anthropic_and_v0_image_shapes_and_unsafe_types() -> None:
    blocks = [
        {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": PNG}},
        {"type": "image", "source_type": "base64", "data": PNG, "mime_type": "image/webp"},
        {"type": "image", "base64": "PHN2Zz4=", "mime_type": "image/svg+xml"},
        {"type": "file", "base64": PNG, "mime_type": "application/pdf"},
    ]
    content = content_of({"content": blocks})
    assert [(p.kind, p.mime_type) for p in content.media] == [
        ("image", "image/jpeg"),
        ("image", "image/webp"),
        ("image", "image/svg+xml"),
        ("file", "application/pdf"),
    ]
    t = Transcript(assistant="x")
    t.apply(Event("updates", {"n": {"messages": [{"type": "ai", "id": "a", "content": blocks}]}}))
    page = transcript_html(t)
    assert "data:image/svg" not in page  # an SVG can carry a script: named, not inlined
    assert "[image: image/svg+xml, 5 B]" in page


def test_remove_message_takes_a_message_out_of_the_view() -> None:
    t = Transcript(assistant="trim")
    t.apply(Event("updates", {"a": {"messages": [{"type": "ai", "id": "m1", "content": "old"}]}}))
    t.apply(
        Event(
            "updates",
            {"b": {"messages": [{"type": "remove", "id": "m1", "content": ""}, {"type": "ai", "id": "m2", "content": "new"}]}},
        )
    )
    assert [e.text for e in t.messages] == ["new"]
    assert "old" not in transcript_text(t) and ">old<" not in transcript_html(t)


def test_a_values_snapshot_without_a_message_removes_it() -> None:
    t = Transcript(assistant="trim", modes=("values",))
    t.apply(Event("values", {"messages": []}))
    t.apply(Event("values", {"messages": [{"type": "ai", "id": "m1", "content": "old"}]}))
    t.apply(Event("values", {"messages": [{"type": "ai", "id": "m2", "content": "new"}], "summary": "short"}))
    t.finish("success")
    assert [e.text for e in t.messages] == ["new"]
    assert transcript_text(t).splitlines()[-1] == "state → summary: short"


def test_a_tool_error_is_marked_as_an_error() -> None:
    t = Transcript(assistant="agent")
    failed = {
        "type": "tool",
        "id": "t1",
        "name": "flaky",
        "tool_call_id": "c1",
        "status": "error",
        "content": "Error: ValueError('down')",
    }
    t.apply(Event("updates", {"tools": {"messages": [failed]}}))
    assert "[tool flaky · error] Error: ValueError('down')" in transcript_text(t)
    assert "lgm-tool-error" in transcript_html(t)


def test_wait_result_shows_the_input_once_and_the_state_of_a_graph_without_messages() -> None:
    t = Transcript(assistant="wordcount")
    t.add_input('{"text": "a b c"}')
    t.apply_wait_result({"text": "a b c", "words": 3})
    t.finish()
    assert transcript_text(t).splitlines()[1:] == ['[you] {"text": "a b c"}', "state → text: a b c, words: 3"]


def test_multimodal_input_is_matched_with_its_echo() -> None:
    content = [{"type": "text", "text": "What is this?"}, {"type": "image", "base64": PNG, "mime_type": "image/png"}]
    t = Transcript(assistant="agent")
    t.add_input(content)
    t.apply_wait_result(
        {"messages": [{"type": "human", "id": "h1", "content": content}, {"type": "ai", "id": "a1", "content": "A PNG."}]}
    )
    assert [(e.role, e.text) for e in t.messages] == [("human", "What is this?"), ("ai", "A PNG.")]


def test_folding_text_is_linear() -> None:
    content = Content()
    for _ in range(20000):
        content.add({"content": "word "})
    assert len(content.text) == 100000
    assert len(content.parts) == 1


def test_plain_text_of_blocks() -> None:
    assert plain_text([{"type": "text", "text": "a"}, "b", {"type": "thinking", "thinking": "no"}]) == "ab"
    assert plain_text("x") == "x"


def test_the_live_view_streams_reasoning_and_arguments_then_shows_the_finished_entry() -> None:
    from lg_magics.render import entry_html, streaming_text
    from lg_magics.view import RunView

    now = [0.0]
    t = Transcript(assistant="agent")
    view = RunView(t, clock=lambda: now[0])
    chunks = wire("anthropic")
    seen = []
    for chunk in chunks[:-1]:
        t.apply(Event("messages", [chunk, META]))
        now[0] += 0.01
        view.refresh()
        seen.append(streaming_text(t.messages[0]))
    assert seen[3].startswith("(reasoning) The user")  # reasoning shows while it is generated
    assert seen[-1].endswith('→ get_weather(city="Paris")\n→ get_weather(city="Tokyo")')
    view.flush()
    live = view.live.run["e"][0]  # what the frontend has: head, growing text, tail
    assert len(live) == 3 and "The user wants the weather." in live[1] and "Checking both cities." in live[1]

    t.apply(Event("messages", [chunks[-1], META]))
    view.flush()
    assert view.live.run["e"][0] == [entry_html(t.messages[0])]
    assert '<details class="lgm-reasoning">' in view.live.run["e"][0][0]  # finished: collapsed
    assert "tokens 120 in, 45 out" in view.live.run["h"]
    view.close()
