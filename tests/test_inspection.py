"""%agent assistants / threads / state / history / graph / info, against the real embedded Agent Server."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Callable

import pytest

from lg_magics.client import Client
from lg_magics.exceptions import AgentUsageError, AssistantNotFound, ThreadNotFound

SEED = "Hello! My name is Bagatur and I am 26 years old."


@pytest.fixture()
def custom_assistant(client: Client) -> Iterator[Callable[[str], dict]]:
    """Create assistants for one test and delete them after: other tests list the server's assistants."""
    created: list[str] = []

    def create(graph_id: str) -> dict:
        assistant = client._json("POST", "/assistants", json={"graph_id": graph_id, "name": f"{graph_id}-{uuid.uuid4().hex[:6]}"})
        created.append(assistant["assistant_id"])
        return assistant

    yield create
    for assistant_id in created:
        client._request("DELETE", f"/assistants/{assistant_id}")


def plain(shell) -> str:
    texts = [o["data"]["text/plain"] for o in shell.outputs]
    assert len(texts) == 1, shell.outputs
    return texts[0]


def test_assistants_table(shell, custom_assistant) -> None:
    created = custom_assistant("chat")
    name = created["name"]
    shell.line("assistants")
    data = shell.outputs[0]["data"]
    lines = data["text/plain"].splitlines()
    assert lines[1].split() == ["name", "graph", "version", "assistant", "ID"]
    rows = {line.split()[0]: line.split() for line in lines[3:]}
    assert rows["chat"][:3] == ["chat", "chat", "1"]
    assert rows[name] == [name, "chat", "1", created["assistant_id"]]
    assert list(rows) == sorted(rows)
    assert f"<code>{created['assistant_id']}</code>" in data["text/html"]


def test_threads_lists_notebook_variables_first(shell, client: Client) -> None:
    shell.cell("chat", SEED)
    shell.ns["gone_thread"] = str(uuid.uuid4())  # a thread ID the server does not know
    for _ in range(4):  # one more than --limit shows
        other = client.create_thread(metadata={"owner": "someone else"})["thread_id"]
    shell.ns["_"] = other  # IPython's output cache is not a thread variable
    shell.line("threads --limit 3")
    lines = plain(shell).splitlines()
    assert (
        lines[0]
        == "2 threads in notebook variables, 3 more on the server (most recently updated first; pass --limit N to see more than 3)"
    )
    assert lines[3].split()[:3] == ["chat_thread", "chat", "idle"] and shell.ns["chat_thread"] in lines[3]
    assert "user_age: 26, user_name: Bagatur; 2 messages, last [ai] Nic…" in lines[3]
    assert lines[4].split()[:4] == ["gone_thread", "not", "on", "this"]
    assert other in lines[5]  # the newest server thread comes next
    assert len(lines) == 8


def test_threads_limit_is_checked(shell) -> None:
    with pytest.raises(AgentUsageError, match="--limit takes a number from 1 to 1000, not 0"):
        shell.line("threads --limit 0")


def test_state_of_the_last_run_and_of_a_variable(shell) -> None:
    shell.cell("chat", SEED)
    shell.line("state")
    assert plain(shell).splitlines()[:6] == [
        "chat_thread: idle · step 1 · next: none",
        "key        value",
        "---------  -----------------------------------------------------------------------------------------------",
        "messages   2 messages, last [ai] Nice to meet you, **Bagatur**! I will remember that you are 26 years old.",
        "user_age   26",
        "user_name  Bagatur",
    ]
    shell.ns["mine"] = shell.ns["chat_thread"]
    shell.cell("chat --stateless", SEED)  # the last run has no thread now
    shell.line("state mine")
    assert plain(shell).startswith("mine: idle · step 1")
    shell.line(f"state {shell.ns['chat_thread']}")  # a thread ID itself
    assert plain(shell).startswith(f"{shell.ns['chat_thread']}: idle")


def test_state_shows_interrupts_and_errors(shell) -> None:
    shell.cell("approval", "ship v5")
    shell.line("state approval_thread")
    text = plain(shell)
    # Statuses in one vocabulary: the server's "interrupted" thread is waiting for input.
    assert text.splitlines()[0] == "approval_thread: waiting for input · step 1 · next: review"
    assert text.splitlines()[-1] == 'Waiting for input: {"draft": "DRAFT: ship v5", "question": "Approve this draft?"}'
    shell.cell("boom --no-fail", "anything")
    shell.line("state boom_thread")
    assert plain(shell).splitlines()[0].startswith("boom_thread: failed")
    assert plain(shell).splitlines()[-1] == "Error: ValueError: kaboom: the boom node always fails"


