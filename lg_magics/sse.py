"""Server-sent events as bytes: decoding a response as it streams past, and encoding events the way
the Agent Server frames them. The client reads run streams with it (and sees the server's heartbeat,
which says the server is there while a run is silent); the cassette keeps each event and serves it again."""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

_fast_loads: Callable[[bytes], Any]
try:  # parses an event several times faster, from bytes; langgraph's own packages install it
    from orjson import loads as _fast_loads
except ImportError:  # pragma: no cover - the standard library's parser does the same, slower
    _fast_loads = json.loads

#: One decoded event: its name, its data (the parsed JSON, or the text when the data is not JSON),
#: its id (``None`` without an ``id:`` line) and whether the data was JSON.
Decoded = tuple[str, Any, Optional[str], bool]

_BOM = b"\xef\xbb\xbf"


class SSEDecoder:
    """Incremental SSE parsing of a byte stream into :data:`Decoded` tuples (the client makes events
    of them, the cassette dicts: :func:`event_dict`).

    It works on bytes: lines split on CR, LF and CRLF as the spec says, data handed to orjson as it
    came; UTF-8 (invalid bytes replaced) is decoded only for names, ids and data that is not JSON."""

    def __init__(self) -> None:
        self._rest: list[bytes] = []  # the start of a line cut at the end of a chunk
        self._cr = False  # the last chunk ended with a CR: maybe the first half of a CRLF
        self._bom = True  # a byte order mark may start the stream (the spec drops it)
        self._event = b""
        self._data: list[bytes] = []
        self._id: Optional[str] = None
        self.comments = 0  # comment lines seen (the server's heartbeat)

    def feed(self, chunk: bytes) -> list[Decoded]:
        if not chunk:
            return []
        if self._cr:
            self._cr = False
            if chunk[0] == 10:  # the LF of a CRLF cut between chunks: that line has ended already
                chunk = chunk[1:]
                if not chunk:
                    return []
        lines = chunk.splitlines()  # on CR, LF and CRLF, and only those (bytes, unlike str)
        last = chunk[-1]
        if last == 10 or last == 13:
            self._cr = last == 13
            tail = None
        else:  # the last line goes on in the next chunk
            tail = lines.pop()
            if not lines:
                self._rest.append(tail)
                return []
        if self._rest:
            self._rest.append(lines[0])
            lines[0] = b"".join(self._rest)
            self._rest = []
        if tail is not None:
            self._rest.append(tail)
        if self._bom:
            self._bom = False
            lines[0] = lines[0].removeprefix(_BOM)
        events: list[Decoded] = []
        name, data, id_ = self._event, self._data, self._id
        for line in lines:  # inlined, state in locals: this loop runs for every line of every event
            if not line:
                if data or name:
                    raw = data[0] if len(data) == 1 else b"\n".join(data)
                    try:
                        value, is_json = _fast_loads(raw), True
                    except ValueError:
                        value, is_json = _not_fast(raw)
                    events.append((name.decode("utf-8", "replace") if name else "message", value, id_, is_json))
                    data = []
                name, id_ = b"", None
            elif line[:6] == b"data: ":  # the server's two fields first, as it writes them
                data.append(line[6:])
            elif line[:7] == b"event: ":
                name = line[7:]
            elif line[0] == 58:  # ":"
                self.comments += 1  # heartbeat: transport noise, not part of the run
            else:
                field, _, value = line.partition(b":")
                if value[:1] == b" ":
                    value = value[1:]
                if field == b"data":
                    data.append(value)
                elif field == b"event":
                    name = value
                elif field == b"id" and b"\0" not in value:
                    id_ = value.decode("utf-8", "replace")
        self._event, self._data, self._id = name, data, id_
        return events


def _not_fast(raw: bytes) -> tuple[Any, bool]:
    """Data orjson refused: NaN or Infinity, invalid UTF-8 (replaced), a huge integer, or not JSON."""
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text), True
    except ValueError:
        return text, False


def event_dict(decoded: Decoded) -> dict[str, Any]:
    """A decoded event as the cassette keeps it: ``{"event", "id"?, "data" | "text"}``."""
    name, value, id_, is_json = decoded
    event: dict[str, Any] = {"event": name}
    if id_ is not None:
        event["id"] = id_
    event["data" if is_json else "text"] = value
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
