"""Server-sent events as bytes: decoding a response as it streams past, and encoding events the way
the Agent Server frames them. The client reads run streams with it (and sees the server's heartbeat,
which says the server is there while a run is silent); the cassette keeps each event and serves it again."""

from __future__ import annotations

import codecs
import json
import re
from typing import Any, Callable, Optional

_LINE_BREAK = re.compile(r"\r\n|\r(?!\Z)|\n")

_fast_loads: Callable[[str], Any]
try:  # parses an event several times faster; langgraph's own packages install it
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - the standard library's parser does the same, slower
    _fast_loads = json.loads


def loads(text: str) -> Any:
    """JSON as the standard library reads it (orjson refuses NaN and Infinity, which it accepts)."""
    try:
        return _fast_loads(text)
    except ValueError:
        return json.loads(text)


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
        self._buffer += self._text.decode(chunk)
        *lines, self._buffer = _LINE_BREAK.split(self._buffer)
        return [event for event in map(self._line, lines) if event is not None]

    def _line(self, line: str) -> Optional[dict[str, Any]]:
        if not line:
            event = self._dispatch()
            self._event, self._data, self._id = "", [], None
            return event
        if line.startswith(":"):
            self.comments += 1
            return None  # heartbeat: transport noise, not part of the run
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
        return None

    def _dispatch(self) -> Optional[dict[str, Any]]:
        if not self._event and not self._data:
            return None
        event: dict[str, Any] = {"event": self._event or "message"}
        if self._id is not None:
            event["id"] = self._id
        text = "\n".join(self._data)
        try:
            event["data"] = loads(text)
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
