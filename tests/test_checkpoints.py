"""Naming checkpoints by step, the current branch, compact diffs, breakpoints: pure, no server."""

from __future__ import annotations

import pytest

from lg_magics.checkpoints import branch, check_nodes, diff, find, node_of, parse_breakpoints, pause_point, rows
from lg_magics.exceptions import AgentUsageError


def cp(cid: str, step: int, parent: str | None, *, source: str = "loop", values=None, next=(), tasks=()):  # noqa: A002
    return {
        "checkpoint_id": cid,
        "parent_checkpoint_id": parent,
        "metadata": {"step": step, "source": source},
        "values": values or {},
        "next": list(next),
        "tasks": [{"name": t} for t in tasks],
    }


# A fork at step 1: the old branch (b2, b3) stays in the history, newer checkpoints (c2, c3) are on top.
HISTORY = [
    cp("c3", 3, "c2", values={"plan": ["x"], "words": 2}),
    cp("c2", 2, "a1", source="update", values={"plan": ["x"]}, next=["write"], tasks=["write"]),
    cp("b3", 3, "b2", values={"plan": ["a", "b"], "words": 9}),
    cp("b2", 2, "a1", values={"plan": ["a", "b"]}, next=["write"], tasks=["write"]),
    cp("a1", 1, "a0", values={"plan": ["a", "b"]}, next=["write"], tasks=["write"]),
    cp("a0", 0, None, values={}, next=["outline"], tasks=["outline"]),
]


def test_the_current_branch_follows_parents_from_the_newest() -> None:
    assert [c["checkpoint_id"] for c in branch(HISTORY)] == ["c3", "c2", "a1", "a0"]
    assert branch([]) == []


def test_a_step_names_the_checkpoint_of_the_current_branch_and_an_id_any() -> None:
    assert find(HISTORY, "2", "t")["checkpoint_id"] == "c2"
    assert find(HISTORY, " 1 ", "t")["checkpoint_id"] == "a1"
    assert find(HISTORY, "b3", "t")["checkpoint_id"] == "b3"  # an ID reaches an older branch too
    with pytest.raises(AgentUsageError, match=r"No step 7 on the current branch of t \(steps 0 to 3\): %agent history t"):
        find(HISTORY, "7", "t")
    with pytest.raises(AgentUsageError, match="No checkpoint 'zz' on t"):
        find(HISTORY, "zz", "t")


def test_node_of_a_checkpoint() -> None:
    chain = branch(HISTORY)
    assert node_of(chain[0], chain[1]) == "write"  # the task its parent ran
    assert node_of(chain[1], chain[2]) == "edit"
    assert node_of(cp("i", -1, None, source="input"), None) == "input"
    assert node_of(cp("f", 2, "a1", source="fork"), chain[2]) == "fork"


def test_compact_diff() -> None:
    assert diff({"a": 1, "b": "x"}, {"a": 2, "c": [1]}) == "-b; +c: [1]; a: 1 → 2"
    assert diff({"a": 1}, {"a": 1}) == "-"
    human = {"type": "human", "content": "hi", "id": "1"}
    ai = {"type": "ai", "content": "hello there", "id": "2"}
    assert diff({"messages": [human]}, {"messages": [human, ai]}) == "+1 message [ai] hello there"
    assert diff(None, {"messages": [human]}) == "+1 message [human] hi"
    assert len(diff({}, {"k": "word " * 100, "j": "word " * 100}, 40)) == 40


def test_history_rows() -> None:
    table = rows(branch(HISTORY), 2)
    assert table == [["3", "write", "+words: 2", "-", "c3"], ["2", "edit", 'plan: ["a", "b"] → ["x"]', "write", "c2"]]


