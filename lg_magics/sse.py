"""Server-sent events as bytes: decoding a response as it streams past, and encoding events the way
the Agent Server frames them. The client reads run streams with it (and sees the server's heartbeat,
which says the server is there while a run is silent); the cassette keeps each event and serves it again."""

from __future__ import annotations

import codecs
import json
from typing import Any, Callable, Optional

_fast_loads: Callable[[str], Any]
try:  # parses an event several times faster; langgraph's own packages install it
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - the standard library's parser does the same, slower
    _fast_loads = json.loads


class SSEDecoder:
    """Incremental SSE parsing into cassette events: ``{"event", "id"?, "data" | "text"}``."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []
        self._id: Optional[str] = None
        self.comments = 0  # comment lines seen (the server's heartbeat)

    def feed(self, chunk: bytes) -> list[dict[str, Any]]:
        text = self._buffer + self._text.decode(chunk)
        # A CR at the end may be the first half of a CRLF cut between chunks: it waits for the next one.
        held = "\r" if text.endswith("\r") else ""
        if held:
            text = text[:-1]
        *lines, rest = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._buffer = rest + held
        events = []
        for line in lines:  # inlined: this loop runs for every line of every event
            if not line:
                event = self._dispatch()
                self._event, self._data, self._id = "", [], None
                if event is not None:
                    events.append(event)
            elif line[0] == ":":
                self.comments += 1  # heartbeat: transport noise, not part of the run
            else:
                name, _, value = line.partition(":")
                value = value[1:] if value[:1] == " " else value
                if name == "data":
                    self._data.append(value)
                elif name == "event":
                    self._event = value
                elif name == "id" and "\0" not in value:
                    self._id = value
        return events

    def _dispatch(self) -> Optional[dict[str, Any]]:
        if not self._event and not self._data:
            return None
        event: dict[str, Any] = {"event": self._event or "message"}
        if self._id is not None:
            event["id"] = self._id
        data = self._data
        text = data[0] if len(data) == 1 else "\n".join(data)
        try:
            event["data"] = _fast_loads(text)
        except ValueError:
            try:
                event["data"] = json.loads(text)  # NaN or Infinity, which orjson refuses
            except ValueError:
                event["text"] = text
        return event


def encode_event(event: dict[str, Any]) -> bytes:
    """An event as the server frames it: ``data:`` in compact JSON, ``id:`` after it, CRLF."""
    if "text" in event:
        text = str(event["text"])
    else:
        text = json.dumps(event.get("data"), ensure_ascii=False, separators=(",", ":"))
    lines = [f"event: {event['event']}", *(f"data: {part}" for part in text.split("\n"))]
    if event.get("id") is not None:
        lines.append(f"id: {event['id']}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


def is_sse(headers: Any) -> bool:
    return str(headers.get("content-type", "")).startswith("text/event-stream")
