"""Time travel, state edits, breakpoints, assistants and the store against the real embedded server."""

from __future__ import annotations

import pytest

from lg_magics.exceptions import AgentUsageError, AssistantNotFound


def text(shell) -> str:
    return "\n".join(o["data"]["text/plain"] for o in shell.outputs if "text/plain" in o["data"])


def steps(shell) -> list[list[str]]:
    """The rows of the last %agent history as [step, node, next]."""
    lines = text(shell).splitlines()[3:]
    return [[line.split()[0], line.split()[1], line.split("  ")[-2].strip()] for line in lines]


def test_history_numbers_the_branch_by_step_with_node_and_changes(shell) -> None:
    essay_and_its_history(shell)


def essay_and_its_history(shell) -> None:
    """An essay on time travel, then %agent history: its checkpoints by step, node and changes."""
    shell.cell("essay", "time travel")
    shell.line("history")
    lines = text(shell).splitlines()
    assert lines[0] == "essay_thread: 6 checkpoints on the current branch, newest first"
    assert lines[1].split() == ["step", "node", "changes", "next", "checkpoint", "ID"]
    assert [line.split()[:2] for line in lines[3:]] == [
        ["4", "publish"],
        ["3", "shorten"],
        ["2", "write"],
        ["1", "outline"],
        ["0", "__start__"],
        ["-1", "input"],
    ]
    assert "words: 14 → 12" in lines[4]
    assert "in: [human] time travel" in lines[8]


def test_fork_from_a_step_and_rerun(shell) -> None:
    shell.cell("essay", "time travel")
    thread = shell.ns["essay_thread"]
    shell.cell("essay --checkpoint -1", "forks")  # a new topic from the very start
    assert shell.ns["essay_thread"] == thread  # the variable still names the thread
    assert "Why forks matters." in shell.ns["_agent"].text
    shell.line("history")
    assert "more on branches left by forks" in text(shell).splitlines()[0]
    shell.line("rerun --checkpoint 1 --assistant essay")  # the write after outline again, with no new input
    assert shell.ns["_agent"].status == "done"
    assert "Re-run from step 1" in shell.summary()
    assert shell.ns["_agent"]["topic"] == "forks"
    with pytest.raises(AgentUsageError, match="No step 99 on the current branch of essay_thread"):
        shell.line("rerun --checkpoint 99")
    with pytest.raises(AgentUsageError, match="No checkpoint 'nope' on essay_thread"):
        shell.cell("essay --checkpoint nope", "x")
    shell.line("history --limit 1")
    last = text(shell).splitlines()[3].split()[0]
    with pytest.raises(AgentUsageError, match=f"Step {last} of essay_thread is where a run ended: nothing runs from it"):
        shell.line(f"rerun --checkpoint {last}")
    with pytest.raises(AgentUsageError, match="--checkpoint forks the thread in the thread variable, and --new"):
        shell.cell("essay --new --checkpoint 1", "x")


def test_breakpoints_pause_and_continue(shell) -> None:
    shell.cell("essay --interrupt-before write", "breakpoints")
    result = shell.ns["_agent"]
    assert result.status == "paused"
    summary = shell.summary()
    assert summary.splitlines()[0] == "essay · thread essay_thread · paused before write"
    assert 'Paused before write. State: plan: ["why breakpoints matters", "…, topic: breakpoints;' in summary
    shell.line("state --set '{\"max_words\": 3}'")
    assert text(shell).splitlines()[0] == "essay_thread: wrote max_words → step 2, next: write"
    shell.line("continue --interrupt-after shorten")
    assert shell.summary().splitlines()[0] == "essay · thread essay_thread · paused after shorten"
    shell.line("continue")
    assert shell.ns["_agent"].status == "done"
    assert shell.ns["_agent"].text == "Why breakpoints matters…"
    with pytest.raises(AgentUsageError, match="essay_thread is not paused"):
        shell.line("continue")
    with pytest.raises(AgentUsageError, match="--wait shows only the final values"):
        shell.cell("essay --wait --interrupt-before write", "x")
    with pytest.raises(AgentUsageError, match="--interrupt-before: no node nope in this graph; its nodes are outline, write"):
        shell.cell("essay --interrupt-before nope", "x")
    with pytest.raises(AgentUsageError, match="--interrupt-after: no node nope in this graph"):
        shell.cell("essay --new --interrupt-after nope", "x")  # a new thread too
    with pytest.raises(AgentUsageError, match="--checkpoint forks the thread in mine, which holds none yet"):
        shell.cell("essay --thread mine --checkpoint 1", "x")
    shell.cell("essay --interrupt-after '*'", "stars")
    assert shell.summary().splitlines()[0] == "essay · thread essay_thread · paused after outline"


