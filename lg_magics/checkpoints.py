"""Checkpoints you can name: a thread's current branch numbered by step, what each step changed,
and where a run paused. Pure: no I/O (the caller fetches the history).

A thread's history lists every checkpoint, of every branch a fork left behind, newest first. The
*current branch* is the chain of parents from the newest one; on it each step number (the
checkpoint's ``metadata.step``) names one checkpoint, so ``3`` means the same checkpoint until the
thread forks before it. A checkpoint can also be named by its ID.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Optional

from .exceptions import AgentUsageError
from .transcript import compact
from .words import plural

Checkpoint = Mapping[str, Any]

#: How many checkpoints to read to name one: the whole branch of any thread a notebook makes.
HISTORY_LIMIT = 1000


def checkpoint_id(checkpoint: Checkpoint) -> str:
    return str(checkpoint.get("checkpoint_id") or (checkpoint.get("checkpoint") or {}).get("checkpoint_id") or "")


def parent_id(checkpoint: Checkpoint) -> Optional[str]:
    parent = checkpoint.get("parent_checkpoint_id") or (checkpoint.get("parent_checkpoint") or {}).get("checkpoint_id")
    return str(parent) if parent else None


def step_of(checkpoint: Checkpoint) -> Optional[int]:
    step = (checkpoint.get("metadata") or {}).get("step")
    return step if isinstance(step, int) else None


def branch(history: Sequence[Checkpoint]) -> list[Checkpoint]:
    """The current branch, newest first: the newest checkpoint and its parents, as far as ``history`` goes."""
    if not history:
        return []
    by_id = {checkpoint_id(c): c for c in history}
    chain: list[Checkpoint] = []
    current: Optional[Checkpoint] = history[0]
    while current is not None and len(chain) < len(history):
        chain.append(current)
        parent = parent_id(current)
        current = by_id.get(parent) if parent else None
    return chain


def node_of(checkpoint: Checkpoint, parent: Optional[Checkpoint]) -> str:
    """What made the checkpoint: the nodes that ran from its parent, ``input``, ``edit`` (a state
    update) or ``fork`` (a copy of an earlier checkpoint that a run started from)."""
    source = (checkpoint.get("metadata") or {}).get("source")
    if source == "input":
        return "input"
    if source == "update":
        return "edit"
    if source == "fork":
        return "fork"
    return ", ".join(ran(parent))


def ran(parent: Optional[Checkpoint]) -> list[str]:
    """The nodes that ran from ``parent`` (its tasks) to make the next checkpoint."""
    if parent is None:
        return []
    names = [str(t.get("name")) for t in parent.get("tasks") or [] if isinstance(t, dict) and t.get("name")]
    return names or [str(n) for n in parent.get("next") or []]


def last_run_path(chain: Sequence[Checkpoint]) -> list[list[str]]:
    """The nodes the newest run on a branch (newest first) went through, step by step, oldest first:
    ``[["__start__"], ["outline"], ["write"], ["__end__"]]``. ``__end__`` when the run got there."""
    run_ids = [(c.get("metadata") or {}).get("run_id") for c in chain]
    run_id = next((r for r in run_ids if r), None)
    if run_id is None:
        return []
    steps: list[list[str]] = []
    for index in range(len(chain) - 1, -1, -1):
        checkpoint = chain[index]
        metadata = checkpoint.get("metadata") or {}
        if metadata.get("run_id") != run_id or metadata.get("source") != "loop":
            continue
        names = ran(chain[index + 1] if index + 1 < len(chain) else None)
        if names:
            steps.append(names)
    newest = next((c for c in chain if (c.get("metadata") or {}).get("run_id") == run_id), None)
    if steps and newest is not None and not newest.get("next"):
        steps.append(["__end__"])
    return steps


def diff(before: Any, after: Any, limit: int = 80) -> str:
    """What changed between two states, on one line: ``+key: value``, ``key: old → new``, ``-key``;
    messages as ``+1 message [ai] …``."""
    old = before if isinstance(before, dict) else {}
    new = after if isinstance(after, dict) else {}
    parts = []
    for key, value in new.items():
        if key not in old:
            if key == "messages" and isinstance(value, list):
                parts.append(_messages_change([], value))
            else:
                parts.append(f"+{key}: {compact(value, 30)}")
        elif old[key] != value:
            if key == "messages" and isinstance(value, list) and isinstance(old[key], list):
                parts.append(_messages_change(old[key], value))
            else:
                parts.append(f"{key}: {compact(old[key], 20)} → {compact(value, 30)}")
    parts += [f"-{key}" for key in old if key not in new]
    # Short changes first, so that a long value cut at the limit does not hide them.
    return compact("; ".join(sorted((p for p in parts if p), key=len)), limit) if any(parts) else "-"


def _messages_change(old: list[Any], new: list[Any]) -> str:
    from .inspection import message_line  # pure, but inspection imports this module

    ids = {m.get("id") for m in old if isinstance(m, dict) and m.get("id")}
    added = [m for m in new if not (isinstance(m, dict) and m.get("id") in ids)]
    removed = len(old) - (len(new) - len(added))
    if not added and removed <= 0:
        return "messages reordered" if old != new else ""
    parts = []
    if added:
        parts.append(f"+{plural(len(added), 'message')} {message_line(added[-1], 40)}")
    if removed > 0:
        parts.append(f"-{plural(removed, 'message')}")
    return ", ".join(parts)


def rows(chain: Sequence[Checkpoint], limit: int) -> list[list[str]]:
    """History rows for the newest ``limit`` checkpoints of a branch: step, node, changes, next, ID."""
    out = []
    for index, checkpoint in enumerate(chain[:limit]):
        parent = chain[index + 1] if index + 1 < len(chain) else None
        step = step_of(checkpoint)
        if (checkpoint.get("metadata") or {}).get("source") == "input":
            changes = "in: " + compact(_input_of(checkpoint), 66)
        else:
            changes = diff(parent.get("values") if parent else None, checkpoint.get("values"), 70)
        waiting = " (waiting for input)" if _waiting(checkpoint) else ""
        out.append(
            [
                "" if step is None else str(step),
                node_of(checkpoint, parent),
                changes,
                (", ".join(checkpoint.get("next") or []) or "-") + waiting,
                checkpoint_id(checkpoint),
            ]
        )
    return out


def _input_of(checkpoint: Checkpoint) -> Any:
    """A run's input, as its input checkpoint's ``__start__`` task holds it; messages as ``[human] text``."""
    from .inspection import message_line

    for task in checkpoint.get("tasks") or []:
        if isinstance(task, dict) and task.get("name") == "__start__":
            result = task.get("result")
            messages = result.get("messages") if isinstance(result, dict) else None
            if isinstance(result, dict) and isinstance(messages, list) and len(result) == 1:
                return " ".join(message_line(m, 50) for m in messages)
            return result
    return None


def _waiting(checkpoint: Checkpoint) -> bool:
    return any((t or {}).get("interrupts") for t in checkpoint.get("tasks") or [] if isinstance(t, dict))


def find(history: Sequence[Checkpoint], name: str, label: str) -> Checkpoint:
    """The checkpoint a step number on the current branch or a checkpoint ID names (``label``: the
    thread's variable, for the message)."""
    name = name.strip()
    chain = branch(history)
    try:
        number: Optional[int] = int(name)
    except ValueError:
        number = None
    if number is not None:
        for checkpoint in chain:
            if step_of(checkpoint) == number:
                return checkpoint
        steps = [s for s in (step_of(c) for c in chain) if s is not None]
        known = f"steps {min(steps)} to {max(steps)}" if steps else "no checkpoints yet"
        raise AgentUsageError(f"No step {number} on the current branch of {label} ({known}): %agent history {label} lists them.")
    for checkpoint in history:
        if checkpoint_id(checkpoint) == name:
            return checkpoint
    raise AgentUsageError(
        f"No checkpoint {name!r} on {label}: name one by its step number or its ID from %agent history {label}."
    )


def pause_point(next_nodes: Sequence[str], before: Any, after: Any, last_node: Optional[str]) -> str:
    """Where a run stopped at a breakpoint, in words: ``before write`` or ``after outline``."""
    before_list = list(before) if isinstance(before, (list, tuple)) else []
    pending = [n for n in next_nodes if before == "*" or n in before_list]
    if pending:
        return "before " + ", ".join(pending)
    if last_node:
        return f"after {last_node}"
    return "before " + ", ".join(next_nodes)


def parse_breakpoints(nodes: Optional[Sequence[str]]) -> Any:
    """``--interrupt-before A B`` as the API takes it: a list of nodes, or ``"*"`` for every node."""
    # IPython keeps the quotes of a quoted argument ('*', written so that a shell would not expand it).
    names = [n.strip("'\"") for n in nodes or ()]
    if not names:
        return None
    if "*" in names:
        return "*"
    return list(dict.fromkeys(names))


def check_nodes(breakpoints: Any, known: Sequence[str], flag: str) -> None:
    """Every node a breakpoint names is in the graph (the server accepts unknown ones silently)."""
    if not isinstance(breakpoints, list):
        return
    unknown = [n for n in breakpoints if n not in known]
    if unknown:
        raise AgentUsageError(
            f"{flag}: no node {', '.join(unknown)} in this graph; its nodes are {', '.join(known)} (or * for all)."
        )


# -- what the commands ask the server -------------------------------------------------------------
def load_history(client: Any, thread_id: str) -> list[dict[str, Any]]:
    """Every checkpoint of the thread (all branches), newest first."""
    return list(client.get_history(thread_id, limit=HISTORY_LIMIT))


def resolve(client: Any, thread_id: str, name: str, label: str) -> Checkpoint:
    """The checkpoint ``name`` (a step or an ID) names on the thread."""
    return find(load_history(client, thread_id), name, label)


def graph_nodes(client: Any, assistant: str) -> list[str]:
    """The graph's node names, without ``__start__`` and ``__end__`` (a graph name or assistant name/ID)."""
    from .runner import assistant_id

    graph = client.get_graph(assistant_id(client, assistant))
    return [str(n.get("id")) for n in graph.get("nodes") or [] if not str(n.get("id")).startswith("__")]


def last_run(client: Any, thread_id: str) -> Optional[dict[str, Any]]:
    """The thread's newest run, or None."""
    runs = client.list_runs(thread_id, limit=1)
    return runs[0] if runs else None


def last_run_defaults(
    client: Any,
    thread_id: str,
    label: str,
    namespace: Mapping[str, Any],
    sent: Mapping[str, tuple[Optional[str], Any, Any]],
) -> tuple[str, Any, Any]:
    """(assistant, interrupt_before, interrupt_after) of the thread's last run, for a run that goes
    on with no new input. The assistant by the name the notebook used when the last run was ours.
    ``sent``: thread ID -> (run ID, before, after) of the last run this kernel started on it, the
    breakpoints where the server's run record has no ``kwargs`` (Aegra keeps no run arguments)."""
    from .result import RunResult

    run = last_run(client, thread_id)
    if run is None:
        raise AgentUsageError(f"{label} has no runs yet: send it a message with %%agent ASSISTANT --thread {label}.")
    kwargs = run.get("kwargs")
    if kwargs is None:
        run_id, before, after = sent.get(thread_id) or (None, None, None)
        kwargs = {"interrupt_before": before, "interrupt_after": after} if run_id == run.get("run_id") else {}
    last = namespace.get("_agent")
    if isinstance(last, RunResult) and last.thread_id == thread_id and last.transcript.assistant:
        name = last.transcript.assistant
    else:
        name = str(client.get_assistant(run["assistant_id"]).get("name") or run["assistant_id"])
    return name, kwargs.get("interrupt_before"), kwargs.get("interrupt_after")


def check_paused(state: Mapping[str, Any], label: str) -> None:
    """``%agent continue`` goes on from a breakpoint: the thread must have nodes to run and no question."""
    if state.get("interrupts"):
        raise AgentUsageError(f"{label} is waiting for input, not at a breakpoint: answer with %%agent ASSISTANT --resume.")
    if not state.get("next"):
        raise AgentUsageError(
            f"{label} is not paused (no node is next): send a message with %%agent, or re-run a step with %agent rerun."
        )


def edit_state(
    client: Any,
    label: str,
    thread_id: str,
    values: dict[str, Any],
    *,
    as_node: Optional[str] = None,
    checkpoint: Optional[str] = None,
) -> dict[str, str]:
    """Write ``values`` as a new checkpoint of the thread (``POST /threads/{id}/state``) and show it
    as a row of the history: the next run continues from it."""
    from .tables import Table, bundle

    if as_node:
        graph = str((client.get_thread(thread_id).get("metadata") or {}).get("graph_id") or "")
        if graph:
            nodes = graph_nodes(client, graph)
            if as_node not in nodes:
                raise AgentUsageError(f"--as-node: no node {as_node} in graph {graph}; its nodes are {', '.join(nodes)}.")
    start = checkpoint_id(resolve(client, thread_id, checkpoint, label)) if checkpoint else None
    written = checkpoint_id(client.update_state(thread_id, values, as_node=as_node, checkpoint_id=start))
    chain = branch(load_history(client, thread_id))
    position = next((i for i, c in enumerate(chain) if checkpoint_id(c) == written), 0)
    new_rows = rows(chain[position:], 1)
    step = new_rows[0][0] if new_rows else "?"
    nexts = new_rows[0][3] if new_rows else "-"
    head = f"{label}: wrote {', '.join(values) or 'nothing'}{' as ' + as_node if as_node else ''} → step {step}, next: {nexts}"
    columns = ["step", "node", "changes", "next", "checkpoint ID"]
    return bundle(head, Table(columns, new_rows, code=frozenset({"checkpoint ID"})))
