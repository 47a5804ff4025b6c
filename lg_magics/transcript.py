"""Fold a run's events into a transcript: what happened, in order, with no I/O.

The live widget, the plain-text summary, ``--wait``, background runs and
replay all read the same :class:`Transcript`. It knows nothing of widgets,
HTTP or time, so every rule here is tested with plain data.

Rules that matter:

* A message is one entry however it arrives (``messages`` chunks, a node's
  ``updates``, ``values``): entries are keyed by message id, so a streamed
  message is finalized in place when its node's update arrives.
* Messages that were on the thread before the run (history) are never shown:
  ids in ``hidden`` and, for a run that streams ``values``, every message of
  the first ``values`` event except the run's own input.
* The run's input is shown at once; when the server echoes it with an id,
  the echo is matched to the input entry by content.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

from .content import Content, add_usage, plain_text
from .forms import answer_hint
from .protocol import Event

#: Statuses, in the words the views use. A run at an interrupt "waits"; the
#: server calls a cancelled run "interrupted", we call it "cancelled".
PENDING, RUNNING, SUCCESS, WAITING, ERROR, CANCELLED = "pending", "running", "success", "waiting", "error", "cancelled"
#: A run that stopped at a breakpoint (--interrupt-before/--interrupt-after): ``Transcript.paused`` says where.
PAUSED = "paused"
FINAL_STATUSES = (SUCCESS, WAITING, ERROR, CANCELLED, PAUSED)
_SERVER_STATUS = {"success": SUCCESS, "error": ERROR, "timeout": ERROR, "interrupted": CANCELLED}
_ROLES = {"human": "human", "user": "human", "ai": "ai", "assistant": "ai", "tool": "tool", "system": "system"}


def message_text(content: Any) -> str:
    """The text of a message's content, which may be a string or a list of content blocks."""
    if content is None:
        return ""
    if isinstance(content, (str, list)):
        return plain_text(content)
    return str(content)


#: The most characters of an input the views show: a 5 MB cell is sent whole, shown abbreviated.
SHOWN_INPUT = 10_000


def shown_input(text: str) -> str:
    if len(text) <= SHOWN_INPUT:
        return text
    return f"{text[:SHOWN_INPUT]}\n… [{len(text) - SHOWN_INPUT:,} more characters, sent in full]"