def chat_and_show_the_conversation(shell) -> None:
    """A first chat turn, then %agent state: the conversation is listed under the values."""
    shell.cell("chat", "Hello! My name is Ada.")
    shell.line("state")
    lines = text(shell).splitlines()
    assert lines[-5:-2] == ["Conversation:", "#  message", "-  " + "-" * (len(lines[-1]) - 3)]
    assert lines[-2].startswith("1  [human] Hello! My name is Ada.")
    assert lines[-1].startswith("2  [ai] Nice to meet you, **Ada**!")


def test_state_edits_and_the_conversation(shell) -> None:
    chat_and_show_the_conversation(shell)
    shell.line('state chat_thread --set \'{"user_name": "Bo"}\' --as-node respond')
    assert text(shell).splitlines()[0] == "chat_thread: wrote user_name as respond → step 2, next: -"
    shell.line("state")
    assert "user_name  Bo" in text(shell).splitlines()
    shell.line("state --checkpoint 1")
    assert text(shell).splitlines()[0] == "chat_thread: at a checkpoint · step 1 · next: none"
    with pytest.raises(AgentUsageError, match="--as-node: no node nope in graph chat; its nodes are respond"):
        shell.line("state --set '{\"user_name\": 1}' --as-node nope")
    with pytest.raises(AgentUsageError, match="--as-node says who writes the values of --set"):
        shell.line("state --as-node respond")


def test_assistants_lifecycle(shell) -> None:
    shell.line("assistants create brief --graph essay --context '{\"x\": 1}'")
    try:
        assert text(shell).splitlines()[0] == "Created assistant brief on graph essay: %%agent brief runs it."
        with pytest.raises(AgentUsageError, match="An assistant named brief exists already"):
            shell.line("assistants create brief --graph essay")
        with pytest.raises(AgentUsageError, match="--graph: no graph nope on this server"):
            shell.line("assistants create other --graph nope")
        shell.line("assistants update brief --context '{\"x\": 2}'")
        assert text(shell).splitlines()[0] == "brief is now version 2."
        shell.line("assistants versions brief")
        lines = text(shell).splitlines()
        assert lines[0] == "brief: 2 versions, newest first"
        assert lines[3].split()[:2] == ["2", "latest"] and lines[4].split()[0] == "1"
        shell.line("assistants use brief --version 1")
        assert text(shell).splitlines()[0] == "brief runs version 1 now."
        with pytest.raises(AgentUsageError, match=r"brief has no version 7 \(versions: 1, 2\)"):
            shell.line("assistants use brief --version 7")
        shell.cell("brief", "assistants")
        assert shell.ns["_agent"]["topic"] == "assistants"
    finally:
        shell.line("assistants delete brief")
    with pytest.raises(AssistantNotFound, match="No assistant 'brief'"):
        shell.line("assistants delete brief")
    with pytest.raises(AgentUsageError, match="essay is the default assistant of graph essay"):
        shell.line("assistants delete essay")
    with pytest.raises(AgentUsageError, match="%agent assistants takes one of create, update"):
        shell.line("assistants frob")


