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

from .protocol import Event

#: Statuses, in the words the views use. A run at an interrupt "waits"; the
#: server calls a cancelled run "interrupted", we call it "cancelled".
PENDING, RUNNING, SUCCESS, WAITING, ERROR, CANCELLED = "pending", "running", "success", "waiting", "error", "cancelled"
FINAL_STATUSES = (SUCCESS, WAITING, ERROR, CANCELLED)
_SERVER_STATUS = {"success": SUCCESS, "error": ERROR, "timeout": ERROR, "interrupted": CANCELLED}
_ROLES = {"human": "human", "user": "human", "ai": "ai", "assistant": "ai", "tool": "tool", "system": "system"}


def message_text(content: Any) -> str:
    """The text of a message's content, which may be a string or a list of content blocks."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                parts.append(block["text"])
        return "".join(parts)
    return str(content)


def compact(value: Any, limit: int = 80) -> str:
    """A short one-line rendering of any JSON value."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str, sort_keys=True)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class Entry:
    """One thing shown in a run's view, in order."""

    kind: str  # message | update | interrupt | error | custom | note
    role: str = ""  # for messages: human, ai, tool, system
    text: str = ""
    node: str = ""
    id: Optional[str] = None
    name: str = ""  # a tool message's tool name
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    data: Any = None  # interrupts: the payload; custom: the value; update: {key: value}
    streaming: bool = False
    is_input: bool = False
    version: int = 0  # bumped on every change, so views redraw only what changed

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
    _by_id: dict[str, Entry] = field(default_factory=dict, repr=False)
    _nodes: dict[str, str] = field(default_factory=dict, repr=False)  # node hints that came before their message
    _seen_values: bool = field(default=False, repr=False)

    # -- building ------------------------------------------------------------------------------
    def add_input(self, text: str, role: str = "human") -> None:
        self.entries.append(Entry("message", role=role, text=text, is_input=True))

    def note(self, text: str) -> None:
        self.entries.append(Entry("note", text=text))

    @property
    def messages(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "message"]

    @property
    def last_ai_text(self) -> Optional[str]:
        for entry in reversed(self.entries):
            if entry.kind == "message" and entry.role == "ai" and entry.text:
                return entry.text
        return None

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
                self._upsert(message, streaming=True, replace_text=True)
        elif mode == "messages/complete":
            for message in data or []:
                self._upsert(message, streaming=False)
        elif mode == "messages/metadata":
            for message_id, meta in (data or {}).items():
                node = ((meta or {}).get("metadata") or {}).get("langgraph_node", "")
                self._node_hint(message_id, node)
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
        for entry in self.entries:
            # Legacy ``messages`` mode never completes a streamed message, and a cancelled run
            # stops mid-message: either way the text is all there will be.
            if entry.streaming:
                entry.streaming = False
                entry.touch()
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

    def _on_message_tuple(self, data: Any, ns: tuple[str, ...]) -> None:
        if not (isinstance(data, list) and data and isinstance(data[0], dict)):
            return
        chunk = data[0]
        meta = data[1] if len(data) > 1 and isinstance(data[1], dict) else {}
        node = _node_name(meta.get("langgraph_node", ""), ns)
        if str(chunk.get("type", "")).endswith("Chunk"):
            entry = self._upsert(chunk, streaming=True, node=node, append=True)
            if entry is not None and chunk.get("chunk_position") == "last":
                entry.streaming = False
                entry.touch()
        else:
            self._upsert(chunk, streaming=False, node=node)

    def _on_updates(self, data: Any, ns: tuple[str, ...]) -> None:
        if not isinstance(data, dict):
            return
        for node, value in data.items():
            if node == "__interrupt__":
                self._add_interrupts(value or [])
                continue
            label = _node_name(node, ns)
            if isinstance(value, dict):
                messages = value.get("messages")
                for message in messages if isinstance(messages, list) else [messages] if messages else []:
                    if isinstance(message, dict):
                        self._upsert(message, streaming=False, node=label)
                others = {k: v for k, v in value.items() if k != "messages"}
            else:
                others = {} if value is None else {"result": value}
            self.entries.append(Entry("update", node=label, data=others))

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
                self._upsert(message, streaming=False)

    def _on_detail(self, mode: str, data: Any, ns: tuple[str, ...]) -> None:
        if not isinstance(data, dict):
            return
        if mode == "events":
            kind = data.get("event", "")
            if kind == "on_chat_model_stream":
                chunk = (data.get("data") or {}).get("chunk")
                if isinstance(chunk, dict):
                    node = ((data.get("metadata") or {}).get("langgraph_node")) or ""
                    self._upsert(chunk, streaming=True, node=_node_name(node, ns), append=True)
            elif kind == "on_chat_model_end":
                output = (data.get("data") or {}).get("output")
                if isinstance(output, dict) and output.get("id") in self._by_id:
                    self._upsert(output, streaming=False)
            elif kind in ("on_tool_start", "on_tool_end"):
                self.entries.append(Entry("note", node=_ns_label(ns), text=f"{kind} {data.get('name', '')}"))
            return
        payload = data.get("payload", data) if mode == "debug" else data
        interrupts = payload.get("interrupts") if isinstance(payload, dict) else None
        if interrupts and mode in ("tasks", "debug"):
            self._add_interrupts(interrupts)
        if mode == "tasks":
            name = _node_name(str(data.get("name", "")), ns)
            if interrupts:
                text = f"task {name} waiting for input"
            elif "result" in data or "error" in data:
                text = f"task {name} failed: {data['error']}" if data.get("error") else f"task {name} finished"
            else:
                text = f"task {name} started"
            self.entries.append(Entry("note", node=name, text=text))
        elif mode == "checkpoints":
            step = (data.get("metadata") or {}).get("step")
            self.entries.append(Entry("note", text=f"checkpoint step {step}, next {data.get('next') or []}"))
        elif mode == "debug":
            kind = data.get("type", "")
            name = payload.get("name", "") if isinstance(payload, dict) else ""
            self.entries.append(Entry("note", text=f"debug {kind} step {data.get('step')} {name}".rstrip()))

    def _add_interrupts(self, interrupts: Any) -> None:
        known = {i.get("id") for i in self.interrupts}
        for interrupt in interrupts if isinstance(interrupts, list) else [interrupts]:
            if not isinstance(interrupt, dict) or (interrupt.get("id") and interrupt.get("id") in known):
                continue
            known.add(interrupt.get("id"))
            self.interrupts.append(interrupt)
            self.entries.append(Entry("interrupt", id=interrupt.get("id"), data=interrupt.get("value")))

    def _match_input(self, message: dict[str, Any]) -> bool:
        """Bind the server's echo of our input to the input entry, by role and text."""
        role = _ROLES.get(str(message.get("type") or message.get("role") or ""), "")
        text = message_text(message.get("content"))
        for entry in self.entries:
            if entry.is_input and entry.id is None and entry.role == role and entry.text == text:
                entry.id = message.get("id")
                if entry.id:
                    self._by_id[entry.id] = entry
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
                entry.id = message_id
                self._by_id[message_id] = entry
                return entry
        return None

    def _node_hint(self, message_id: str, node: str) -> None:
        entry = self._by_id.get(message_id)
        if entry is None:
            self._nodes[message_id] = node  # legacy metadata comes before the message itself
        elif node and not entry.node:
            entry.node = node
            entry.touch()

    def _upsert(
        self,
        message: dict[str, Any],
        *,
        streaming: bool,
        node: str = "",
        append: bool = False,
        replace_text: bool = False,
    ) -> Optional[Entry]:
        message_id = message.get("id")
        if message_id and message_id in self.hidden:
            return None
        entry = self._by_id.get(message_id) if message_id else None
        if entry is None and not streaming and self._match_input(message):
            return None
        text = message_text(message.get("content"))
        kind = str(message.get("type", ""))
        role = _ROLES.get(kind.removesuffix("MessageChunk").lower() if kind.endswith("MessageChunk") else kind, "ai")
        if entry is None and message_id and not streaming:
            entry = self._match_unnamed(message_id, role, text, message.get("name") or "")
        if entry is None:
            node = node or self._nodes.pop(message_id or "", "")
            entry = Entry("message", role=role, id=message_id, node=node, name=message.get("name") or "")
            self.entries.append(entry)
            if message_id:
                self._by_id[message_id] = entry
        if append:
            entry.text += text
        elif replace_text or not streaming or text:
            entry.text = text
        if node and not entry.node:
            entry.node = node
        calls = message.get("tool_calls")
        if calls:
            entry.tool_calls = [c for c in calls if isinstance(c, dict)]
        elif append and message.get("tool_call_chunks"):
            _merge_tool_call_chunks(entry, message["tool_call_chunks"])
        if message.get("type") == "tool" and message.get("status") == "error":
            entry.data = {"status": "error"}
        entry.streaming = streaming
        entry.touch()
        return entry


def _merge_tool_call_chunks(entry: Entry, chunks: list[Any]) -> None:
    for chunk in chunks:
        if not isinstance(chunk, dict):
            continue
        index = int(chunk.get("index") or 0)
        while len(entry.tool_calls) <= index:
            entry.tool_calls.append({"name": "", "args": "", "id": None})
        call = entry.tool_calls[index]
        call["name"] = call.get("name") or chunk.get("name") or ""
        call["id"] = call.get("id") or chunk.get("id")
        args = call.get("args")
        call["args"] = (args if isinstance(args, str) else "") + str(chunk.get("args") or "")


def _ns_label(ns: tuple[str, ...]) -> str:
    return "/".join(part.split(":", 1)[0] for part in ns)


def _node_name(node: str, ns: tuple[str, ...]) -> str:
    prefix = _ns_label(ns)
    return f"{prefix}/{node}" if prefix and node else node or prefix