def compact(value: Any, limit: int = 80) -> str:
    """A short one-line rendering of any JSON value."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class Entry:
    """One thing shown in a run's view, in order.

    A message keeps its content in :attr:`body` (text, reasoning, tool calls, images, usage, model),
    folded from chunks or taken from a whole message; every other kind keeps a line of ``text``.
    """

    def __init__(
        self,
        kind: str,  # message | update | state | interrupt | error | custom | note
        *,
        role: str = "",  # for messages: human, ai, tool, system
        text: Any = "",
        node: str = "",
        id: Optional[str] = None,
        name: str = "",  # a tool message's tool name
        data: Any = None,  # interrupts: the payload; custom: the value; update/state: {key: value}
        is_input: bool = False,
    ) -> None:
        self.kind, self.role, self.node, self.id, self.name, self.data = kind, role, node, id, name, data
        self.is_input = is_input
        self.streaming = False
        self.removed = False  # a RemoveMessage took it out of the thread
        self.status = ""  # a tool message's status ("error")
        self.version = 0  # bumped on every change, so views redraw only what changed
        self.ids: list[str] = [id] if id else []  # every id a streamed message was sent under
        self.body = Content()
        self._line = ""
        if kind == "message":
            if text or not isinstance(text, str):  # content blocks, or a text that says something
                self.body.replace({"content": text})
        else:
            self._line = str(text)

    def __repr__(self) -> str:
        return f"Entry({self.kind!r}, role={self.role!r}, node={self.node!r}, text={compact(self.text, 40)!r})"

    @property
    def text(self) -> str:
        return self.body.text if self.kind == "message" else self._line

    @property
    def reasoning(self) -> str:
        return self.body.reasoning

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return self.body.tool_calls

    @property
    def usage(self) -> Optional[dict[str, int]]:
        return self.body.usage

    @property
    def model(self) -> str:
        return self.body.model

    def touch(self) -> None:
        self.version += 1


@dataclass
class Transcript:
    """Everything a run produced so far. Feed it events with :meth:`apply`."""

    assistant: str = ""
    thread_var: Optional[str] = None
    modes: tuple[str, ...] = ()
    entries: list[Entry] = field(default_factory=list)
    status: str = PENDING
    run_id: Optional[str] = None
    thread_id: Optional[str] = None
    values: Optional[dict[str, Any]] = None
    interrupts: list[dict[str, Any]] = field(default_factory=list)
    error: Optional[dict[str, Any]] = None
    hidden: set[str] = field(default_factory=set)
    events: int = 0
    paused: str = ""  # "before write", "after outline"
    running: str = ""  # the node running now, as far as the stream tells (its tokens, its task)
    silent: int = 0  # seconds without an event while the run goes on (the live view says so)
    _by_id: dict[str, Entry] = field(default_factory=dict, repr=False)
    _nodes: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)  # metadata that came before its message
    _open: dict[str, Entry] = field(default_factory=dict, repr=False)  # the message each model call is streaming
    _partials: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)  # legacy mode: the latest per id
    _seen_values: bool = field(default=False, repr=False)
    _in_values: set[str] = field(default_factory=set, repr=False)  # ids a values snapshot listed

    # -- building ------------------------------------------------------------------------------
    def add_input(self, content: Any, role: str = "human") -> None:
        """The run's input as the user wrote it: text (a huge one abbreviated: the request still sends
        it whole), or a message's content blocks (a multimodal ``--json``)."""
        shown = shown_input(content) if isinstance(content, str) else content
        self.entries.append(Entry("message", role=role, text=shown, is_input=True))

    def note(self, text: str) -> None:
        self.entries.append(Entry("note", text=text))

    @property
    def messages(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "message" and not e.removed]

    @property
    def last_ai_text(self) -> Optional[str]:
        for entry in reversed(self.entries):
            if entry.kind == "message" and entry.role == "ai" and entry.text and not entry.removed:
                return entry.text
        return None

    @property
    def usage(self) -> Optional[dict[str, int]]:
        """Tokens of the run's model calls, summed (None when no message reported usage)."""
        total = None
        for entry in self.messages:
            total = add_usage(total, entry.usage)
        return total

    @property
    def reasoning(self) -> Optional[str]:
        """The reasoning of the run's AI messages, in order (None when there was none)."""
        parts = [e.reasoning for e in self.messages if e.role == "ai" and e.reasoning]
        return "\n\n".join(parts) if parts else None

    @property
    def model(self) -> Optional[str]:
        """The model of the last AI message that named one."""
        return next((e.model for e in reversed(self.messages) if e.model), None)

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES

    # -- folding -------------------------------------------------------------------------------
    def apply(self, event: Event) -> None:
        """Fold one server-sent event into the transcript."""
        self.events += 1
        if self.status == PENDING:
            self.status = RUNNING
        mode, ns = event.mode, event.namespace
        data = event.data
        if mode == "metadata":
            if isinstance(data, dict) and data.get("run_id") and "status" not in data:
                self.run_id = self.run_id or data["run_id"]
        elif mode == "messages":
            self._on_message_tuple(data, ns)
        elif mode == "messages/partial":
            for message in data or []:
                if isinstance(message, dict):
                    self._partial(message, ns)
        elif mode == "messages/complete":
            for message in data or []:
                if isinstance(message, dict):
                    meta = self._nodes.pop(str(message.get("id")), {})
                    self._whole(message, node=_node_name(meta.get("langgraph_node", ""), ns), slot=_slot(meta, ns))
        elif mode == "messages/metadata":
            for message_id, meta in (data or {}).items():
                self._node_hint(message_id, (meta or {}).get("metadata") or {}, ns)
        elif mode == "updates":
            self._on_updates(data, ns)
        elif mode == "values":
            self._on_values(data, ns)
        elif mode == "custom":
            self.entries.append(Entry("custom", data=data, node=_ns_label(ns)))
        elif mode in ("tasks", "debug", "checkpoints", "events"):
            self._on_detail(mode, data, ns)
        elif mode == "error":
            self.fail(data if isinstance(data, dict) else {"error": "Error", "message": str(data)})
        # Unknown event names are counted, never fatal: servers add modes over time.

    def apply_wait_result(self, result: Any) -> None:
        """Fold the JSON body of a ``/runs/wait`` call (final values, ``__interrupt__`` or ``__error__``)."""
        if self.status == PENDING:
            self.status = RUNNING
        if isinstance(result, dict) and "__error__" in result:
            self.fail(result["__error__"] if isinstance(result["__error__"], dict) else {"message": str(result["__error__"])})
            return
        self._seen_values = True  # a wait result is the final state, not the pre-run snapshot
        self._on_values(result, ())
        self._add_state()

    def fail(self, error: dict[str, Any]) -> None:
        if error.get("error") == "UserInterrupt":  # how langgraph-api on PostgreSQL reports a cancelled run
            self.status = CANCELLED
            return
        self.error = {"error": str(error.get("error") or "Error"), "message": str(error.get("message") or "")}
        self.status = ERROR
        self.entries.append(Entry("error", data=self.error))

    def finish(
        self, server_status: Optional[str] = None, state: Optional[dict[str, Any]] = None, cancelled: bool = False
    ) -> None:
        """Close the run after the stream ended: server-side run status and thread state, when known."""
        if state is not None:
            values = state.get("values")
            if isinstance(values, dict):
                self.values = values
            pending = state.get("interrupts") or []
            if pending and not self.interrupts:
                self._add_interrupts(pending)
        self.running = ""
        for entry in self.entries:
            # Legacy ``messages`` mode never completes a streamed message, and a cancelled run
            # stops mid-message: either way the text is all there will be.
            if entry.streaming:
                entry.streaming = False
                entry.touch()
        self._open.clear()
        if self.modes and "values" in self.modes and "updates" not in self.modes:
            self._add_state()  # the run streamed states but no node updates: show what it ended with
        if self.status == ERROR:
            return
        # A run that stopped at interrupts waits, whatever word its server uses for that (Aegra: "interrupted").
        if cancelled or self.status == CANCELLED:
            self.status = CANCELLED
        elif self.interrupts:
            self.status = WAITING
        elif server_status == "interrupted":
            self.status = CANCELLED
        elif server_status in ("error", "timeout"):
            self.fail({"error": server_status.capitalize(), "message": f"the run ended with status {server_status}"})
        else:
            self.status = _SERVER_STATUS.get(server_status or "success", SUCCESS)

    # -- helpers -------------------------------------------------------------------------------
    def _shows(self, mode: str) -> bool:
        return not self.modes or mode in self.modes

    def _add_state(self) -> None:
        """The final state's keys other than messages, once (a graph without messages shows its output)."""
        others = {k: v for k, v in (self.values or {}).items() if k != "messages"}
        if others and not any(e.kind == "state" for e in self.entries):
            self.entries.append(Entry("state", data=others))

    def _on_message_tuple(self, data: Any, ns: tuple[str, ...]) -> None:
        if not (isinstance(data, list) and data and isinstance(data[0], dict)):
            return
        message = data[0]
        meta = data[1] if len(data) > 1 and isinstance(data[1], dict) else {}
        node = _node_name(meta.get("langgraph_node", ""), ns)
        if str(message.get("type", "")).endswith("Chunk"):
            self.running = node or self.running  # the node whose model streams is the node running now
            self._chunk(message, meta, node, _slot(meta, ns))
        else:
            self._whole(message, node=node, slot=_slot(meta, ns), meta=meta)

    def _on_updates(self, data: Any, ns: tuple[str, ...]) -> None:
        if not isinstance(data, dict):
            return
        for node, value in data.items():
            if node == "__interrupt__":
                self._add_interrupts(value or [])
                continue
            label = _node_name(node, ns)
            if self.running == label:
                self.running = ""  # its update is its end
            for values in value if isinstance(value, list) else [value]:  # a node that returned several updates
                others = self._writes(values, label) if isinstance(values, dict) else {} if values is None else {"result": values}
                self.entries.append(Entry("update", node=label, data=others))

    def _writes(self, writes: dict[str, Any], node: str) -> dict[str, Any]:
        """Fold the messages a node wrote; the other keys, for the update line."""
        messages = writes.get("messages")
        if isinstance(messages, dict) and "$writes" in messages:  # debug/tasks: several writes to one channel
            messages = [m for w in messages["$writes"] for m in (w if isinstance(w, list) else [w])]
        for message in messages if isinstance(messages, list) else [messages] if messages else []:
            if isinstance(message, dict):
                self._whole(message, node=node)
        return {k: v for k, v in writes.items() if k != "messages"}

    def _on_values(self, data: Any, ns: tuple[str, ...]) -> None:
        if not isinstance(data, dict):
            return
        if ns:  # a subgraph's own state; the parent's values carry what matters
            return
        interrupts = data.get("__interrupt__")
        if interrupts:
            self._add_interrupts(interrupts)
        self.values = {k: v for k, v in data.items() if k != "__interrupt__"}
        messages = self.values.get("messages")
        first = not self._seen_values
        self._seen_values = True
        if not isinstance(messages, list):
            return
        listed = {str(m["id"]) for m in messages if isinstance(m, dict) and m.get("id")}
        for message in messages:
            if not isinstance(message, dict):
                continue
            if first:
                # The first snapshot is the thread as the run found it: history plus our input.
                if message.get("id") in self.hidden:
                    continue
                if not self._match_input(message) and message.get("id"):
                    self.hidden.add(message["id"])
            elif self._shows("values"):
                self._whole(message)
        # A message an earlier snapshot listed and this one does not was removed (RemoveMessage).
        for gone in self._in_values - listed:
            self._remove(gone)
        self._in_values = listed

    def _on_detail(self, mode: str, data: Any, ns: tuple[str, ...]) -> None:
        if not isinstance(data, dict):
            return
        if mode == "events":
            self._on_event(data, ns)
            return
        payload = data.get("payload", data) if mode == "debug" else data
        interrupts = payload.get("interrupts") if isinstance(payload, dict) else None
        if interrupts and mode in ("tasks", "debug"):
            self._add_interrupts(interrupts)
        if mode == "checkpoints":
            step = (data.get("metadata") or {}).get("step")
            self.entries.append(Entry("note", text=f"checkpoint step {step}, next {data.get('next') or []}"))
            return
        if not isinstance(payload, dict):
            return
        kind = data.get("type", "") if mode == "debug" else ""
        name = _node_name(str(payload.get("name", "")), ns)
        # A task starting or ending, in either mode: which node runs now (RunRequest.body asks for
        # tasks unless debug is asked for, which says it too).
        ended = bool(interrupts) or "result" in payload or "error" in payload
        if mode == "tasks" or kind in ("task", "task_result"):
            if not ended:
                self.running = name
            elif self.running == name:
                self.running = ""
        if mode == "tasks" and not self._shows("tasks"):
            return  # asked for only to tell which node runs now: nothing else of it shows
        result = payload.get("result")
        # A task's result holds what its node wrote: the conversation of the debug and tasks modes.
        others = self._writes(result, name) if isinstance(result, dict) and kind in ("", "task_result") else {}
        if mode == "tasks":
            if interrupts:
                text = f"task {name} waiting for input"
            elif ended:
                text = f"task {name} failed: {payload['error']}" if payload.get("error") else f"task {name} finished"
            else:
                text = f"task {name} started"
        else:
            text = f"debug {kind} step {data.get('step')} {payload.get('name', '')}".rstrip()
        if others and "updates" not in self.modes:  # with updates, the node's update line says it
            text += " → " + ", ".join(f"{k}: {compact(v, 60)}" for k, v in others.items())
        self.entries.append(Entry("note", node=name if mode == "tasks" else "", text=text))

    def _on_event(self, data: dict[str, Any], ns: tuple[str, ...]) -> None:
        """``events`` mode: LangChain callback events. Model streams, whole model outputs, tool results."""
        kind = data.get("event", "")
        meta = data.get("metadata") or {}
        node = _node_name(str(meta.get("langgraph_node") or ""), ns)
        inner = data.get("data") or {}
        if kind == "on_chat_model_stream":
            chunk = inner.get("chunk")
            if isinstance(chunk, dict):
                self._chunk(chunk, meta, node, _slot(meta, ns) + "|" + str(data.get("run_id") or ""))
        elif kind == "on_chat_model_end":
            output = inner.get("output")
            if isinstance(output, dict) and (output.get("id") in self._by_id):
                self._whole(output)
        elif kind == "on_tool_end":
            output = inner.get("output")
            if isinstance(output, dict) and output.get("type") == "tool":
                self._whole(output, node=node)
            else:
                self.entries.append(Entry("note", node=_ns_label(ns), text=f"on_tool_end {data.get('name', '')}"))
        elif kind == "on_tool_error":
            error = inner.get("error")
            self.entries.append(Entry("note", node=node, text=f"tool {data.get('name', '')} failed: {compact(error, 200)}"))
        elif kind == "on_tool_start":
            self.entries.append(Entry("note", node=_ns_label(ns), text=f"on_tool_start {data.get('name', '')}"))

    def _add_interrupts(self, interrupts: Any) -> None:
        known = {i.get("id") for i in self.interrupts}
        for interrupt in interrupts if isinstance(interrupts, list) else [interrupts]:
            if not isinstance(interrupt, dict) or (interrupt.get("id") and interrupt.get("id") in known):
                continue
            known.add(interrupt.get("id"))
            self.interrupts.append(interrupt)
            # Its line: what an answer looks like, when the interrupt says (a response_schema).
            hint = answer_hint(interrupt.get("response_schema"))
            self.entries.append(Entry("interrupt", id=interrupt.get("id"), data=interrupt.get("value"), text=hint))

    def _match_input(self, message: dict[str, Any], text: Optional[str] = None) -> bool:
        """Bind the server's echo of our input to the input entry, by role and text (``text``: the
        message's, when the caller has it already)."""
        unbound = [e for e in self.entries if e.is_input and e.id is None]
        if not unbound:
            return False  # every input is bound: no need to read the message
        role = _ROLES.get(str(message.get("type") or message.get("role") or ""), "")
        text = shown_input(message_text(message.get("content")) if text is None else text)
        for entry in unbound:
            if entry.role == role and entry.text == text:
                self._register(entry, message.get("id"))
                return True
        return False

    def _match_unnamed(self, message_id: str, role: str, text: str, name: str) -> Optional[Entry]:
        """A message a node returned without an id (a ToolNode's, say) gets its id from the reducer; when
        it comes back with one (a subgraph returning its whole state), it is the same message."""
        for entry in self.entries:
            if (
                entry.kind == "message"
                and entry.id is None
                and not entry.is_input
                and (entry.role, entry.text, entry.name) == (role, text, name)
            ):
                self._register(entry, message_id)
                return entry
        return None

    def _register(self, entry: Entry, message_id: Any) -> None:
        if message_id and isinstance(message_id, str):
            entry.id = entry.id or message_id
            if message_id not in entry.ids:
                entry.ids.append(message_id)
            self._by_id[message_id] = entry

    def _node_hint(self, message_id: str, meta: dict[str, Any], ns: tuple[str, ...]) -> None:
        node = _node_name(str(meta.get("langgraph_node") or ""), ns)
        entry = self._by_id.get(message_id)
        if entry is None:
            self._nodes[message_id] = meta  # legacy metadata comes before the message itself
        elif node and not entry.node:
            entry.node = node
            entry.touch()

    def _new(self, message: dict[str, Any], node: str) -> Entry:
        entry = Entry("message", role=_role(message), node=node, name=str(message.get("name") or ""))
        self.entries.append(entry)
        self._register(entry, message.get("id"))
        return entry

    def _streamed(self, message: dict[str, Any], slot: str, node: str) -> Entry:
        """The entry a streamed message belongs to: by id, else the open stream of its task (see ``_chunk``)."""
        message_id = message.get("id")
        entry = self._by_id.get(message_id) if message_id else None
        if entry is None:
            current = self._open.get(slot)
            if current is not None and current.streaming and _same_call(current.ids, message_id):
                entry = current
                self._register(entry, message_id)
            else:
                entry = self._new(message, node)
        self._open[slot] = entry
        return entry

    def _chunk(self, message: dict[str, Any], meta: dict[str, Any], node: str, slot: str) -> None:
        """One streamed chunk. A model call's chunks are one message even when their id changes
        (OpenAI Responses: ``resp_…`` first, then ``lc_run--…``): the open stream of the same task
        takes a chunk whose id it has not seen, unless that id says it is another model call."""
        message_id = message.get("id")
        if message_id and message_id in self.hidden:
            return
        entry = self._streamed(message, slot, node)
        entry.body.add(message, meta)
        if node and not entry.node:
            entry.node = node
        entry.streaming = message.get("chunk_position") != "last"
        if not entry.streaming:
            self._open.pop(slot, None)
        entry.touch()

    def _partial(self, message: dict[str, Any], ns: tuple[str, ...]) -> None:
        """Legacy ``messages/partial``: the message so far, per id (so an id change starts over)."""
        message_id = str(message.get("id") or "")
        if message_id in self.hidden:
            return
        meta = self._nodes.get(message_id, {})
        entry = self._streamed(message, _slot(meta, ns), _node_name(str(meta.get("langgraph_node") or ""), ns))
        self._partials[message_id] = message
        entry.body.replace_many([self._partials[i] for i in entry.ids if i in self._partials], meta)
        entry.streaming = True
        entry.touch()

    def _whole(
        self, message: dict[str, Any], *, node: str = "", slot: str = "", meta: Optional[dict[str, Any]] = None
    ) -> Optional[Entry]:
        """A whole message (an update, a values snapshot, a task result, a complete message)."""
        message_id = message.get("id")
        if message.get("type") == "remove":
            self._remove(message_id)
            return None
        if message_id and message_id in self.hidden:
            return None
        entry = self._by_id.get(message_id) if message_id else None
        if entry is None:
            text = message_text(message.get("content"))  # read once for both matches
            if self._match_input(message, text):
                return None
            if message_id:
                entry = self._match_unnamed(message_id, _role(message), text, message.get("name") or "")
        if entry is None:
            entry = self._new(
                message, node or _node_name(str(self._nodes.pop(message_id or "", {}).get("langgraph_node") or ""), ())
            )
        entry.body.replace(message, meta)
        if node and not entry.node:
            entry.node = node
        if message.get("type") == "tool":
            entry.status = str(message.get("status") or "")
        if entry.removed:
            entry.removed = False
        entry.streaming = False
        if slot and self._open.get(slot) is entry:
            self._open.pop(slot)
        entry.touch()
        return entry

    def _remove(self, message_id: Any) -> None:
        """A ``RemoveMessage``: its message is marked removed (``__remove_all__``: every message so far)."""
        targets = (
            [e for e in self.entries if e.kind == "message" and not e.is_input]
            if message_id == "__remove_all__"
            else [self._by_id[message_id]]
            if message_id in self._by_id
            else []
        )
        for entry in targets:
            if not entry.removed:
                entry.removed = True
                entry.touch()