@pytest.mark.parametrize(
    ("line", "error", "message"),
    [
        ("state nothing_here", AgentUsageError, "No variable nothing_here"),
        ("state 3x", AgentUsageError, "Name a variable that holds a thread ID"),
        ("history --limit 5000", AgentUsageError, "--limit takes a number from 1 to 1000"),
        ("state a b", AgentUsageError, "unrecognized arguments: b"),
    ],
)
def test_state_and_history_usage_errors(shell, line, error, message) -> None:
    shell.ns["a"] = str(uuid.uuid4())
    with pytest.raises(error, match=message) as info:
        shell.line(line)
    assert len(info.value._render_traceback_()) == 1


def test_state_needs_a_thread_when_there_is_no_last_run(shell) -> None:
    from lg_magics.inspection import thread_variables

    for name, _ in thread_variables(shell.ns, shell.ip.user_ns_hidden):  # left by other tests
        del shell.ns[name]
    shell.ns.pop("_agent", None)
    shell.ns["one_thread"] = str(uuid.uuid4())
    shell.ns["two_thread"] = str(uuid.uuid4())
    with pytest.raises(
        AgentUsageError, match=r"Which thread\? Pass a thread variable \(thread variables: one_thread, two_thread\)"
    ):
        shell.line("state")
    del shell.ns["two_thread"]
    with pytest.raises(ThreadNotFound, match=r"\(one_thread\) is not on the server"):
        shell.line("history")


def test_history_is_newest_first_and_sends_a_limit(shell) -> None:
    shell.cell("chat", SEED)
    shell.cell("chat", "What is my name and how old am I?")
    shell.line("history")
    lines = plain(shell).splitlines()
    assert lines[0] == "chat_thread: 6 checkpoints on the current branch, newest first"
    steps = [line.split()[0] for line in lines[3:]]
    assert steps == ["4", "3", "2", "1", "0", "-1"]  # the server alone would send 1
    assert lines[3].split()[1] == "respond" and "+1 message [ai] Your name is" in lines[3]
    shell.line("history chat_thread --limit 2")
    lines = plain(shell).splitlines()
    assert lines[0] == "chat_thread: 6 checkpoints on the current branch, newest first (the newest 2; pass --limit N for more)"
    assert [line.split()[0] for line in lines[3:]] == ["4", "3"]
    shell.line("history chat_thread --limit 1")
    assert plain(shell).splitlines()[0] == (
        "chat_thread: 6 checkpoints on the current branch, newest first (the newest 1; pass --limit N for more)"
    )


def test_graph_by_name_id_and_custom_assistant(shell, client: Client, custom_assistant) -> None:
    shell.line("graph tools")
    data = shell.outputs[0]["data"]
    assert set(data) == {"text/plain", "text/markdown", "image/svg+xml"}
    assert data["text/plain"].splitlines()[0] == "graph tools: 5 nodes, 5 edges (--> always, -.-> conditional)"
    ET.fromstring(data["image/svg+xml"])
    tools_id = client.search_assistants(graph_id="tools")[0]["assistant_id"]
    shell.line(f"graph {tools_id}")
    assert plain(shell).splitlines()[1:] == data["text/plain"].splitlines()[1:]
    name = custom_assistant("tools")["name"]
    shell.line(f"graph {name} --xray")
    assert "  agent -.-> report:format" in plain(shell)


def test_graph_of_an_unknown_assistant(shell) -> None:
    with pytest.raises(AssistantNotFound, match="No assistant 'nope'.*Available: .*chat"):
        shell.line("graph nope")
    with pytest.raises(AgentUsageError, match="the following arguments are required: assistant"):
        shell.line("graph")


def test_info_shows_version_url_and_never_the_key(shell, server, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    secret = "lsv2_pt_" + uuid.uuid4().hex
    monkeypatch.setenv("LANGGRAPH_API_KEY", secret)
    shell.line("info")
    out = capsys.readouterr().out
    lines = out.replace("\x1b[2K\r", "").splitlines()
    assert lines[0] == f"URL: {server.url}"
    assert lines[1].startswith("Server: langgraph-api 0.") and ", langgraph 1." in lines[1]
    assert lines[2] == "Graphs: agent, approval, boom, chat, essay, slow_chat, tools"
    assert lines[3] == "API key: from LANGGRAPH_API_KEY (never shown)"
    assert lines[4:6] == ["Default assistant: none", "Stream modes: messages-tuple updates"]
    assert secret not in out


@pytest.mark.parametrize("command", ["assistants", "threads", "state", "history", "graph"])
def test_every_command_has_help(shell, capsys, command) -> None:
    shell.line(f"{command} --help")
    assert f"\n  %agent {command}" in capsys.readouterr().out
    assert f"%agent {command}" in shell.ip.find_line_magic("agent").__doc__


def test_info_log_only_on_request(shell, capsys) -> None:
    shell.line("info --log")
    out = capsys.readouterr().out
    assert out.replace("\x1b[2K\r", "").splitlines()[-1] == "Log: none: this kernel did not start the server"
