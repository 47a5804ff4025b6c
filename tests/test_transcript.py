"""Unit tests of Transcript: events in, entries out. No server, no widgets.

The event data is copied from real streams of the embedded server (langgraph-api 0.16.7) running
the demo graphs ``chat``, ``approval``, ``tools`` and ``boom``.
"""

from __future__ import annotations

import re

import pytest

from lg_magics.protocol import Event
from lg_magics.transcript import CANCELLED, ERROR, RUNNING, SUCCESS, WAITING, Transcript

RUN_ID = "01a20bbb-be65-7cd8-9c2f-3b6b0d6a1c11"
AI_ID = "lc_run--01a20bbb-c241-737e-a622-85a9e6b9a8aa"
INPUT = "hi, my name is Ada"
REPLY = "Nice to meet you, Ada! You said: hi, my name is Ada"
TOKENS = re.findall(r"\S+\s*", REPLY)  # the fake model streams one word at a time

# The metadata half of a messages-tuple event (§4.4), as the chat graph sends it.
META = {
    "created_by": "system",
    "assistant_id": "eb6db400-e3c8-5d06-a834-015cb89efe69",
    "run_attempt": 1,
    "langgraph_version": "1.2.22",
    "langgraph_api_version": "0.16.7",
    "run_id": RUN_ID,
    "thread_id": "01a20bbb-be65-7cd8-9c2f-1bd719633de8",
    "graph_id": "chat",
    "ls_integration": "langchain_chat_model",
    "langgraph_step": 1,
    "langgraph_node": "respond",
    "langgraph_triggers": ["branch:to:respond"],
    "langgraph_path": ["__pregel_pull", "respond"],
    "langgraph_checkpoint_ns": "respond:15f93883-0d4e-5a6b-b0f3-3f3c6c1a2d4e",
    "checkpoint_ns": "respond:15f93883-0d4e-5a6b-b0f3-3f3c6c1a2d4e",
    "ls_provider": "echochatmodel",
    "ls_model_type": "chat",
    "lc_versions": {"langchain-core": "1.7.2"},
}

INTERRUPT = {
    "value": {"question": "Approve this draft?", "draft": "DRAFT: ship v2"},
    "id": "79aabd5f78592ea895535005652c1182",
    "response_schema": None,
}


def chunk(content: str, position: str | None = None, message_id: str = AI_ID) -> Event:
    """A messages-tuple event carrying one AIMessageChunk delta."""
    message = {
        "content": content,
        "additional_kwargs": {},
        "response_metadata": {},
        "type": "AIMessageChunk",
        "name": None,
        "id": message_id,
        "tool_calls": [],
        "invalid_tool_calls": [],
        "usage_metadata": None,
        "tool_call_chunks": [],
        "chunk_position": position,
    }
    return Event("messages", [message, META])


def ai(content: str, message_id: str = AI_ID, **extra: object) -> dict:
    """A whole serialized AIMessage, as in updates/values."""
    return {
        "content": content,
        "additional_kwargs": {},
        "response_metadata": {},
        "type": "ai",
        "name": None,
        "id": message_id,
        "tool_calls": [],
        "invalid_tool_calls": [],
        "usage_metadata": None,
        **extra,
    }


def human(content: str, message_id: str) -> dict:
    return {"content": content, "additional_kwargs": {}, "response_metadata": {}, "type": "human", "name": None, "id": message_id}


def chat(text: str = INPUT, **kwargs: object) -> Transcript:
    t = Transcript(assistant="chat", **kwargs)
    t.add_input(text)
    return t


def shown(t: Transcript) -> list[tuple[str, str]]:
    return [(e.role, e.text) for e in t.messages]


# -- default mode: messages-tuple + updates ----------------------------------------------------------


def test_default_mode_shows_the_streamed_reply_once_finalized_by_the_update() -> None:
    t = chat(modes=("messages-tuple", "updates"))
    t.apply(Event("metadata", {"run_id": RUN_ID, "attempt": 1}))
    for token in TOKENS:
        t.apply(chunk(token))
    t.apply(chunk("", position="last"))
    t.apply(Event("updates", {"respond": {"messages": [ai(REPLY)], "user_name": "Ada"}}))

    assert shown(t) == [("human", INPUT), ("ai", REPLY)]
    reply = t.messages[1]
    assert reply.streaming is False
    assert reply.node == "respond"
    assert reply.id == AI_ID
    assert t.run_id == RUN_ID
    assert t.status == RUNNING
    updates = [e for e in t.entries if e.kind == "update"]
    assert [(u.node, u.data) for u in updates] == [("respond", {"user_name": "Ada"})]
    assert t.last_ai_text == REPLY


