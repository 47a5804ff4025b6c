"""Record and replay: every request and its response, SSE streams event by event, in a cassette file.

A notebook that ran once against a real deployment (an LLM, an API key) runs
later in CI with no deployment and no key. This works at the httpx transport
level (:meth:`Cassette.transport` for :class:`~lg_magics.client.Client`,
:meth:`Cassette.async_transport` for an ``httpx.AsyncClient``), so the client,
the runner and the live view run exactly as they do live.

* Recording passes each chunk through as it arrives (the live view keeps
  streaming) and keeps the SSE events it decodes from them (:mod:`lg_magics.sse`).
* Replay serves each recorded event as its own chunk, in the original order,
  so the client sees a stream, not a body that arrives at once.
* Which recording answers a request: :mod:`lg_magics.cassette_match`.
* The file, and the secrets kept out of it: :mod:`lg_magics.cassette_file`.

Why not vcrpy: docs/design.md.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any, Optional

import httpx

from .cassette_file import KEPT_HEADERS, dumps, load, write
from .cassette_match import Matcher, describe
from .environment import RECORD_MODE_ENV, RECORD_MODES
from .exceptions import AgentUsageError, CassetteMiss
from .protocol import redact, secrets_from_env
from .sse import SSEDecoder, encode_event, event_dict, is_sse

__all__ = ["AsyncRecordingTransport", "AsyncReplayTransport", "Cassette", "RecordingTransport", "ReplayTransport"]


def resolve_mode(mode: Optional[str], path: Path) -> str:
    """``record`` or ``replay``: ``auto`` (the default) replays when the cassette exists."""
    chosen = (mode or os.environ.get(RECORD_MODE_ENV) or "auto").strip().lower()
    if chosen not in RECORD_MODES:
        raise AgentUsageError(f"The record mode is one of {', '.join(RECORD_MODES)}, not {chosen!r}.")
    if chosen == "auto":
        return "replay" if path.exists() else "record"
    return chosen


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
                    self.response["events"].extend(map(event_dict, events))
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
        self._matcher: Optional[Matcher] = None
        if self.replaying:
            self.serve, self.interactions = load(self.path)
            self._matcher = Matcher([i["request"] for i in self.interactions], self.name)
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
    def save(self) -> None:
        with self._lock:
            # Keys set after the cassette was opened count too: the client reads the environment again.
            write(self.path, redact(dumps(self.serve, self.interactions), {*self.secrets, *secrets_from_env()}))

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
        sse = is_sse(response.headers)
        headers = {name: response.headers[name] for name in KEPT_HEADERS if name in response.headers}
        interaction: dict[str, Any] = {"request": request, "response": {"status": response.status_code, "headers": headers}}
        if sse:
            interaction["response"]["events"] = []
        with self._lock:
            self.interactions.append(interaction)
        return _Recorder(self, interaction, sse)

    # -- replay ---------------------------------------------------------------------------------
    def play(self, request: dict[str, Any]) -> httpx.Response:
        """The recorded response to ``request``; :class:`CassetteMiss` if there is none."""
        assert self._matcher is not None, "play() is for a cassette in replay mode"
        with self._lock:
            response = self.interactions[self._matcher.find(request)]["response"]
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