def _role(message: dict[str, Any]) -> str:
    kind = str(message.get("type") or message.get("role") or "")
    return _ROLES.get(kind.removesuffix("MessageChunk").lower() if kind.endswith("MessageChunk") else kind, "ai")


def _same_call(ids: list[str], message_id: Any) -> bool:
    """Whether a chunk with an unseen ``message_id`` continues a stream already sent under ``ids``:
    a model call has at most one provider id (``resp_…``, ``msg_…``) and one run id (``lc_run--…``)."""
    if not message_id:
        return True
    run_scoped = str(message_id).startswith("lc_run")
    return not any(i.startswith("lc_run") == run_scoped for i in ids)


def _slot(meta: dict[str, Any], ns: tuple[str, ...]) -> str:
    """Which task streams a chunk: parallel model calls (``Send``, subgraphs) stream side by side."""
    return str(
        meta.get("langgraph_checkpoint_ns")
        or meta.get("checkpoint_ns")
        or "|".join(ns) + "#" + str(meta.get("langgraph_node") or "")
    )


def _ns_label(ns: tuple[str, ...]) -> str:
    return "/".join(part.split(":", 1)[0] for part in ns)


def _node_name(node: str, ns: tuple[str, ...]) -> str:
    prefix = _ns_label(ns)
    return f"{prefix}/{node}" if prefix and node else node or prefix
