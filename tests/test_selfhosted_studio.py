"""Issue 13 (time travel, state edits, breakpoints, assistants, the store, the run's path) against the
self-hosted servers: Aegra 0.11 and the stock langgraph-api on PostgreSQL + Redis (langhost).

Each test is one flow on one thread, through the magics as a notebook types them, asserting on what
the user sees and on the server's state through the API. The servers are the session's (see
``servers`` in conftest.py), shared with tests/test_selfhosted.py. Where a server differs, the test
says how (README, "Time travel and the store").
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from lg_magics.client import Client
from lg_magics.exceptions import AgentUsageError, AssistantNotFound
from lg_magics.server import free_port

from .conftest import Shell
from .selfhosted import Aegra
from .test_time_travel import chat_and_show_the_conversation, essay_and_its_history

pytestmark = [pytest.mark.server, pytest.mark.selfhosted]


def text(shell: Shell) -> str:
    return "\n".join(o["data"]["text/plain"] for o in shell.outputs if "text/plain" in o["data"])


def one_line(caught: pytest.ExceptionInfo[Any]) -> str:
    """The error as the notebook shows it: a single line."""
    [line] = caught.value._render_traceback_()
    return str(line)


def state_of(api: Client, thread_id: str) -> dict[str, Any]:
    return api.get_state(thread_id)


# -- 1, 2: history, fork, re-run -------------------------------------------------------------------
def test_history_fork_and_rerun(remote: Shell, api: Client) -> None:
    essay_and_its_history(remote)
    thread = remote.ns["essay_thread"]

    remote.cell("essay --checkpoint -1", "forks")  # "edit the message and regenerate"
    assert remote.ns["essay_thread"] == thread
    assert "Why forks matters." in remote.ns["_agent"].text
    values = state_of(api, thread)["values"]
    assert values["topic"] == "forks" and [m["type"] for m in values["messages"]] == ["human", "ai"]
    remote.line("history")
    assert "more on branches left by forks" in text(remote).splitlines()[0]

    remote.line("rerun --checkpoint 1")  # the assistant of the thread's last run
    assert remote.ns["_agent"].status == "done" and "Re-run from step 1" in remote.summary()
    assert state_of(api, thread)["values"]["topic"] == "forks"
    assert api.get_state(thread)["next"] == []
    with pytest.raises(AgentUsageError) as caught:
        remote.line("rerun --checkpoint 99")
    assert one_line(caught).startswith("AgentUsageError: No step 99 on the current branch of essay_thread")
    with pytest.raises(AgentUsageError, match="No checkpoint 'nope' on essay_thread"):
        remote.cell("essay --checkpoint nope", "x")
    remote.line("history --limit 1")
    last = text(remote).splitlines()[3].split()[0]
    with pytest.raises(AgentUsageError, match=f"Step {last} of essay_thread is where a run ended: nothing runs from it"):
        remote.line(f"rerun --checkpoint {last}")

    # A checkpoint by its ID: re-run the write after the outline of the first branch (no longer current).
    [outline] = [
        c for c in api.get_history(thread, limit=50) if c["values"].get("topic") == "time travel" and c["next"] == ["write"]
    ]
    remote.line(f"rerun --checkpoint {outline['checkpoint']['checkpoint_id']}")
    values = state_of(api, thread)["values"]
    assert values["topic"] == "time travel" and values["draft"].startswith("Why time travel matters.")


# -- 3, 4: breakpoints, state edits, continue -----------------------------------------------------
def test_breakpoints_state_edit_and_continue(remote: Shell, api: Client) -> None:
    remote.cell("essay --interrupt-before write", "breakpoints")
    assert remote.ns["_agent"].status == "paused"
    summary = remote.summary()
    assert summary.splitlines()[0] == "essay · thread essay_thread · paused before write"
    assert 'Paused before write. State: plan: ["why breakpoints matters", "…, topic: breakpoints;' in summary
    thread = remote.ns["essay_thread"]
    assert state_of(api, thread)["next"] == ["write"]

    remote.line("state --set '{\"max_words\": 3}'")
    assert text(remote).splitlines()[0] == "essay_thread: wrote max_words → step 2, next: write"
    assert state_of(api, thread)["values"]["max_words"] == 3

    remote.line("continue --interrupt-after shorten")
    assert remote.summary().splitlines()[0] == "essay · thread essay_thread · paused after shorten"
    assert state_of(api, thread)["next"] == ["publish"]
    remote.line("continue")  # no breakpoints given: the last run's (after shorten) are kept, and it is behind
    assert remote.ns["_agent"].status == "done"
    assert remote.ns["_agent"].text == "Why breakpoints matters…"
    assert state_of(api, thread)["next"] == []

    with pytest.raises(AgentUsageError, match="essay_thread is not paused"):
        remote.line("continue")
    with pytest.raises(AgentUsageError) as caught:
        remote.cell("essay --interrupt-before nope", "x")
    assert one_line(caught).startswith("AgentUsageError: --interrupt-before: no node nope in this graph; its nodes are")
    with pytest.raises(AgentUsageError, match="--interrupt-after: no node nope in this graph"):
        remote.cell("essay --new --interrupt-after nope", "x")


def test_continue_keeps_the_breakpoints(remote: Shell) -> None:
    remote.cell("essay --interrupt-after '*'", "stars")
    assert remote.summary().splitlines()[0] == "essay · thread essay_thread · paused after outline"
    remote.line("continue")
    assert remote.summary().splitlines()[0] == "essay · thread essay_thread · paused after write"


def test_state_edit_as_node_then_the_chat_goes_on_from_it(remote: Shell, api: Client) -> None:
    chat_and_show_the_conversation(remote)
    remote.line("state --set '{\"user_age\": 41}' --as-node respond")
    assert text(remote).splitlines()[0] == "chat_thread: wrote user_age as respond → step 2, next: -"
    assert state_of(api, remote.ns["chat_thread"])["values"]["user_age"] == 41
    remote.cell("chat", "How old am I?")
    assert remote.ns["_agent"].text == "You are **41** years old."
    remote.line("state --checkpoint 1")
    assert text(remote).splitlines()[0] == "chat_thread: at a checkpoint · step 1 · next: none"
    assert "user_age   null" in text(remote).splitlines()
    remote.line('state --set \'{"user_name": "Bo"}\' --checkpoint 1')  # on top of an earlier checkpoint
    values = state_of(api, remote.ns["chat_thread"])["values"]
    assert values["user_name"] == "Bo" and len(values["messages"]) == 2
    with pytest.raises(AgentUsageError, match="--as-node: no node nope in graph chat; its nodes are respond"):
        remote.line("state --set '{\"user_age\": 1}' --as-node nope")


def test_resume_asks_for_strict_resume_only_where_info_offers_it(remote: Shell, target: Any) -> None:
    remote.cell("approval", "ship strict")
    remote.cell("approval --resume", "yes")
    assert remote.ns["_agent"]["result"] == "published: DRAFT: ship strict"
    flags = remote.ip.magics_manager.registry["AgentMagics"].server_flags[target.url]
    assert flags.get("assistants") is True and "strict_resume" not in flags  # neither server offers it


# -- 5: assistants --------------------------------------------------------------------------------
def test_assistants_lifecycle(remote: Shell, api: Client) -> None:
    name = f"brief-{uuid.uuid4().hex[:6]}"
    remote.line(f"assistants create {name} --graph essay --context '{{\"x\": 1}}'")
    try:
        assert text(remote).splitlines()[0] == f"Created assistant {name} on graph essay: %%agent {name} runs it."
        with pytest.raises(AgentUsageError) as caught:
            remote.line(f"assistants create {name} --graph essay")
        assert one_line(caught).startswith(f"AgentUsageError: An assistant named {name} exists already")
        with pytest.raises(AgentUsageError, match="--graph: no graph nope on this server"):
            remote.line("assistants create other --graph nope")
        remote.line(f"assistants update {name} --context '{{\"x\": 2}}'")
        assert text(remote).splitlines()[0] == f"{name} is now version 2."
        remote.line(f"assistants versions {name}")
        lines = text(remote).splitlines()
        assert lines[0] == f"{name}: 2 versions, newest first"
        assert lines[3].split()[:2] == ["2", "latest"] and lines[4].split()[0] == "1"
        remote.line(f"assistants use {name} --version 1")
        assert text(remote).splitlines()[0] == f"{name} runs version 1 now."
        [assistant] = [a for a in api._json("POST", "/assistants/search", json={"limit": 100}) if a["name"] == name]
        assert assistant["version"] == 1 and assistant["context"] == {"x": 1}
        with pytest.raises(AgentUsageError, match=rf"{name} has no version 7 \(versions: 1, 2\)"):
            remote.line(f"assistants use {name} --version 7")
        remote.cell(name, "assistants")
        assert remote.ns["_agent"]["topic"] == "assistants"
        assert remote.summary().splitlines()[0].startswith(f"{name} · thread ")
    finally:
        remote.line(f"assistants delete {name}")
    assert not [a for a in api._json("POST", "/assistants/search", json={"limit": 100}) if a["name"] == name]
    with pytest.raises(AssistantNotFound, match=f"No assistant '{name}'"):
        remote.line(f"assistants delete {name}")
    with pytest.raises(AgentUsageError, match="essay is the default assistant of graph essay"):
        remote.line("assistants delete essay")


# -- 6: the store -----------------------------------------------------------------------------------
def test_store(remote: Shell, target: Any, capsys: pytest.CaptureFixture[str]) -> None:
    top = f"tt{uuid.uuid4().hex[:6]}"
    capsys.readouterr()
    remote.line(f'store put {top}/ada prefs \'{{"color": "blue"}}\'')
    assert capsys.readouterr().out.splitlines()[-1] == f"Stored prefs in {top}/ada."
    remote.line(f'store put {top}/bo prefs \'{{"color": "red"}}\'')
    # Aegra scopes the store per user: without auth every namespace is stored, searched and listed
    # under users/anonymous, and a namespace that starts so already is taken as it is.
    scope = "users/anonymous/" if isinstance(target, Aegra) else ""
    remote.line(f"store search {top}")
    assert text(remote).splitlines()[3:] == [
        f'{scope}{top}/ada  prefs  {{"color": "blue"}}',
        f'{scope}{top}/bo   prefs  {{"color": "red"}}',
    ]
    remote.line(f"store search {top} --query blue --limit 1")  # no index on either server: the query is ignored
    assert len(text(remote).splitlines()[3:]) == 1
    remote.line(f"store get {top}/ada prefs")  # shown with the namespace the server keeps the item in
    assert text(remote) == f'{scope}{top}/ada prefs:\n{{\n  "color": "blue"\n}}'
    remote.line(f"store get {scope}{top}/bo prefs")  # as search shows it
    assert text(remote) == f'{scope}{top}/bo prefs:\n{{\n  "color": "red"\n}}'
    remote.line(f"store namespaces {top}")
    lines = text(remote).splitlines()
    assert lines[:2] + lines[3:] == [f"2 namespaces under {top}", "namespace", f"{scope}{top}/ada", f"{scope}{top}/bo"]
    capsys.readouterr()
    remote.line(f"store delete {top}/ada prefs")
    assert capsys.readouterr().out.splitlines()[-1] == f"Deleted prefs from {top}/ada."
    with pytest.raises(AgentUsageError) as caught:
        remote.line(f"store get {top}/ada prefs")
    assert one_line(caught) == (
        f"AgentUsageError: No key 'prefs' in namespace {top}/ada: %agent store search {top}/ada lists its keys."
    )
    with pytest.raises(AgentUsageError, match=f"No key 'prefs' in namespace {top}/ada"):
        remote.line(f"store delete {top}/ada prefs")
    remote.line(f"store delete {top}/bo prefs")


# -- 7: the run's path on the graph ---------------------------------------------------------------
def test_graph_highlights_the_last_run_path(remote: Shell) -> None:
    remote.cell("essay", "paths")  # 11 words: no shorten
    remote.line("graph essay --thread essay_thread")
    lines = text(remote).splitlines()
    assert lines[1] == "last run (* on its path): __start__ → outline → write → publish → __end__"
    assert "  write -.-> publish *" in lines and "  write -.-> shorten" in lines


# -- 9: background runs, record and replay -----------------------------------------------------------
def test_breakpoint_continue_fork_and_rerun_in_the_background(remote_kernel: Any, api: Client) -> None:
    from .test_kernel_time_travel import background_time_travel

    background_time_travel(remote_kernel)
    thread = remote_kernel.text_of("print(essay_thread)").strip()
    assert state_of(api, thread)["values"]["topic"] == "background forks"


def test_the_continue_button_goes_on_from_the_breakpoint(remote_kernel: Any, api: Client) -> None:
    from .test_kernel_time_travel import click_continue

    click_continue(remote_kernel, api)


def test_time_travel_recorded_then_replayed_without_the_server(remote: Shell, target: Any, tmp_path: Path) -> None:
    from .test_cassette import new_kernel

    path = tmp_path / "studio.cassette.json"

    def flow() -> list[str]:
        shown = []
        remote.cell("essay --interrupt-before write", "cassettes")
        shown.append(remote.summary())
        remote.line("state --set '{\"max_words\": 3}'")
        shown.append(text(remote))
        remote.line("continue")
        shown.append(remote.summary())
        remote.line("history")
        shown.append(text(remote))
        remote.cell("essay --checkpoint -1", "replays")
        shown.append(remote.summary())
        remote.line("rerun --checkpoint 1")
        shown.append(remote.summary())
        return shown

    remote.line(f"record {path} --mode record")
    remote.line(f"connect {target.url}")
    recorded = flow()
    assert recorded[2].splitlines()[0] == "essay · thread essay_thread · done"
    new_kernel(remote)
    remote.line(f"record {path} --mode replay")
    remote.line(f"connect http://127.0.0.1:{free_port()}")
    assert flow() == recorded