def test_breakpoints() -> None:
    assert parse_breakpoints(None) is None
    assert parse_breakpoints(["a", "b", "a"]) == ["a", "b"]
    assert parse_breakpoints(["a", "*"]) == "*"
    assert pause_point(["write"], ["write"], None, "outline") == "before write"
    assert pause_point(["write"], "*", None, "outline") == "before write"
    assert pause_point(["shorten"], None, ["write"], "write") == "after write"
    check_nodes(["write"], ["outline", "write"], "--interrupt-before")
    check_nodes("*", ["outline"], "--interrupt-before")
    with pytest.raises(AgentUsageError, match="--interrupt-after: no node nope in this graph; its nodes are outline, write"):
        check_nodes(["nope"], ["outline", "write"], "--interrupt-after")


def test_the_last_run_path_and_its_highlight() -> None:
    from lg_magics.diagram import graph_bundle

    def run(cid, step, parent, run_id, *, source="loop", next=(), tasks=()):  # noqa: A002
        checkpoint = cp(cid, step, parent, source=source, next=next, tasks=tasks)
        checkpoint["metadata"]["run_id"] = run_id
        return checkpoint

    chain = [
        run("r3", 3, "r2", "B"),
        run("r2", 2, "r1", "B", next=["b"], tasks=["b"]),
        run("r1", 1, "r0", "B", source="fork", next=["a"], tasks=["a"]),
        run("r0", 0, None, "A", next=["a"], tasks=["a"]),
    ]
    from lg_magics.checkpoints import last_run_path

    # Run B started from a fork of step 0 (the fork is no step of its own), ran a then b, and ended.
    assert last_run_path(chain) == [["a"], ["b"], ["__end__"]]
    assert last_run_path(chain[1:]) == [["a"]]  # paused before b: not at the end
    assert last_run_path([cp("x", 0, None)]) == []  # no run yet
    graph = {
        "nodes": [{"id": n} for n in ("__start__", "a", "b", "c", "__end__")],
        "edges": [
            {"source": "__start__", "target": "a"},
            {"source": "a", "target": "b", "conditional": True},
            {"source": "a", "target": "c", "conditional": True},
            {"source": "b", "target": "__end__"},
            {"source": "c", "target": "__end__"},
        ],
    }
    shown = graph_bundle(graph, "g", [["a"], ["b"], ["__end__"]])
    assert shown["text/plain"].splitlines()[1:] == [
        "last run (* on its path): a → b → __end__",
        "  __start__ --> a",
        "  a -.-> b *",
        "  a -.-> c",
        "  b --> __end__ *",
        "  c --> __end__",
    ]
    assert "  class n1,n2,n4 path" in shown["text/markdown"] and "  linkStyle 1,3 stroke:#d97706" in shown["text/markdown"]
    assert shown["image/svg+xml"].count('stroke="#d97706" stroke-width="2.2"') == 2
    assert "last run" not in graph_bundle(graph, "g")["text/plain"]


def test_run_body_carries_the_checkpoint_breakpoints_and_strict_resume() -> None:
    from lg_magics.request import RunRequest

    request = RunRequest("essay", checkpoint="3", interrupt_before=["write"], interrupt_after="*")
    body = request.body(thread="existing", checkpoint_id="abc")
    # ``checkpoint``, not ``checkpoint_id``: langgraph-api takes both, Aegra only this one.
    assert body["checkpoint"] == {"checkpoint_id": "abc"} and "checkpoint_id" not in body
    assert body["interrupt_before"] == ["write"] and body["interrupt_after"] == "*"
    assert "input" not in body and "command" not in body  # no new input: the thread goes on
    # Going on with no input: an empty checkpoint, which Aegra needs and both read as the current one.
    assert RunRequest("essay").body(thread="existing")["checkpoint"] == {}
    assert "checkpoint" not in RunRequest("essay", input={"x": 1}).body(thread="existing")
    assert "strict_resume" not in RunRequest("a", command={"resume": 1}).body(thread="existing")
    assert RunRequest("a", command={"resume": 1}, strict_resume=True).body(thread="existing")["strict_resume"] is True
    assert "strict_resume" not in RunRequest("a", input={}, strict_resume=True).body(thread="existing")