def test_chunks_are_concatenated_while_streaming_and_the_last_chunk_ends_streaming() -> None:
    t = chat()
    for token in TOKENS[:3]:
        t.apply(chunk(token))
    reply = t.messages[1]
    assert (reply.text, reply.streaming) == ("Nice to meet ", True)

    for token in TOKENS[3:]:
        t.apply(chunk(token))
    t.apply(chunk("", position="last"))
    assert t.messages[1] is reply
    assert (reply.text, reply.streaming) == (REPLY, False)


def test_the_node_update_finalizes_the_streamed_entry_in_place_with_its_text() -> None:
    t = chat()
    t.apply(chunk("Nice to "))  # a stream cut short: the update carries the whole message
    reply = t.messages[1]
    t.apply(Event("updates", {"respond": {"messages": [ai(REPLY)]}}))

    assert t.messages[1] is reply
    assert (reply.text, reply.streaming) == (REPLY, False)
    assert len(t.messages) == 2


def test_every_change_to_an_entry_bumps_its_version() -> None:
    t = chat()
    versions = []
    for token in TOKENS:
        t.apply(chunk(token))
        versions.append(t.messages[1].version)
    t.apply(chunk("", position="last"))
    versions.append(t.messages[1].version)
    t.apply(Event("updates", {"respond": {"messages": [ai(REPLY)]}}))
    versions.append(t.messages[1].version)

    assert all(later > earlier for earlier, later in zip(versions, versions[1:]))


def test_an_entry_no_event_touched_keeps_its_version() -> None:
    t = chat()
    before = t.messages[0].version
    for token in TOKENS:
        t.apply(chunk(token))
    assert t.messages[0].version == before


# -- values: history is hidden, the input is matched by content ----------------------------------------


def test_first_values_snapshot_hides_history_and_binds_the_input_echo() -> None:
    history = [human("hi, my name is Ada", "h-1"), ai("Nice to meet you, Ada! You said: hi, my name is Ada", "lc_run--a1")]
    echo = {
        "content": "what is my name?",
        "additional_kwargs": {},
        "response_metadata": {},
        "type": "human",
        "name": None,
        "id": "3088894e-7d1c-4e0b-9b8e-0c5f8a0b1f2d",
    }
    final = ai("Your name is Ada.", "lc_run--01a20bbc-3087-72de-9ab2-3de6ec834789")
    t = chat("what is my name?", modes=("messages-tuple", "values"))

    t.apply(Event("values", {"messages": [*history, echo], "user_name": "Ada"}))
    assert shown(t) == [("human", "what is my name?")]
    assert t.messages[0].id == echo["id"]
    assert {"h-1", "lc_run--a1"} <= t.hidden

    for token in re.findall(r"\S+\s*", final["content"]):
        t.apply(chunk(token, message_id=final["id"]))
    t.apply(chunk("", position="last", message_id=final["id"]))
    t.apply(Event("values", {"messages": [*history, echo, final], "user_name": "Ada"}))

    assert shown(t) == [("human", "what is my name?"), ("ai", "Your name is Ada.")]
    assert t.values == {"messages": [*history, echo, final], "user_name": "Ada"}


def test_stateless_values_stream_shows_input_once_and_reply_once() -> None:
    echo = human(INPUT, "5a0c7a6e-2f57-4f0b-8d7c-9f5d2b1e3c4a")
    t = chat(modes=("messages-tuple", "updates", "values"))
    t.apply(Event("metadata", {"run_id": RUN_ID, "attempt": 1}))
    t.apply(Event("values", {"messages": [echo]}))
    for token in TOKENS:
        t.apply(chunk(token))
    t.apply(chunk("", position="last"))
    t.apply(Event("updates", {"respond": {"messages": [ai(REPLY)], "user_name": "Ada"}}))
    t.apply(Event("values", {"messages": [echo, ai(REPLY)], "user_name": "Ada"}))

    assert shown(t) == [("human", INPUT), ("ai", REPLY)]
    assert t.messages[0].is_input


