"""Record and replay: every request and its response, SSE streams event by event, in a cassette file.

A notebook that ran once against a real deployment (an LLM, an API key) runs
later in CI with no deployment and no key. This works at the httpx transport
level (:meth:`Cassette.transport` for :class:`~lg_magics.client.Client`,
:meth:`Cassette.async_transport` for an ``httpx.AsyncClient``), so the client,
the runner and the live view run exactly as they do live.

* Recording passes each chunk through as it arrives (the live view keeps
  streaming) and keeps the SSE events it decodes from them.
* Replay serves each recorded event as its own chunk, in the original order,
  so the client sees a stream, not a body that arrives at once.
* Requests match on what decides the response: method, path, query and body;
  for runs only the assistant, input, command, config, context and stream
  modes, and the run's position on its thread. Thread IDs that the client
  made up (``uuid4`` for each new thread) differ on every execution, so a UUID
  never seen in a recording is bound to the recorded one at the same place in
  the first request that matches, and stays bound. Requests are served in
  recorded order; a repeated GET or search may reuse its last answer.
* No request headers are stored (so no ``x-api-key``), only a few response
  headers, and any API key found in the environment is redacted before saving.
* The file is JSON with a fixed key order: one line per request, per SSE event
  and per JSON body, so a re-recording diffs line by line. Payloads keep the
  server's key order, because the views show fields in that order.

vcrpy (9.4) was evaluated first and does not fit: it reads the whole response
before returning it, so a recorded run shows nothing until it ends; it replays a
stream as one chunk; it matches on the full URL (the embedded server's port
changes every time) with stateless matchers, so new thread IDs cannot be
mapped; and by default it stores request headers, ``x-api-key`` included.
"""

from __future__ import annotations

import codecs
import json
import os
import re
import threading
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any, Optional

import httpx

from .environment import RECORD_MODE_ENV, RECORD_MODES
from .exceptions import AgentUsageError, CassetteError, CassetteMiss
from .protocol import is_uuid, redact, secrets_from_env

FORMAT = "lg_magics cassette 1"
#: The response headers the client reads; nothing else is stored.
KEPT_HEADERS = ("content-location", "content-type", "location", "x-pagination-next", "x-pagination-total")
#: What decides the events of a run. Volatile or cosmetic fields (metadata, on_disconnect,
#: if_not_exists, stream_resumable, multitask_strategy, webhook...) are left out of matching.
RUN_MATCH_KEYS = (
    "assistant_id",
    "input",
    "command",
    "config",
    "context",
    "stream_mode",
    "stream_subgraphs",
    "interrupt_before",
    "interrupt_after",
    "checkpoint_id",
    "checkpoint",
)

_RUN_CREATE = re.compile(r"^(?:/threads/(?P<thread>[^/]+))?/runs(?:/stream|/wait)?$")
_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LINE_BREAK = re.compile(r"\r\n|\r(?!\Z)|\n")


def resolve_mode(mode: Optional[str], path: Path) -> str:
    """``record`` or ``replay``: ``auto`` (the default) replays when the cassette exists."""
    chosen = (mode or os.environ.get(RECORD_MODE_ENV) or "auto").strip().lower()
    if chosen not in RECORD_MODES:
        raise AgentUsageError(f"The record mode is one of {', '.join(RECORD_MODES)}, not {chosen!r}.")
    if chosen == "auto":
        return "replay" if path.exists() else "record"
    return chosen


# -- requests ---------------------------------------------------------------------------------
def describe(request: httpx.Request, content: bytes) -> dict[str, Any]:
    """The parts of a request a cassette keeps: never its headers."""
    body: Any = None
    if content:
        try:
            body = json.loads(content)
        except ValueError:
            body = content.decode("utf-8", "replace")
    query = {key: value for key, value in sorted(request.url.params.multi_items())}
    return {"method": request.method, "path": request.url.path, "query": query, "body": body}


def run_thread(request: dict[str, Any]) -> tuple[bool, Optional[str]]:
    """(creates a run, its thread ID or None for a stateless run)."""
    found = _RUN_CREATE.match(request["path"]) if request["method"] == "POST" else None
    return (found is not None, found.group("thread") if found else None)


def match_key(request: dict[str, Any]) -> dict[str, Any]:
    """What two requests must share to get the same response."""
    body = request.get("body")
    creates_run, _ = run_thread(request)
    if creates_run and isinstance(body, dict):
        body = {key: body[key] for key in RUN_MATCH_KEYS if key in body}
    return {"method": request["method"], "path": request["path"].split("/"), "query": request.get("query") or {}, "body": body}


