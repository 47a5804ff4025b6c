"""Cell inputs and outputs: --json, {{var}} interpolation, the --json hint, --quiet, RunResult."""

from __future__ import annotations

import uuid

import pytest

from lg_magics.client import Client
from lg_magics.exceptions import AgentUsageError, RunFailed
from lg_magics.request import parse_literal
from lg_magics.result import RunResult
from lg_magics.schemas import InputSchemas, input_keys, text_input_hint
from lg_magics.server import free_port

SEED = "Hello! My name is Bagatur and I am 26 years old."


# -- --json -------------------------------------------------------------------------------------
def test_json_cell_is_the_graph_input(shell) -> None:
    shell.cell("approval --json --stateless --wait", '{"request": "ship v7"}')
    result = shell.ns["_agent"]
    assert result["draft"] == "DRAFT: ship v7" and result.status == "waiting for input"
    shell.cell("approval --json --stateless --wait", "{'request': 'ship v8', 'messages': [],}")  # a Python literal
    assert shell.ns["_agent"]["draft"] == "DRAFT: ship v8"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("request: ship it", "invalid syntax"),
        ("{1, 2}", "Object of type set is not JSON serializable"),
        ("[" * 5000 + "]" * 5000, ""),
    ],
)
def test_json_cell_that_is_not_json_is_one_line(shell, body: str, reason: str) -> None:
    with pytest.raises(AgentUsageError, match=r"--json: the cell is not a JSON value or Python literal") as info:
        shell.cell("approval --json --stateless", body)
    assert reason in str(info.value) and "\n" not in str(info.value)


def test_parse_literal_rejects_what_cannot_travel_as_json() -> None:
    assert parse_literal("{'a': (1, 2), 'b': None}") == {"a": (1, 2), "b": None}
    for text in ("b'x'", "{1}", "1j", "{'a': {1}}"):
        with pytest.raises(ValueError):
            parse_literal(text)


# -- {{var}} ------------------------------------------------------------------------------------
def test_variables_are_interpolated_into_the_message(shell) -> None:
    shell.ns["who"], shell.ns["age"] = "Ada", 36
    shell.cell("chat --stateless", "Hello! My name is {{who}} and I am {{ age }} years old.")
    result = shell.ns["_agent"]
    assert result["user_name"] == "Ada" and result["user_age"] == 36
    assert "[you] Hello! My name is Ada and I am 36 years old." in shell.summary()


def test_interpolation_into_json_input(shell) -> None:
    shell.ns["request"] = 'ship "v9"'
    shell.cell("approval --json --stateless --wait", '{"request": {{request | json}}}')
    assert shell.ns["_agent"]["draft"] == 'DRAFT: ship "v9"'


def test_escape_and_no_interpolate_send_the_braces(shell) -> None:
    shell.ns["who"] = "Ada"
    shell.cell("chat --stateless", r"Say \{{who}} to {{who}}")
    assert shell.ns["_agent"].text == "You said: Say {{who}} to Ada"
    shell.cell("chat --stateless --no-interpolate", "Say {{who}} and {{nobody}}")
    assert shell.ns["_agent"].text == "You said: Say {{who}} and {{nobody}}"


def test_unknown_variable_fails_before_any_run(shell) -> None:
    with pytest.raises(AgentUsageError, match=r"\{\{nobody\}\} in the cell: no variable named nobody") as info:
        shell.cell("chat", "Hi {{nobody}}")
    assert len(info.value._render_traceback_()) == 1
    assert "chat_thread" not in shell.ns and shell.outputs == []


# -- the --json hint ----------------------------------------------------------------------------
def test_text_cell_to_a_graph_without_messages_gets_the_json_hint(shell, wordcount_server) -> None:
    shell.line(f"connect {wordcount_server.url}")
    with pytest.raises(AgentUsageError) as info:
        shell.cell("wordcount --stateless", "count these words")
    assert str(info.value) == (
        "wordcount does not take messages (its input has text): write the input as JSON and add --json, "
        'e.g. %%agent wordcount --json with {"text": ...} in the cell.'
    )
    assert shell.outputs == []
    shell.ns["words"] = "count these four words"
    shell.cell("wordcount --stateless --json", '{"text": {{words|json}}}')
    assert shell.ns["_agent"].values == {"words": 4}


def test_the_input_schema_is_asked_once_per_assistant(server, wordcount_server) -> None:
    schemas = InputSchemas()
    with Client(wordcount_server.url) as client:
        assert schemas.keys(client, "wordcount") == ["text"]
    with Client(server.url) as client:
        assert schemas.keys(client, "chat") is not None and "messages" in schemas.keys(client, "chat")
    # Cached: a client that cannot reach anything still gets the answer, so no request was made.
    with Client(wordcount_server.url) as live:
        dead = Client(f"http://127.0.0.1:{free_port()}")
        dead.url = live.url
        with dead:
            with pytest.raises(AgentUsageError, match="wordcount does not take messages"):
                schemas.check_text_input(dead, "wordcount")


def test_input_keys_and_hint_from_schema_shapes() -> None:
    assert input_keys({"input_schema": {"properties": {"messages": {}, "x": {}}}}) == ["messages", "x"]
    assert input_keys({"input_schema": {"$ref": "#/$defs/In", "$defs": {"In": {"properties": {"q": {}}}}}}) == ["q"]
    assert input_keys({"input_schema": None}) is None
    assert input_keys({"input_schema": {"type": "object"}}) is None
    assert text_input_hint("x", None) is None and text_input_hint("x", ["messages"]) is None


# -- --quiet and the result ---------------------------------------------------------------------
def test_quiet_shows_nothing_and_binds_the_result(shell) -> None:
    shell.cell("chat --quiet --out reply", SEED)
    assert shell.outputs == []
    result = shell.ns["reply"]
    assert result is shell.ns["_agent"] and result.status == "done"
    assert uuid.UUID(shell.ns["chat_thread"]) and result.thread_id == shell.ns["chat_thread"]
    with pytest.raises(RunFailed):
        shell.cell("boom --quiet --stateless", "anything")
    assert shell.outputs == [] and shell.ns["_agent"].status == "failed"


def test_quiet_and_background_cannot_go_together(shell) -> None:
    with pytest.raises(AgentUsageError, match="--quiet shows nothing and --background"):
        shell.cell("chat --quiet --background", SEED)


def test_run_result_has_everything_and_a_repr_without_ids(shell) -> None:
    shell.cell("chat", SEED)
    result: RunResult = shell.ns["_agent"]
    assert result.values["user_age"] == 26 and result["user_name"] == "Bagatur"
    assert [m["role"] for m in result.messages] == ["human", "ai"]
    assert result.text == "Nice to meet you, **Bagatur**! I will remember that you are 26 years old."
    assert uuid.UUID(result.run_id) and result.thread_id == shell.ns["chat_thread"]
    assert result.status == "done" and result.error is None and result.interrupts == []
    text = repr(result)
    assert text == (
        "RunResult(assistant='chat', status='done', text='Nice to meet you, **Bagatur**! I will remember that you are…', "
        "keys=['messages', 'user_age', 'user_name'])"
    )
    assert result.run_id not in text and result.thread_id not in text