def test_the_header_says_which_node_runs_now() -> None:
    from lg_magics.protocol import Event
    from lg_magics.render import run_status
    from lg_magics.transcript import Transcript

    t = Transcript(assistant="chat")
    t.apply(Event("metadata", {"run_id": "r"}))
    assert run_status(t) == "running"
    t.apply(Event("messages", [{"type": "AIMessageChunk", "content": "Hi", "id": "m"}, {"langgraph_node": "respond"}]))
    assert run_status(t) == "running respond"
    t.apply(Event("updates", {"respond": {"messages": [{"type": "ai", "content": "Hi", "id": "m"}]}}))
    assert run_status(t) == "running"  # respond is done; what runs next has said nothing yet
    t.apply(Event("tasks", {"name": "write", "input": {}}))
    assert run_status(t) == "running write"
    t.finish()
    assert run_status(t) == "done" and t.running == ""


def test_tasks_asked_for_only_to_name_the_running_node_show_nothing_else() -> None:
    from lg_magics.protocol import Event
    from lg_magics.render import run_status
    from lg_magics.request import RunRequest
    from lg_magics.transcript import Transcript

    assert RunRequest("a").body()["stream_mode"] == ["messages-tuple", "updates", "tasks"]
    assert RunRequest("a", stream_modes=("debug",)).body()["stream_mode"] == ["debug"]  # debug says it already
    t = Transcript(assistant="essay", modes=("updates",))
    t.apply(Event("tasks", {"id": "1", "name": "write", "input": {"plan": ["a"]}, "triggers": []}))
    assert run_status(t) == "running write" and t.entries == []
    t.apply(Event("tasks", {"id": "1", "name": "write", "error": None, "result": {"draft": "x"}, "interrupts": []}))
    assert run_status(t) == "running" and t.entries == []  # the update line says what write wrote
    shown = Transcript(assistant="essay", modes=("updates", "tasks"))
    shown.apply(Event("tasks", {"id": "1", "name": "write", "input": {}, "triggers": []}))
    assert [e.text for e in shown.entries] == ["task write started"]
    # debug, for which no tasks are asked, says it too.
    debug = Transcript(assistant="essay", modes=("debug",))
    debug.apply(Event("debug", {"type": "task", "step": 2, "payload": {"id": "1", "name": "write", "input": {}}}))
    assert run_status(debug) == "running write"
    debug.apply(Event("debug", {"type": "task_result", "step": 2, "payload": {"id": "1", "name": "write", "result": {}}}))
    assert run_status(debug) == "running"


class _Runs:
    """The two calls last_run_defaults makes, answering with one run record."""

    def __init__(self, run: dict) -> None:
        self.run = run

    def list_runs(self, thread_id: str, *, limit: int = 10) -> list[dict]:
        return [self.run]

    def get_assistant(self, assistant_id: str) -> dict:
        return {"name": "essay"}


def test_continue_takes_the_breakpoints_from_the_run_record_else_from_this_kernel() -> None:
    from lg_magics.checkpoints import last_run_defaults

    sent = {"t": ("r1", None, "*")}
    # langgraph-api keeps a run's arguments in its record: they win.
    record = _Runs({"run_id": "r1", "assistant_id": "a", "kwargs": {"interrupt_before": ["write"]}})
    assert last_run_defaults(record, "t", "t", {}, sent) == ("essay", ["write"], None)
    # Aegra's run record has no kwargs: the breakpoints this kernel sent with that very run.
    assert last_run_defaults(_Runs({"run_id": "r1", "assistant_id": "a"}), "t", "t", {}, sent) == ("essay", None, "*")
    # ... and none when the last run is not the one this kernel started (another kernel's).
    assert last_run_defaults(_Runs({"run_id": "r2", "assistant_id": "a"}), "t", "t", {}, sent) == ("essay", None, None)