def unify(live: Any, recorded: Any, ids: dict[str, str], owners: dict[str, str], trial: dict[str, str]) -> bool:
    """Whether ``live`` matches ``recorded``, binding live UUIDs to recorded ones in ``trial``.

    ``ids`` maps live UUIDs to recorded ones (committed bindings), ``owners`` the reverse.
    """
    if isinstance(live, dict):
        return (
            isinstance(recorded, dict)
            and live.keys() == recorded.keys()
            and all(unify(live[key], recorded[key], ids, owners, trial) for key in live)
        )
    if isinstance(live, list):
        return (
            isinstance(recorded, list)
            and len(live) == len(recorded)
            and all(unify(a, b, ids, owners, trial) for a, b in zip(live, recorded))
        )
    if isinstance(live, str) and isinstance(recorded, str) and _UUID_TEXT.fullmatch(live) and is_uuid(recorded):
        bound = ids.get(live) or trial.get(live)
        if bound is not None:
            return bound == recorded
        owner = owners.get(recorded) or next((k for k, v in trial.items() if v == recorded), None)
        if owner is not None and owner != live:
            return False
        trial[live] = recorded
        return True
    return bool(live == recorded and type(live) is type(recorded))


def _short(text: str) -> str:
    # IDs differ on every execution and the mapping is by position: they would only make noise.
    return _UUID_TEXT.sub("…", text)


def _said(value: Any) -> str:
    """The message text of a run input, else the value in one short line."""
    messages = value.get("messages") if isinstance(value, dict) else None
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict) and "content" in messages[-1]:
        value = messages[-1]["content"]
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = " ".join(text.split())
    return repr(text if len(text) <= 60 else text[:59] + "…")


def describe_miss(request: dict[str, Any], position: Optional[int]) -> str:
    what = f"{request['method']} {_short(request['path'])}"
    body = request.get("body")
    if isinstance(body, dict):
        details = [f"{key} {_said(body[key])}" for key in ("assistant_id", "input", "command") if key in body]
        if details:
            what += f" ({', '.join(details)})"
    if position:
        what += f", run {position + 1} on its thread"
    return what


# -- SSE ------------------------------------------------------------------------------------
class SSEDecoder:
    """Incremental SSE parsing into cassette events: ``{"event", "id"?, "data" | "text"}``."""

    def __init__(self) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""
        self._event = ""
        self._data: list[str] = []
        self._id: Optional[str] = None

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
            event["data"] = json.loads(text)
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


def _is_sse(headers: Any) -> bool:
    return str(headers.get("content-type", "")).startswith("text/event-stream")


# -- the file -------------------------------------------------------------------------------
def _one_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def dumps(serve: Optional[dict[str, Any]], interactions: list[dict[str, Any]]) -> str:
    """The cassette text: JSON, one line per request, per event and per JSON body."""
    lines = ["{", f'  "format": {_one_line(FORMAT)},', f'  "serve": {_one_line(serve)},', '  "interactions": [']
    for index, interaction in enumerate(interactions):
        response = interaction["response"]
        head = _one_line({"status": response["status"], "headers": response["headers"]})[:-1]
        lines += ["    {", f'      "request": {_one_line(interaction["request"])},']
        if "events" in response:
            lines.append(f'      "response": {head}, "events": [')
            events = response["events"]
            lines += [f"        {_one_line(event)}" + ("," if i < len(events) - 1 else "") for i, event in enumerate(events)]
            lines.append("      ]}")
        else:
            key = "json" if "json" in response else "text"
            lines.append(f'      "response": {head}, {_one_line(key)}: {_one_line(response.get(key))}}}')
        lines.append("    }" + ("," if index < len(interactions) - 1 else ""))
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


class _Recorder:
    """Collects one response as it streams past, into an interaction of the cassette."""

    def __init__(self, cassette: Cassette, interaction: dict[str, Any], sse: bool) -> None:
        self.cassette = cassette
        self.response = interaction["response"]
        self.decoder = SSEDecoder() if sse else None
        self.body = bytearray()
        self.closed = False

    def feed(self, chunk: bytes) -> None:
        if self.decoder is not None:
            events = self.decoder.feed(chunk)
            if events:
                with self.cassette._lock:
                    self.response["events"].extend(events)
        else:
            self.body += chunk

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        if self.decoder is None:
            text = self.body.decode("utf-8", "replace")
            with self.cassette._lock:  # another stream may be saving the cassette right now
                try:
                    self.response["json"] = json.loads(text)
                except ValueError:
                    self.response["text"] = text
        self.cassette.save()


