"""What the ``%agent`` inspection commands show: assistants, threads, state, history, graph, info.

Each function asks the server what it needs and returns a mimebundle (HTML
and a deterministic plain-text twin, see :mod:`tables`); the magics only
parse arguments and display. Values are shortened to one line each: the
point is to see at a glance, the full data is one client call away.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any, Optional

from .client import Client
from .exceptions import AgentUsageError, ThreadNotFound
from .protocol import is_uuid
from .result import RunResult
from .tables import Table, bundle
from .transcript import _ROLES, compact, message_text
from .words import plural

#: IPython's own output-cache names (``_``, ``__``, ``_5``, ``_i5``...) are never thread variables.
_CACHE_NAME = re.compile(r"_+|_i+|_i?\d+")


# -- assistants ---------------------------------------------------------------------------------
def assistants_bundle(client: Client) -> dict[str, str]:
    assistants = sorted(client.all_assistants(), key=lambda a: (str(a.get("name")), str(a.get("assistant_id"))))
    rows = [
        [str(a.get("name") or ""), str(a.get("graph_id") or ""), str(a.get("version") or ""), str(a.get("assistant_id"))]
        for a in assistants
    ]
    table = Table(["name", "graph", "version", "assistant ID"], rows, code=frozenset({"assistant ID"}), empty="No assistants.")
    return bundle(f"{plural(len(rows), 'assistant')} on {client.url}", table)


# -- values, shortened --------------------------------------------------------------------------
def message_line(message: Any, limit: int = 60) -> str:
    """``[ai] text`` for a serialized message, on one line."""
    if not isinstance(message, dict):
        return compact(message, limit)
    role = _ROLES.get(str(message.get("type") or message.get("role") or ""), str(message.get("type") or "?"))
    text = message_text(message.get("content"))
    if not text and message.get("tool_calls"):
        text = "calls " + ", ".join(str(c.get("name")) for c in message["tool_calls"] if isinstance(c, dict))
    return f"[{role}] {compact(text, limit)}"


def value_line(key: str, value: Any, limit: int = 60) -> str:
    if key == "messages" and isinstance(value, list):
        if not value:
            return "no messages"
        count = plural(len(value), "message")
        return f"{count}, last {message_line(value[-1], limit)}"
    return compact(value, limit)


def values_summary(values: Any, limit: int = 70) -> str:
    """A whole state on one line: the other keys first (short, telling), then the messages."""
    if not isinstance(values, dict) or not values:
        return "(empty)"
    # Sorted keys: a server's storage (PostgreSQL's JSONB) has its own order, and saved outputs must not depend on it.
    others = ", ".join(f"{k}: {compact(v, 30)}" for k, v in sorted(values.items()) if k != "messages")
    messages = value_line("messages", values["messages"], limit) if "messages" in values else ""
    return compact("; ".join(part for part in (others, messages) if part), limit)


def _interrupts(state: Mapping[str, Any]) -> list[Any]:
    interrupts = state.get("interrupts") or []
    if not interrupts:
        for task in state.get("tasks") or []:
            interrupts += (task or {}).get("interrupts") or []
    return [i.get("value") if isinstance(i, dict) else i for i in interrupts]


# -- threads ------------------------------------------------------------------------------------
def thread_variables(namespace: Mapping[str, Any], hidden: Collection[str] = ()) -> list[tuple[str, str]]:
    """(name, thread ID) for each notebook variable holding a thread ID, by name."""
    found = []
    for name, value in namespace.items():
        if name in hidden or _CACHE_NAME.fullmatch(name) or not isinstance(value, str):
            continue
        if is_uuid(value):
            found.append((name, value))
    return sorted(found)


def thread_status(thread: dict[str, Any]) -> str:
    """A thread's status in the words of run statuses: what its last run left it in
    (``idle``: no run going on, the last one done or none yet)."""
    from .render import STATUS_LABELS
    from .transcript import CANCELLED, ERROR, RUNNING, WAITING

    status = thread.get("status")
    if status == "busy":
        return STATUS_LABELS[RUNNING]
    if status == "error":
        return STATUS_LABELS[ERROR]
    if status == "interrupted":
        # The server says "interrupted" both for a run waiting at interrupt() and for a cancelled one.
        error = thread.get("error")
        cancelled = isinstance(error, dict) and error.get("error") == "UserInterrupt"
        return STATUS_LABELS[CANCELLED if cancelled else WAITING]
    return str(status or "?")


def _thread_row(variable: str, thread_id: str, thread: Optional[dict[str, Any]]) -> list[str]:
    if thread is None:
        return [variable, "", "not on this server", "", thread_id]
    graph = str((thread.get("metadata") or {}).get("graph_id") or "")
    return [variable, graph, thread_status(thread), values_summary(thread.get("values"), 60), thread_id]


def _with_values(client: Client, thread: dict[str, Any]) -> dict[str, Any]:
    """The thread with its values: some servers (Aegra) leave them out of thread records; the state has them."""
    if "values" in thread:
        return thread
    try:
        return {**thread, "values": client.get_state(str(thread["thread_id"])).get("values")}
    except ThreadNotFound:
        return thread


def threads_bundle(
    client: Client, namespace: Mapping[str, Any], *, limit: int = 10, hidden: Collection[str] = ()
) -> dict[str, str]:
    rows, seen = [], set()
    for name, thread_id in thread_variables(namespace, hidden):
        try:
            thread: Optional[dict[str, Any]] = _with_values(client, client.get_thread(thread_id))
        except ThreadNotFound:
            thread = None
        rows.append(_thread_row(name, thread_id, thread))
        seen.add(thread_id)
    mine = len(rows)
    # Ask for as many more as we already list, so that --limit counts only the others.
    found = client.search_threads(limit=limit + len(seen))
    others = [t for t in found if t.get("thread_id") not in seen][:limit]
    rows += [_thread_row("", str(t["thread_id"]), _with_values(client, t)) for t in others]
    columns = ["variable", "graph", "status", "values", "thread ID"]
    table = Table(columns, rows, code=frozenset({"variable", "thread ID"}), empty="No threads.")
    intro = f"{plural(mine, 'thread')} in notebook variables, {len(others)} more on the server (most recently updated first"
    intro += f"; pass --limit N to see more than {limit})" if len(found) >= limit + len(seen) else ")"
    return bundle(intro, table)


def resolve_thread(namespace: Mapping[str, Any], var: Optional[str], hidden: Collection[str] = ()) -> tuple[str, str]:
    """(label, thread ID) for ``%agent state/history [VAR]``.

    VAR is a variable holding a thread ID, or a thread ID itself. Without it:
    the thread of the last run (``_agent``), else the only thread variable.
    """
    if var:
        if is_uuid(var):
            return var, var
        if not var.isidentifier():
            raise AgentUsageError(f"Name a variable that holds a thread ID (such as chat_thread), not {var!r}.")
        if var not in namespace:
            raise AgentUsageError(f"No variable {var}: name one that holds a thread ID, such as chat_thread.")
        value = namespace[var]
        if not is_uuid(value):
            raise AgentUsageError(f"{var} holds a {type(value).__name__}, not a thread ID.")
        return var, str(value)
    last = namespace.get("_agent")
    if isinstance(last, RunResult) and last.thread_id:
        return last.transcript.thread_var or "the last run's thread", last.thread_id
    variables = thread_variables(namespace, hidden)
    if len(variables) == 1:
        return variables[0]
    names = ", ".join(name for name, _ in variables) or "none yet"
    raise AgentUsageError(f"Which thread? Pass a thread variable (thread variables: {names}).")


def _missing(label: str, thread_id: str, client: Client) -> ThreadNotFound:
    return ThreadNotFound(f"Thread {thread_id} ({label}) is not on the server at {client.url}.", 404)


def state_bundle(client: Client, label: str, thread_id: str, *, checkpoint: Optional[str] = None) -> dict[str, str]:
    """A thread's state, or with ``checkpoint`` (a step or ID) the state at that checkpoint: status,
    step, next nodes, values one line each, then the conversation a message a line."""
    from .checkpoints import resolve

    try:
        thread = client.get_thread(thread_id)
        state: Mapping[str, Any] = resolve(client, thread_id, checkpoint, label) if checkpoint else client.get_state(thread_id)
    except ThreadNotFound:
        raise _missing(label, thread_id, client) from None
    metadata = state.get("metadata") or {}
    head = f"{label}: {'at a checkpoint' if checkpoint else thread_status(thread)}"
    if metadata.get("step") is not None:
        head += f" · step {metadata['step']}"
    head += f" · next: {', '.join(state.get('next') or []) or 'none'}"
    values = state.get("values")
    if not isinstance(values, dict):
        values = {}
    rows = [[key, value_line(key, value, 80)] for key, value in sorted(values.items())]
    parts: list[Any] = [head, Table(["key", "value"], rows, empty="No values yet.")]
    messages = values.get("messages")
    if isinstance(messages, list) and messages:
        conversation = [[str(i), message_line(m, 100)] for i, m in enumerate(messages, 1)]
        parts += ["Conversation:", Table(["#", "message"], conversation)]
    parts += [f"Waiting for input: {compact(value, 200)}" for value in _interrupts(state)]
    error = thread.get("error")
    if not checkpoint and thread.get("status") == "error" and isinstance(error, dict):
        parts.append(f"Error: {error.get('error')}: {error.get('message')}")
    return bundle(*parts)


def history_bundle(client: Client, label: str, thread_id: str, *, limit: int = 10) -> dict[str, str]:
    """The current branch numbered by step, newest first: what made each checkpoint and what it changed."""
    from .checkpoints import branch, load_history, rows

    try:
        history = load_history(client, thread_id)
    except ThreadNotFound:
        raise _missing(label, thread_id, client) from None
    chain = branch(history)
    table = Table(
        ["step", "node", "changes", "next", "checkpoint ID"],
        rows(chain, limit),
        code=frozenset({"checkpoint ID"}),
        empty="No checkpoints.",
    )
    intro = f"{label}: {plural(len(chain), 'checkpoint')} on the current branch, newest first"
    if len(chain) > limit:
        intro += f" (the newest {limit}; pass --limit N for more)"
    if len(history) > len(chain):
        intro += f"; {len(history) - len(chain)} more on branches left by forks"
    return bundle(intro, table)


# -- graph --------------------------------------------------------------------------------------
def graph_bundle(
    client: Client, assistant: str, *, xray: bool = False, thread: Optional[tuple[str, str]] = None
) -> dict[str, str]:
    """The assistant's graph; with ``thread`` (label, thread ID) the last run's path highlighted."""
    from .diagram import graph_bundle as draw
    from .runner import assistant_id

    steps = None
    if thread is not None:
        from .checkpoints import branch, last_run_path, load_history

        try:
            steps = last_run_path(branch(load_history(client, thread[1])))
        except ThreadNotFound:
            raise _missing(*thread, client) from None
    # The graph endpoint takes graph names and IDs; a custom assistant's name needs its ID.
    return draw(client.get_graph(assistant_id(client, assistant), xray=xray), assistant, steps)


# -- info ---------------------------------------------------------------------------------------
def server_name(info: Mapping[str, Any]) -> str:
    """The server's name and version as its ``/info`` tells them (langgraph-api's has no name)."""
    name = f"{info.get('name') or 'langgraph-api'} {info.get('version') or '?'}"
    return name + (f", langgraph {info['langgraph_py_version']}" if info.get("langgraph_py_version") else "")


def info_lines(
    client: Client,
    *,
    graphs: Optional[list[str]],
    log: Optional[str],
    key_from: Optional[str],
    settings: Mapping[str, Any],
) -> list[str]:
    """What ``%agent info`` prints. ``graphs`` None: ask the server (it is not the one we served).

    The embedded server's log path (a new temporary folder each time) only on request, so that
    the usual output is the same on every run of a notebook."""
    info = client.info() or {}
    if graphs is None:
        graphs = sorted({str(a.get("graph_id")) for a in client.all_assistants()})
    lines = [
        f"URL: {client.url}",
        f"Server: {server_name(info)}",
        f"Graphs: {', '.join(sorted(graphs)) or 'none'}",
        f"API key: {'from ' + key_from + ' (never shown)' if key_from else 'none'}",
    ]
    lines += [f"{name}: {value}" for name, value in settings.items()]
    return lines + ([f"Log: {log}"] if log else [])


def check_limit(limit: int) -> int:
    if not 1 <= limit <= 1000:
        raise AgentUsageError(f"--limit takes a number from 1 to 1000, not {limit}.")
    return limit