def test_hidden_ids_are_never_shown_whatever_the_event() -> None:
    old = ai("an old answer", "lc_run--old")
    t = chat(hidden={"lc_run--old"})
    t.apply(Event("values", {"messages": [old]}))  # first snapshot
    t.apply(Event("messages", [old, META]))
    t.apply(chunk("more", message_id="lc_run--old"))
    t.apply(Event("updates", {"report": {"messages": [old]}}))
    t.apply(Event("values", {"messages": [old]}))
    t.apply(Event("messages/complete", [old]))
    t.apply_wait_result({"messages": [old]})

    assert shown(t) == [("human", INPUT)]


def test_input_echo_is_not_confused_with_an_identical_history_message() -> None:
    t = chat("yes", hidden={"h-old"})
    t.apply(Event("values", {"messages": [human("yes", "h-old"), ai("Sure?", "a-old"), human("yes", "h-new")]}))

    assert shown(t) == [("human", "yes")]
    assert t.messages[0].id == "h-new"


# -- tools -----------------------------------------------------------------------------------------


def test_tool_calls_and_tool_results_are_captured_once() -> None:
    call = {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1", "type": "tool_call"}
    tool = {
        "content": "It is sunny in Paris.",
        "type": "tool",
        "name": "get_weather",
        "id": "59c99877-3a4e-4f0a-9b1a-6d2f0e8c7b5a",
        "tool_call_id": "call_1",
        "artifact": None,
        "status": "success",
    }
    agent_meta = {**META, "langgraph_node": "agent"}
    t = Transcript(assistant="tools")
    t.add_input("weather in Paris")
    t.apply(Event("messages", [ai("", "ai-call", tool_calls=[call]), agent_meta]))
    t.apply(Event("updates", {"agent": {"messages": [ai("", "ai-call", tool_calls=[call])]}}))
    t.apply(Event("messages", [tool, {**META, "langgraph_node": "tools"}]))
    t.apply(Event("updates", {"tools": {"messages": [tool]}}))
    t.apply(Event("updates", {"agent": {"messages": [ai("Weather report: It is sunny in Paris.", "ai-final")]}}))

    assert shown(t) == [
        ("human", "weather in Paris"),
        ("ai", ""),
        ("tool", "It is sunny in Paris."),
        ("ai", "Weather report: It is sunny in Paris."),
    ]
    assert t.messages[1].tool_calls == [call]
    assert t.messages[1].node == "agent"
    assert (t.messages[2].name, t.messages[2].node) == ("get_weather", "tools")


def test_streamed_tool_call_chunks_are_merged_then_replaced_by_the_final_call() -> None:
    def call_chunk(**tool_call_chunk: object) -> Event:
        event = chunk("", message_id="lc_run--call")
        event.data[0]["tool_call_chunks"] = [{"index": 0, "type": "tool_call_chunk", **tool_call_chunk}]
        return event

    t = chat("weather in Paris")
    t.apply(call_chunk(name="get_weather", args='{"city": ', id="call_1"))
    t.apply(call_chunk(name=None, args='"Paris"}', id=None))
    assert t.messages[1].tool_calls == [{"name": "get_weather", "args": '{"city": "Paris"}', "id": "call_1"}]

    final = {"name": "get_weather", "args": {"city": "Paris"}, "id": "call_1", "type": "tool_call"}
    t.apply(Event("updates", {"agent": {"messages": [ai("", "lc_run--call", tool_calls=[final])]}}))
    assert t.messages[1].tool_calls == [final]
    assert len(t.messages) == 2


# -- interrupts ------------------------------------------------------------------------------------


def test_interrupt_in_updates_and_values_gives_one_entry() -> None:
    t = Transcript(assistant="approval", modes=("values", "updates"))
    t.apply(Event("metadata", {"run_id": "01a20bbd-3a25-7c3f-8f0e-5b0e2f1d4c3b", "attempt": 1}))
    t.apply(Event("values", {"request": "ship v2"}))
    t.apply(Event("updates", {"draft": {"draft": "DRAFT: ship v2"}}))
    t.apply(Event("values", {"request": "ship v2", "draft": "DRAFT: ship v2"}))
    t.apply(Event("updates", {"__interrupt__": [INTERRUPT]}))
    t.apply(Event("values", {"request": "ship v2", "draft": "DRAFT: ship v2", "__interrupt__": [INTERRUPT]}))

    interrupts = [e for e in t.entries if e.kind == "interrupt"]
    assert [(e.id, e.data) for e in interrupts] == [(INTERRUPT["id"], INTERRUPT["value"])]
    assert t.interrupts == [INTERRUPT]
    assert [e.node for e in t.entries if e.kind == "update"] == ["draft"]
    assert t.values == {"request": "ship v2", "draft": "DRAFT: ship v2"}

    t.finish("success", {"values": t.values, "interrupts": [{"id": INTERRUPT["id"], "value": INTERRUPT["value"]}]})
    assert t.status == WAITING
    assert len([e for e in t.entries if e.kind == "interrupt"]) == 1


def test_interrupt_before_sends_an_empty_interrupt_list_that_adds_nothing() -> None:
    t = Transcript(assistant="tools")
    t.apply(Event("updates", {"__interrupt__": []}))
    assert t.interrupts == []
    assert t.entries == []


def test_tasks_show_the_interrupt_once_with_the_later_update() -> None:
    interrupt = {
        "value": {"question": "Approve this draft?", "draft": "DRAFT: ship v6"},
        "id": "1dc6ba7f88b5d770e9afd3eabcdf06af",
        "response_schema": None,
    }
    t = Transcript(assistant="approval", modes=("tasks", "updates"))
    t.apply(
        Event(
            "tasks",
            {
                "id": "0f35dd7f-1",
                "name": "review",
                "input": {"request": "ship v6", "draft": "DRAFT: ship v6"},
                "triggers": ["branch:to:review"],
                "metadata": {},
            },
        )
    )
    t.apply(Event("tasks", {"id": "0f35dd7f-1", "name": "review", "error": None, "result": {}, "interrupts": [interrupt]}))
    t.apply(Event("updates", {"__interrupt__": [interrupt]}))

    assert t.interrupts == [interrupt]
    assert [e.kind for e in t.entries] == ["note", "interrupt", "note"]
    assert t.entries[0].text == "task review started"
    t.finish("success")
    assert t.status == WAITING


def test_finish_with_a_state_holding_interrupts_waits_for_input() -> None:
    t = Transcript(assistant="approval", modes=("messages-tuple",))  # this mode alone shows no interrupt
    t.apply(Event("metadata", {"run_id": RUN_ID, "attempt": 1}))
    state = {
        "values": {"request": "ship v2", "draft": "DRAFT: ship v2"},
        "next": ["review"],
        "interrupts": [{"id": INTERRUPT["id"], "value": INTERRUPT["value"]}],
    }
    t.finish("success", state)

    assert t.status == WAITING
    assert t.values == state["values"]
    assert [(e.kind, e.data) for e in t.entries] == [("interrupt", INTERRUPT["value"])]


# -- errors and final statuses ---------------------------------------------------------------------


def test_error_event_fails_the_run_and_finish_keeps_it_failed() -> None:
    t = Transcript(assistant="boom", modes=("values", "updates"))
    t.apply(Event("metadata", {"run_id": "01a20bbd-1c6e-735f-bb50-4da542577f65", "attempt": 1}))
    t.apply(Event("values", {"kind": "value"}))
    t.apply(Event("error", {"error": "ValueError", "message": "kaboom: the boom node always fails"}))
    assert t.status == ERROR
    assert t.error == {"error": "ValueError", "message": "kaboom: the boom node always fails"}

    t.finish("error")
    t.finish("success")
    assert t.status == ERROR
    assert [e.data for e in t.entries if e.kind == "error"] == [t.error]


def test_an_error_event_with_plain_text_data_still_fails() -> None:
    t = Transcript(assistant="boom")
    t.apply(Event("error", "boom"))
    assert t.status == ERROR
    assert t.error == {"error": "Error", "message": "boom"}


@pytest.mark.parametrize(
    ("server_status", "cancelled", "expected"),
    [
        (None, False, SUCCESS),
        ("success", False, SUCCESS),
        ("error", False, ERROR),
        ("timeout", False, ERROR),
        ("interrupted", False, CANCELLED),
        ("success", True, CANCELLED),
    ],
)
def test_finish_maps_server_statuses(server_status: str | None, cancelled: bool, expected: str) -> None:
    t = chat()
    t.apply(Event("metadata", {"run_id": RUN_ID, "attempt": 1}))
    t.finish(server_status, cancelled=cancelled)
    assert t.status == expected
    assert t.finished
    assert (t.error is not None) == (expected == ERROR)


def test_a_transcript_is_pending_until_the_first_event() -> None:
    t = chat()
    assert (t.status, t.finished) == ("pending", False)
    t.apply(Event("metadata", {"run_id": RUN_ID, "attempt": 1}))
    assert (t.status, t.finished) == (RUNNING, False)


# -- legacy messages mode --------------------------------------------------------------------------


def legacy_stream(t: Transcript) -> None:
    """§4.5: messages/metadata once, then the accumulated message in each messages/partial."""
    t.apply(Event("metadata", {"run_id": RUN_ID, "attempt": 1}))
    t.apply(Event("messages/metadata", {AI_ID: {"metadata": META}}))
    for n in range(1, len(TOKENS) + 1):
        t.apply(Event("messages/partial", [ai("".join(TOKENS[:n]))]))
    t.apply(Event("messages/partial", [ai(REPLY)]))  # sent twice: the last token and the empty last chunk


def test_legacy_partials_carry_the_accumulated_text_and_give_one_entry() -> None:
    t = chat(modes=("messages",))
    legacy_stream(t)
    assert shown(t) == [("human", INPUT), ("ai", REPLY)]


def test_legacy_complete_messages_are_whole_messages() -> None:
    tool = {"content": "It is sunny in Paris.", "type": "tool", "name": "get_weather", "id": "tool-1", "tool_call_id": "call_1"}
    t = Transcript(assistant="tools", modes=("messages",))
    t.apply(Event("messages/metadata", {"tool-1": {"metadata": {**META, "langgraph_node": "tools"}}}))
    t.apply(Event("messages/complete", [tool]))
    t.apply(Event("messages/complete", [ai("Weather report: It is sunny in Paris.", "ai-final")]))

    assert shown(t) == [("tool", "It is sunny in Paris."), ("ai", "Weather report: It is sunny in Paris.")]
    assert not any(e.streaming for e in t.messages)


def test_legacy_metadata_names_the_node() -> None:
    t = chat(modes=("messages",))
    legacy_stream(t)
    assert t.messages[1].node == "respond"


def test_finish_leaves_no_message_streaming_in_legacy_mode() -> None:
    t = chat(modes=("messages",))
    legacy_stream(t)
    t.finish("success")
    assert [e.streaming for e in t.messages] == [False, False]


def test_a_cancelled_run_leaves_no_message_streaming() -> None:
    t = chat()
    for token in TOKENS[:3]:
        t.apply(chunk(token))
    t.finish(cancelled=True)
    assert t.status == CANCELLED
    assert t.messages[1].streaming is False


# -- subgraphs, custom, other modes ----------------------------------------------------------------


def test_subgraph_events_are_labelled_and_the_parent_update_adds_no_duplicates() -> None:
    ns = "report:ee5c252a-69bd-7234-d324-7d6ccccda400"
    call = {"name": "get_weather", "args": {"city": "Rome"}, "id": "call_1", "type": "tool_call"}
    messages = [
        human("weather in Rome", "4e1f9a4b-8c2d-4f5e-9a1b-2c3d4e5f6a7b"),
        ai("", "ai-call", tool_calls=[call]),
        {"content": "It is sunny in Rome.", "type": "tool", "name": "get_weather", "id": "tool-1", "tool_call_id": "call_1"},
        ai("Weather report: It is sunny in Rome.", "ai-final"),
        ai("(report formatted)", "ai-report"),
    ]
    t = Transcript(assistant="tools")
    t.add_input("weather in Rome")
    t.apply(Event("updates", {"agent": {"messages": [messages[1]]}}))
    t.apply(Event("custom", {"tool": "get_weather", "city": "Rome"}))
    t.apply(Event("updates", {"tools": {"messages": [messages[2]]}}))
    t.apply(Event("updates", {"agent": {"messages": [messages[3]]}}))
    t.apply(Event(f"updates|{ns}", {"format": {"messages": [messages[4]]}}))
    t.apply(Event(f"values|{ns}", {"messages": messages}))  # a subgraph's own state is not the run's
    t.apply(Event("updates", {"report": {"messages": messages}}))

    assert [text for _, text in shown(t)] == [
        "weather in Rome",
        "",
        "It is sunny in Rome.",
        "Weather report: It is sunny in Rome.",
        "(report formatted)",
    ]
    assert t.messages[0].id == messages[0]["id"]  # the subgraph's copy of the input was matched by content
    assert t.messages[4].node == "report/format"
    assert [e.node for e in t.entries if e.kind == "update"] == ["agent", "tools", "agent", "report/format", "report"]
    assert t.values is None


def test_namespaced_message_chunks_get_the_subgraph_node() -> None:
    t = Transcript(assistant="tools")
    event = chunk("(report ", message_id="ai-report")
    event.data[1]["langgraph_node"] = "format"
    t.apply(Event("messages|report:ee5c252a-69bd-7234-d324-7d6ccccda400", event.data))
    assert (t.messages[0].node, t.messages[0].text) == ("report/format", "(report ")


def test_custom_events_become_custom_entries() -> None:
    t = chat()
    t.apply(Event("custom", {"status": "thinking", "n_messages": 1}))
    t.apply(Event("custom|tools:3c4d956b-1", {"tool": "get_weather", "city": "Paris"}))
    customs = [(e.node, e.data) for e in t.entries if e.kind == "custom"]
    assert customs == [("", {"status": "thinking", "n_messages": 1}), ("tools", {"tool": "get_weather", "city": "Paris"})]


def test_unknown_events_are_counted_not_fatal() -> None:
    t = chat()
    t.apply(Event("lifecycle", {"anything": 1}))
    t.apply(Event("messages", None))
    t.apply(Event("updates", "not a dict"))
    assert t.events == 3
    assert shown(t) == [("human", INPUT)]


# -- wait results ----------------------------------------------------------------------------------


def test_wait_result_with_values_shows_the_new_messages_only() -> None:
    history = [human("hi, my name is Ada", "h-1"), ai("Nice to meet you, Ada!", "lc_run--a1")]
    echo = human("what is my name?", "h-2")
    reply = ai("Your name is Ada.", "lc_run--01a20bbc-9ec9-7e2b-8a1d-5f3e2c1b0a9d-0")
    t = chat("what is my name?", hidden={"h-1", "lc_run--a1"})
    t.apply_wait_result({"messages": [*history, echo, reply], "user_name": "Ada"})
    t.finish()

    assert shown(t) == [("human", "what is my name?"), ("ai", "Your name is Ada.")]
    assert t.values == {"messages": [*history, echo, reply], "user_name": "Ada"}
    assert t.status == SUCCESS


def test_wait_result_with_an_interrupt_waits() -> None:
    interrupt = {
        "value": {"question": "Approve this draft?", "draft": "DRAFT: ship v5"},
        "id": "f74f5c5d77992201bf96125b08ddd2a4",
        "response_schema": None,
    }
    t = Transcript(assistant="approval")
    t.apply_wait_result({"request": "ship v5", "draft": "DRAFT: ship v5", "__interrupt__": [interrupt]})
    t.finish()

    assert t.status == WAITING
    assert t.interrupts == [interrupt]
    assert t.values == {"request": "ship v5", "draft": "DRAFT: ship v5"}


def test_wait_result_with_an_error_fails() -> None:
    t = Transcript(assistant="boom")
    t.apply_wait_result({"__error__": {"error": "ValueError", "message": "kaboom: the boom node always fails"}})
    t.finish()

    assert t.status == ERROR
    assert t.error == {"error": "ValueError", "message": "kaboom: the boom node always fails"}
    assert [e.kind for e in t.entries] == ["error"]


def test_a_message_first_seen_without_id_is_not_repeated_when_it_comes_back_with_one() -> None:
    # ToolNode returns its ToolMessage without an id (``updates`` shows "id": null); the reducer
    # gives it one, and a subgraph that returns the whole state sends it again with that id.
    t = Transcript(modes=("updates", "custom"))
    t.add_input("weather in Rome")
    tool = {"type": "tool", "content": "It is sunny in Rome.", "name": "get_weather", "tool_call_id": "call_1"}
    t.apply(Event("updates", {"tools": {"messages": [{**tool, "id": None}]}}))
    t.apply(
        Event(
            "updates",
            {"report": {"messages": [{"type": "human", "content": "weather in Rome", "id": "h1"}, {**tool, "id": "t1"}]}},
        )
    )
    assert [(e.role, e.text) for e in t.messages] == [("human", "weather in Rome"), ("tool", "It is sunny in Rome.")]
    assert t.messages[1].id == "t1"
