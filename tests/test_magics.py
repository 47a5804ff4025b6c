"""``%%agent`` end to end in an IPython shell, against the real embedded Agent Server."""

from __future__ import annotations

import uuid

import pytest

from lg_magics.client import Client
from lg_magics.exceptions import (
    AgentUsageError,
    AssistantNotFound,
    RunFailed,
    ServerUnreachable,
    ThreadNotFound,
)
from lg_magics.magics import COMMANDS
from lg_magics.result import RunResult
from lg_magics.server import free_port

SEED = "Hello! My name is Bagatur and I am 26 years old."
QUESTION = "What is my name and how old am I?"


def test_stateful_conversation_remembers_across_cells(shell, client: Client) -> None:
    shell.cell("chat", SEED)
    thread_id = shell.ns["chat_thread"]
    assert isinstance(thread_id, str) and uuid.UUID(thread_id)
    assert "Nice to meet you, **Bagatur**!" in shell.summary()

    shell.cell("chat", QUESTION)
    assert shell.ns["chat_thread"] == thread_id
    assert shell.ns["_agent"].text == "Your name is **Bagatur** and you are **26** years old."
    # The server holds the whole conversation on that thread.
    state = client.get_state(thread_id)
    assert [m["type"] for m in state["values"]["messages"]] == ["human", "ai", "human", "ai"]


def test_summary_shows_this_turn_once_and_no_ids(shell) -> None:
    shell.cell("chat", SEED)
    shell.cell("chat", QUESTION)
    text = shell.summary()
    assert text.splitlines() == [
        "chat · thread chat_thread · done",
        f"[you] {QUESTION}",
        "[ai · respond] Your name is **Bagatur** and you are **26** years old.",
        "✓ respond → user_name: Bagatur, user_age: 26",
    ]
    assert shell.ns["chat_thread"] not in text


def test_stateless_run_has_no_memory_and_stores_nothing(shell) -> None:
    shell.cell("chat", SEED)
    shell.cell("chat --stateless", QUESTION)
    assert shell.ns["_agent"].text.startswith("I don't know your name or your age")
    assert shell.ns["_agent"].thread_id is None
    assert "chat_thread" in shell.ns  # untouched from the first cell
    assert "· stateless ·" in shell.summary()


def test_stateless_run_binds_its_final_state(shell) -> None:
    shell.cell("chat --stateless", SEED)
    assert shell.ns["_agent"]["user_name"] == "Bagatur"


def test_wait_renders_final_state_and_binds_result(shell) -> None:
    shell.cell("chat --wait --out reply", SEED)
    result = shell.ns["reply"]
    assert isinstance(result, RunResult) and result is shell.ns["_agent"]
    assert result["user_age"] == 26
    assert result.status == "done"
    # No live view for --wait: only the summary.
    assert [sorted(o["data"]) for o in shell.outputs] == [["text/html", "text/plain"]]
    assert shell.summary().splitlines()[1:] == [
        f"[you] {SEED}",
        "[ai] Nice to meet you, **Bagatur**! I will remember that you are 26 years old.",
        "state → user_name: Bagatur, user_age: 26",  # the final state's keys other than messages
    ]
    shell.cell("chat --wait", QUESTION)
    assert shell.ns["_agent"].text == "Your name is **Bagatur** and you are **26** years old."


def test_stream_mode_values_shows_only_this_runs_messages(shell) -> None:
    shell.cell("chat", SEED)
    shell.cell("chat --stream-mode values", QUESTION)
    lines = shell.summary().splitlines()
    assert lines[1:] == [
        f"[you] {QUESTION}",
        "[ai] Your name is **Bagatur** and you are **26** years old.",
        "state → user_name: Bagatur, user_age: 26",  # no updates streamed: the final state says it
    ]