class _Tee(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response stream passed through chunk by chunk while a recorder keeps a copy."""

    def __init__(self, inner: Any, recorder: _Recorder) -> None:
        self.inner = inner
        self.recorder = recorder

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.inner:
            self.recorder.feed(chunk)
            yield chunk

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.inner:
            self.recorder.feed(chunk)
            yield chunk

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            self.recorder.close()

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            self.recorder.close()


class _Chunks(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A replayed body: one chunk per recorded event, so the client reads a stream."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


class Cassette:
    """One cassette file, in ``record`` or ``replay`` mode. Shared by every client of a kernel."""

    def __init__(
        self, path: os.PathLike[str] | str, mode: Optional[str] = None, *, secrets: Optional[Iterable[str]] = None
    ) -> None:
        self.path = Path(path).expanduser().absolute()
        self.mode = resolve_mode(mode, self.path)
        self.secrets = list(secrets) if secrets is not None else secrets_from_env()
        self.serve: Optional[dict[str, Any]] = None
        self.interactions: list[dict[str, Any]] = []
        self._lock = threading.RLock()
        # Replay state: committed UUID bindings (live -> recorded, and back), served interactions,
        # and runs served so far per recorded thread.
        self._ids: dict[str, str] = {}
        self._owners: dict[str, str] = {}
        self._used: set[int] = set()
        self._runs: Counter[Optional[str]] = Counter()
        if self.replaying:
            self._load()
        else:
            self.save()

    def __repr__(self) -> str:
        return f"Cassette({self.path.name!r}, mode={self.mode!r}, interactions={len(self.interactions)})"

    @property
    def replaying(self) -> bool:
        return self.mode == "replay"

    @property
    def name(self) -> str:
        return self.path.name

    def transport(self, inner: Optional[httpx.BaseTransport] = None) -> httpx.BaseTransport:
        """A transport for a sync ``httpx.Client``: replays, or records what ``inner`` answers."""
        if self.replaying:
            return ReplayTransport(self)
        return RecordingTransport(self, inner or httpx.HTTPTransport())

    def async_transport(self, inner: Optional[httpx.AsyncBaseTransport] = None) -> httpx.AsyncBaseTransport:
        """The same for an ``httpx.AsyncClient``."""
        if self.replaying:
            return AsyncReplayTransport(self)
        return AsyncRecordingTransport(self, inner or httpx.AsyncHTTPTransport())

    # -- the file -------------------------------------------------------------------------------
    def _load(self) -> None:
        if not self.path.is_file():
            raise CassetteError(
                f"No cassette at {self.path} to replay: record it first (LG_MAGICS_RECORD_MODE=record, "
                "or %agent record PATH --mode record) against a server."
            )
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CassetteError(f"Cannot read the cassette {self.path}: {exc}") from None
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise CassetteError(f'{self.path} is not an lg_magics cassette (expected "format": "{FORMAT}").')
        self.serve = document.get("serve")
        self.interactions = list(document.get("interactions") or [])
        self._keys = [match_key(i["request"]) for i in self.interactions]
        self._positions = self._run_positions([i["request"] for i in self.interactions])

    def save(self) -> None:
        with self._lock:
            # Keys set after the cassette was opened count too: the client reads the environment again.
            text = redact(dumps(self.serve, self.interactions), {*self.secrets, *secrets_from_env()})
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial = self.path.with_name(f".{self.path.name}.partial")
            partial.write_text(text, encoding="utf-8")
            os.replace(partial, self.path)

    # -- %agent serve ---------------------------------------------------------------------------
    def note_serve(self, url: str, graphs: list[str]) -> None:
        """Record what ``%agent serve`` printed, so that replay can print it without a server."""
        if self.replaying:
            return
        with self._lock:
            self.serve = {"url": url, "graphs": list(graphs)}
        self.save()

    def served(self) -> tuple[str, list[str]]:
        if not self.serve:
            raise CassetteMiss(
                f"The cassette {self.name} has no recorded %agent serve: re-record it with the notebook's %agent serve."
            )
        return str(self.serve["url"]), [str(g) for g in self.serve.get("graphs") or []]

    # -- recording ------------------------------------------------------------------------------
    def _recorder(self, request: dict[str, Any], response: httpx.Response) -> _Recorder:
        sse = _is_sse(response.headers)
        headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
        interaction: dict[str, Any] = {"request": request, "response": {"status": response.status_code, "headers": headers}}
        if sse:
            interaction["response"]["events"] = []
        with self._lock:
            self.interactions.append(interaction)
        return _Recorder(self, interaction, sse)

    # -- replay ---------------------------------------------------------------------------------
    @staticmethod
    def _run_positions(requests: list[dict[str, Any]]) -> list[Optional[int]]:
        """For each request that starts a run on a thread, how many runs that thread had before."""
        seen: Counter[str] = Counter()
        positions: list[Optional[int]] = []
        for request in requests:
            creates_run, thread = run_thread(request)
            if creates_run and thread:
                positions.append(seen[thread])
                seen[thread] += 1
            else:
                positions.append(None)
        return positions

    def _find(self, request: dict[str, Any]) -> int:
        key = match_key(request)
        reusable = request["method"] == "GET" or request["path"].endswith("/search")
        fallback: Optional[tuple[int, dict[str, str]]] = None
        for index, recorded in enumerate(self._keys):
            trial: dict[str, str] = {}
            if not unify(key, recorded, self._ids, self._owners, trial):
                continue
            if index in self._used:
                if reusable:
                    fallback = (index, trial)
                continue
            position = self._positions[index]
            _, thread = run_thread(self.interactions[index]["request"])
            if position is not None and position != self._runs[thread]:
                continue
            return self._commit(index, trial)
        if fallback is not None:
            return self._commit(*fallback)
        creates_run, thread = run_thread(request)
        position = self._runs[self._ids.get(thread or "", thread)] if creates_run and thread else None
        raise CassetteMiss(
            f"No recording in {self.name} for {describe_miss(request, position)}. Re-record the notebook "
            "(LG_MAGICS_RECORD_MODE=record) or make the cell match the recording."
        )

    def _commit(self, index: int, trial: dict[str, str]) -> int:
        for live, recorded in trial.items():
            self._ids[live] = recorded
            self._owners[recorded] = live
        self._used.add(index)
        creates_run, thread = run_thread(self.interactions[index]["request"])
        if creates_run and thread:
            self._runs[thread] += 1
        return index

    def play(self, request: dict[str, Any]) -> httpx.Response:
        """The recorded response to ``request``; :class:`CassetteMiss` if there is none."""
        with self._lock:
            response = self.interactions[self._find(request)]["response"]
        headers = list(response.get("headers", {}).items())
        if "events" in response:
            chunks = [encode_event(event) for event in response["events"]]
        elif "json" in response:
            chunks = [json.dumps(response["json"], ensure_ascii=False, separators=(",", ":")).encode("utf-8")]
        else:
            chunks = [str(response.get("text", "")).encode("utf-8")]
        return httpx.Response(response["status"], headers=headers, stream=_Chunks([c for c in chunks if c]))


class RecordingTransport(httpx.BaseTransport):
    """Sends each request with ``inner`` and records it and its response into the cassette."""

    def __init__(self, cassette: Cassette, inner: httpx.BaseTransport) -> None:
        self.cassette = cassette
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        described = describe(request, request.read())
        response = self.inner.handle_request(request)
        response.stream = _Tee(response.stream, self.cassette._recorder(described, response))
        return response

    def close(self) -> None:
        self.inner.close()


class ReplayTransport(httpx.BaseTransport):
    """Answers each request from the cassette; never opens a connection."""

    def __init__(self, cassette: Cassette) -> None:
        self.cassette = cassette

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.cassette.play(describe(request, request.read()))


class AsyncRecordingTransport(httpx.AsyncBaseTransport):
    """:class:`RecordingTransport` for ``httpx.AsyncClient``."""

    def __init__(self, cassette: Cassette, inner: httpx.AsyncBaseTransport) -> None:
        self.cassette = cassette
        self.inner = inner

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        described = describe(request, await request.aread())
        response = await self.inner.handle_async_request(request)
        response.stream = _Tee(response.stream, self.cassette._recorder(described, response))
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class AsyncReplayTransport(httpx.AsyncBaseTransport):
    """:class:`ReplayTransport` for ``httpx.AsyncClient``."""

    def __init__(self, cassette: Cassette) -> None:
        self.cassette = cassette

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self.cassette.play(describe(request, await request.aread()))