def test_store(shell) -> None:
    shell.line('store put tt/ada prefs \'{"color": "blue"}\'')
    shell.line('store put tt/bo prefs \'{"color": "red"}\'')
    shell.line("store namespaces tt")
    assert text(shell).splitlines() == ["2 namespaces under tt", "namespace", "---------", "tt/ada", "tt/bo"]
    shell.line("store search tt")
    assert text(shell).splitlines()[3:] == ['tt/ada     prefs  {"color": "blue"}', 'tt/bo      prefs  {"color": "red"}']
    shell.line("store get tt/ada prefs")
    assert text(shell) == 'tt/ada prefs:\n{\n  "color": "blue"\n}'
    shell.line("store delete tt/ada prefs")
    with pytest.raises(AgentUsageError, match="No key 'prefs' in namespace tt/ada: %agent store search tt/ada lists its keys"):
        shell.line("store get tt/ada prefs")
    with pytest.raises(AgentUsageError, match="No key 'prefs' in namespace tt/ada"):
        shell.line("store delete tt/ada prefs")
    with pytest.raises(AgentUsageError, match="A namespace is written a/b/c"):
        shell.line("store search tt//x")
    shell.line("store delete tt/bo prefs")


@pytest.mark.parametrize(
    "command",
    ["rerun", "continue", "store", "store search", "assistants create", "assistants use", "state", "history"],
)
def test_new_commands_have_help(shell, capsys, command) -> None:
    shell.line(f"{command} --help")
    assert f"%agent {command}" in capsys.readouterr().out


def test_graph_highlights_the_last_run_path(shell) -> None:
    shell.cell("essay", "paths")  # 11 words: no shorten
    shell.line("graph essay --thread essay_thread")
    lines = text(shell).splitlines()
    assert lines[1] == "last run (* on its path): __start__ → outline → write → publish → __end__"
    assert "  write -.-> publish *" in lines and "  write -.-> shorten" in lines
    with pytest.raises(AgentUsageError, match="No variable nope"):
        shell.line("graph essay --thread nope")


def test_resume_is_strict_where_the_server_says_it_can(shell, server) -> None:
    magics = shell.ip.magics_manager.registry["AgentMagics"]
    magics.server_flags.pop(server.url, None)
    shell.cell("approval --new", "ship strict")
    shell.cell("approval --resume", "yes")
    assert magics.server_flags[server.url].get("assistants") is True  # read from /info on the first resume
    assert "strict_resume" not in magics.server_flags[server.url]  # this server does not offer it
    magics.server_flags[server.url]["strict_resume"] = True  # a server that does: the body asks for it
    shell.cell("approval --new", "ship stricter")
    shell.cell("approval --resume", "yes")
    assert shell.ns["_agent"]["result"] == "published: DRAFT: ship stricter"
    magics.server_flags.pop(server.url)


def test_the_live_header_names_each_node_as_it_runs(client) -> None:
    # essay's nodes call no model, so no token tells which one runs: the tasks events every stream carries do.
    from lg_magics.render import run_status
    from lg_magics.request import RunRequest
    from lg_magics.transcript import Transcript

    request = RunRequest("essay", input={"messages": [{"role": "human", "content": "running nodes"}]})
    body = request.body(assistant_id="essay")
    assert body["stream_mode"] == ["messages-tuple", "updates", "tasks"]
    transcript = Transcript(assistant="essay", modes=request.stream_modes)
    shown = []
    with client.stream_run(None, body) as stream:
        for event in stream:
            transcript.apply(event)
            if [run_status(transcript)] != shown[-1:]:
                shown.append(run_status(transcript))
    transcript.finish("success")
    nodes = ["outline", "write", "shorten", "publish"]  # the topic makes a draft long enough to shorten
    assert shown == ["running"] + [status for node in nodes for status in (f"running {node}", "running")]
    assert not any(e.kind == "note" for e in transcript.entries)  # tasks were not asked for: none shows
    assert [e.node for e in transcript.entries if e.kind == "update"] == nodes