def test_live_view_is_displayed_once_without_placeholder_text(shell) -> None:
    shell.cell("chat", SEED)
    views = [o for o in shell.outputs if "application/vnd.jupyter.widget-view+json" in o["data"]]
    assert [o["update"] for o in views] == [False, True]  # displayed once, then marked closed
    assert all(list(o["data"]) == ["application/vnd.jupyter.widget-view+json"] for o in views)
    assert views[1]["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] == ""


def test_existing_thread_variable_is_reused(shell, client: Client) -> None:
    thread_id = client.create_thread()["thread_id"]
    shell.ns["mine"] = thread_id
    shell.cell("chat --thread mine", SEED)
    assert shell.ns["mine"] == thread_id
    assert client.get_state(thread_id)["values"]["user_name"] == "Bagatur"


def test_new_starts_a_fresh_thread(shell) -> None:
    shell.cell("chat", SEED)
    first = shell.ns["chat_thread"]
    shell.cell("chat --new", QUESTION)
    assert shell.ns["chat_thread"] != first
    assert shell.ns["_agent"].text.startswith("I don't know")


@pytest.mark.parametrize("value", [[1, 2], "not a thread id", 42])
def test_variable_holding_something_else_is_never_overwritten(shell, value) -> None:
    shell.ns["chat_thread"] = value
    for line in ("chat", "chat --new"):
        with pytest.raises(AgentUsageError, match="will not overwrite it"):
            shell.cell(line, SEED)
        assert shell.ns["chat_thread"] == value


def test_thread_variable_name_is_made_an_identifier(shell, client: Client) -> None:
    assistant_id = client.search_assistants(graph_id="chat")[0]["assistant_id"]
    shell.cell(assistant_id, SEED)
    name = "_" + assistant_id.replace("-", "_") if assistant_id[0].isdigit() else assistant_id.replace("-", "_")
    assert uuid.UUID(shell.ns[f"{name}_thread"])


def test_failed_run_fails_the_cell_with_one_line(shell) -> None:
    with pytest.raises(RunFailed) as info:
        shell.cell("boom", "anything")
    # The summary shows the error; the cell's error line does not repeat it...
    assert info.value._render_traceback_() == [
        "RunFailed: The run failed (its error is shown above); pass --no-fail to keep the cell from failing."
    ]
    assert shell.ns["_agent"].status == "failed"
    assert "[error] ValueError: kaboom" in shell.summary()
    # ...unless nothing is shown.
    with pytest.raises(RunFailed) as info:
        shell.cell("boom --quiet", "anything")
    assert info.value._render_traceback_() == [
        "RunFailed: The run failed with ValueError: kaboom: the boom node always fails; "
        "pass --no-fail to keep the cell from failing."
    ]
    assert shell.outputs == []


def test_no_fail_keeps_the_cell_going(shell) -> None:
    shell.cell("boom --no-fail --stateless", "anything")
    assert shell.ns["_agent"].error == {"error": "ValueError", "message": "kaboom: the boom node always fails"}


def test_unknown_assistant_lists_the_available_ones(shell, client: Client) -> None:
    names = ", ".join(sorted(a["name"] for a in client.search_assistants()))
    assert names.startswith("agent, approval, boom, chat, essay, slow_chat, tools")  # the demo set, at least
    with pytest.raises(AssistantNotFound) as info:
        shell.cell("nope", SEED)
    assert str(info.value) == f"No assistant 'nope' on {client.url}. Available: {names}."
    assert "nope_thread" not in shell.ns


def test_unknown_assistant_id_is_not_found(shell) -> None:
    with pytest.raises(AssistantNotFound, match="Available: agent, approval, boom, chat, essay, slow_chat, tools"):
        shell.cell(str(uuid.uuid4()), SEED)


def test_assistant_by_custom_name(shell, custom_assistant: str) -> None:
    shell.cell(f"{custom_assistant} --stateless", SEED)
    assert shell.ns["_agent"]["user_name"] == "Bagatur"


def test_thread_not_found_says_to_use_new(shell) -> None:
    shell.ns["chat_thread"] = str(uuid.uuid4())
    with pytest.raises(ThreadNotFound, match="Pass --new to start a new thread"):
        shell.cell("chat", SEED)


def test_server_unreachable(shell) -> None:
    port = free_port()
    with pytest.raises(ServerUnreachable, match=f"No Agent Server answers at http://127.0.0.1:{port}"):
        shell.line(f"connect http://127.0.0.1:{port}")
    magics = shell.ip.magics_manager.registry["AgentMagics"]
    magics.url = f"http://127.0.0.1:{port}"
    with pytest.raises(ServerUnreachable, match="%agent serve"):
        shell.cell("chat", SEED)


@pytest.mark.parametrize(
    ("line", "body", "message"),
    [
        ("", SEED, "Name the assistant"),
        ("chat", "  \n ", "The cell is empty"),
        ("chat --stream-mode bogus", SEED, "Unknown stream mode 'bogus'"),
        ("chat --stateless --new", SEED, "--stateless runs without a thread"),
        ("chat --context {oops", SEED, "--context takes a JSON object"),
        ("chat --context [1]", SEED, "--context needs a JSON object"),
        ("chat --thread 1x", SEED, "--thread needs a Python variable name"),
        ("chat --bogus", SEED, "unrecognized arguments: --bogus"),
        ('chat --context {"delay": 1}', SEED, "Quote JSON that has spaces"),
        ("chat --multitask sometimes", SEED, "--multitask takes one of"),
    ],
)
def test_bad_arguments_give_one_line(shell, line, body, message) -> None:
    with pytest.raises(AgentUsageError, match=message) as info:
        shell.cell(line, body)
    rendered = info.value._render_traceback_()
    assert len(rendered) == 1 and "\n" not in rendered[0]


def test_context_from_a_variable_and_inline_json(shell) -> None:
    shell.ns["ctx"] = {"delay": 0}
    shell.cell("chat --stateless --context ctx", SEED)
    shell.cell("""chat --stateless --context '{"delay": 0}'""", SEED)  # quoted JSON may have spaces
    shell.cell('chat --stateless --context {"delay":0} --metadata {"source":"test"}', SEED)
    assert shell.ns["_agent"].status == "done"


@pytest.mark.parametrize("line", ["frobnicate", "chat"])
def test_unknown_line_command(shell, line) -> None:
    with pytest.raises(AgentUsageError):
        shell.line(line)


@pytest.mark.parametrize("line", ["", "--help", "-h", "help"])
def test_agent_alone_or_with_help_lists_the_commands(shell, capsys, line) -> None:
    shell.line(line)
    out = capsys.readouterr().out
    lines = out[out.index("%agent COMMAND") :].splitlines()  # after clear_output's escape codes
    assert lines[0] == "%agent COMMAND (each takes --help):"
    assert len(lines) == 2 + len(COMMANDS)
    assert any(
        line.split() == ["%agent", "history", "[--limit", "LIMIT]", "[var]", "A", "thread's", "checkpoints,", "newest", "first."]
        for line in lines
    )
    assert lines[-1].startswith("%%agent ASSISTANT sends the cell")


def test_help_prints_usage(shell, capsys) -> None:
    doc = shell.ip.find_cell_magic("agent").__doc__
    flags = ("--stateless", "--wait", "--new", "--thread", "--stream-mode", "--out", "--no-fail", "--resume", "--background")
    flags += ("--json", "--no-interpolate", "--quiet", "--map VAR", "--concurrency N", "{{name}}", "default_assistant")
    for flag in flags:
        assert flag in doc
    shell.cell("--help", "ignored")
    out = capsys.readouterr().out
    assert "%%agent [--thread VAR]" in out and "Send {{name}} as written" in out
    assert "(see %agent runs/wait/cancel)" in " ".join(out.split())  # argparse's % formatting escaped
    shell.line("serve --help")
    assert "%agent serve [--port PORT] [path]" in capsys.readouterr().out


@pytest.mark.parametrize("modes", ["updates custom", "messages-tuple updates", "values"])
def test_tool_call_and_subgraph_show_each_message_once(shell, modes) -> None:
    shell.cell(f"tools --stateless --stream-mode {modes}", "What is the weather in Rome?")
    text = shell.summary()
    assert text.count("It is sunny in Rome.") == 2  # the tool's answer, and the AI's report quoting it
    assert text.count("[tool get_weather] It is sunny in Rome.") == 1
    assert '→ get_weather(city="Rome")' in text
    assert text.count("(report formatted)") == 1
