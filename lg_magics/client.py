"""A small synchronous client for the Agent Server HTTP API (httpx + httpx-sse).

Only what the magics need. Errors come out as ``lg_magics.exceptions`` classes
with a message a notebook user can act on.
"""

from __future__ import annotations

import contextlib
import ssl
import urllib.request
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Optional, Union
from urllib.parse import urlsplit

import httpx
from httpx_sse import EventSource, SSEError

from . import __version__
from .environment import VERIFY_ENV
from .exceptions import CertificateError, ServerError, ServerUnreachable, StreamInterrupted
from .protocol import Event, decode_event, display_url, http_error, is_loopback, redact, run_location

TIMEOUT = httpx.Timeout(connect=5.0, read=300.0, write=300.0, pool=5.0)
STREAM_HEADERS = {"accept": "text/event-stream", "cache-control": "no-store"}


def runs_path(thread_id: Optional[str], suffix: str) -> str:
    return f"/threads/{thread_id}/runs{suffix}" if thread_id else f"/runs{suffix}"


def join_headers(last_event_id: Optional[str]) -> dict[str, str]:
    # No stream_mode filter: the server stores only the modes the run asked for, and a
    # filter would also drop live `error` events (and repeated parameters keep only the last).
    return {**STREAM_HEADERS, "last-event-id": last_event_id} if last_event_id else dict(STREAM_HEADERS)


#: Paths that answer when a server is up, in the order we ask: langgraph-api has /ok, Aegra /health.
READINESS_PATHS = ("/ok", "/info", "/health")
#: Assistants per page of a search: some servers (Aegra) refuse more than 100.
PAGE = 100


def unreachable(url: str, exc: Exception) -> ServerUnreachable:
    url = display_url(url)
    if "CERTIFICATE_VERIFY_FAILED" in str(exc) or isinstance(exc.__context__, ssl.SSLCertVerificationError):
        return CertificateError(
            f"The server at {url} has a TLS certificate this machine does not trust. Set {VERIFY_ENV} "
            "(or %config AgentMagics.verify) to the path of your CA bundle, or to off for a test server."
        )
    return ServerUnreachable(
        f"No Agent Server answers at {url} ({type(exc).__name__}). "
        "Start the embedded one with %agent serve, or point to yours with %agent connect URL."
    )


@dataclass(frozen=True)
class Access:
    """How requests authenticate and travel: API key, bearer token, extra headers, TLS verification.

    Every value but ``verify`` is a secret: the repr says only which are set.
    """

    api_key: Optional[str] = None
    auth_token: Optional[str] = None
    headers: tuple[tuple[str, str], ...] = ()
    verify: Union[bool, str] = True

    def __repr__(self) -> str:
        shown = [name for name in ("api_key", "auth_token") if getattr(self, name)]
        shown += [f"headers={sorted(name for name, _ in self.headers)}"] if self.headers else []
        return f"Access({', '.join(shown)}{', ' if shown else ''}verify={self.verify!r})"

    @property
    def secrets(self) -> list[str]:
        """The values to redact wherever text is shown or saved; very short ones would redact ordinary text."""
        return [value for value in (self.api_key, self.auth_token, *(v for _, v in self.headers)) if value and len(value) >= 8]

    def request_headers(self) -> dict[str, str]:
        headers = {"user-agent": f"lg-magics/{__version__}"}
        headers.update(dict(self.headers))
        if self.api_key:
            headers["x-api-key"] = self.api_key
        if self.auth_token:
            headers["authorization"] = f"Bearer {self.auth_token}"
        return headers


def proxy_for(url: str) -> Optional[str]:
    """The proxy the environment (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY) names for ``url``; never one for loopback."""
    if is_loopback(url):
        return None
    parts = urlsplit(url)
    if urllib.request.proxy_bypass(parts.hostname or ""):
        return None
    proxies = urllib.request.getproxies()
    return proxies.get(parts.scheme) or proxies.get("all")


def ssl_verify(verify: Union[bool, str]) -> Union[bool, ssl.SSLContext]:
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return verify


def client_options(url: str, access: Access) -> dict[str, Any]:
    """What both clients give httpx: the URL without its ``user:password@``, the Basic auth those stand
    for (a bearer token wins: both would be an ``Authorization`` header), our headers and timeouts."""
    parsed = httpx.URL(url)
    auth = None
    if parsed.username or parsed.password:
        url = str(parsed.copy_with(username=None, password=None))
        auth = None if access.auth_token else httpx.BasicAuth(parsed.username, parsed.password)
    return {"base_url": url, "auth": auth, "headers": access.request_headers(), "timeout": TIMEOUT}


def http_transport(url: str, access: Access) -> httpx.HTTPTransport:
    """The transport to ``url``: our proxy choice (loopback bypasses it) and TLS setting."""
    return httpx.HTTPTransport(verify=ssl_verify(access.verify), proxy=proxy_for(url))


def async_http_transport(url: str, access: Access) -> httpx.AsyncHTTPTransport:
    return httpx.AsyncHTTPTransport(verify=ssl_verify(access.verify), proxy=proxy_for(url))


def dropped(url: str, exc: Exception) -> StreamInterrupted:
    return StreamInterrupted(f"The connection to {display_url(url)} dropped during the run ({type(exc).__name__}).")


def scrubbed(error: ServerError, access: Access) -> ServerError:
    """``error`` with any secret we sent removed from its text (a server may echo a header back)."""
    secrets = access.secrets
    message = redact(str(error), secrets)
    if message != str(error):
        error.args = (message,)
        error.detail = redact(error.detail, secrets)
    return error


class RunStream:
    """An open run stream. Iterate it for :class:`Event` objects; a clean EOF ends the stream."""

    def __init__(self, response: httpx.Response, url: str) -> None:
        self.response = response
        self.url = url
        self.thread_id, self.run_id = run_location(response.headers)

    def __iter__(self) -> Iterator[Event]:
        try:
            for sse in EventSource(self.response).iter_sse():
                yield decode_event(sse.event, sse.data, sse.id)
        except (httpx.TransportError, SSEError) as exc:
            raise dropped(self.url, exc) from None

    async def __aiter__(self) -> AsyncIterator[Event]:
        try:
            async for sse in EventSource(self.response).aiter_sse():
                yield decode_event(sse.event, sse.data, sse.id)
        except (httpx.TransportError, SSEError) as exc:
            raise dropped(self.url, exc) from None


class Client:
    """Synchronous Agent Server client. ``api_key`` is sent as ``x-api-key``, ``access`` adds a bearer
    token, headers and TLS settings; none of them is ever shown. ``url`` is for showing (no password);
    ``base_url`` is where requests go."""

    def __init__(
        self,
        url: str,
        api_key: Optional[str] = None,
        *,
        access: Optional[Access] = None,
        transport: Optional[httpx.BaseTransport] = None,
    ) -> None:
        self.base_url = url.rstrip("/")
        self.url = display_url(self.base_url)
        self.access = access or Access(api_key=api_key)
        transport = transport or http_transport(self.base_url, self.access)
        self._http = httpx.Client(**client_options(self.base_url, self.access), transport=transport)

    def __repr__(self) -> str:
        return f"Client(url={self.url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _error(self, response: httpx.Response, what: str) -> ServerError:
        return scrubbed(http_error(response.status_code, response.content, what), self.access)

    def _request(self, method: str, path: str, *, json: Any = None, params: Any = None) -> httpx.Response:
        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from None
        if response.status_code >= 400:
            raise self._error(response, f"{method} {path}")
        return response

    def _json(self, method: str, path: str, *, json: Any = None, params: Any = None) -> Any:
        response = self._request(method, path, json=json, params=params)
        return response.json() if response.content.strip() else None

    # -- server -------------------------------------------------------------------------------
    def ok(self) -> bool:
        """True when the server answers a readiness path (``/ok``, else ``/info`` or ``/health``)."""
        for path in READINESS_PATHS:
            try:
                self._request("GET", path)
                return True
            except ServerError as exc:
                if exc.status_code != 404 or path == READINESS_PATHS[-1]:
                    raise
        return False

    def check_access(self) -> None:
        """Ask an endpoint that needs authentication (readiness paths often do not): 401/403 raise."""
        self._json("POST", "/assistants/search", json={"limit": 1, "offset": 0})

    def info(self) -> dict[str, Any]:
        return self._json("GET", "/info")

    # -- assistants ---------------------------------------------------------------------------
    def search_assistants(self, *, limit: int = PAGE, offset: int = 0, **filters: Any) -> list[dict[str, Any]]:
        return self._json("POST", "/assistants/search", json={"limit": limit, "offset": offset, **filters})

    def all_assistants(self, **filters: Any) -> list[dict[str, Any]]:
        """Every assistant that matches, a page of at most :data:`PAGE` at a time."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.search_assistants(limit=PAGE, offset=len(found), **filters)
            found += page
            if len(page) < PAGE:
                return found

    def get_assistant(self, assistant_id: str) -> dict[str, Any]:
        return self._json("GET", f"/assistants/{assistant_id}")

    def get_graph(self, assistant: str, *, xray: bool = False) -> dict[str, Any]:
        """Nodes and edges. Takes an assistant ID or a graph name; ``xray`` expands subgraphs."""
        return self._json("GET", f"/assistants/{assistant}/graph", params={"xray": "true"} if xray else None)

    def get_schemas(self, assistant_id: str) -> dict[str, Any]:
        """Input, output, state, config and context JSON schemas (an assistant ID only, not a name)."""
        return self._json("GET", f"/assistants/{assistant_id}/schemas")

    # -- threads ------------------------------------------------------------------------------
    def create_thread(self, *, thread_id: Optional[str] = None, metadata: Optional[dict[str, Any]] = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if thread_id:
            body["thread_id"] = thread_id
        if metadata:
            body["metadata"] = metadata
        return self._json("POST", "/threads", json=body)

    def get_thread(self, thread_id: str) -> dict[str, Any]:
        return self._json("GET", f"/threads/{thread_id}")

    def get_state(self, thread_id: str) -> dict[str, Any]:
        return self._json("GET", f"/threads/{thread_id}/state")

    def get_history(self, thread_id: str, *, limit: int = 10) -> list[dict[str, Any]]:
        """Checkpoints, newest first. ``limit`` is always sent: the server's default is 1."""
        return self._json("POST", f"/threads/{thread_id}/history", json={"limit": limit})

    def search_threads(self, *, limit: int = 10, offset: int = 0, **filters: Any) -> list[dict[str, Any]]:
        """Threads, most recently updated first."""
        body = {"limit": limit, "offset": offset, "sort_by": "updated_at", "sort_order": "desc", **filters}
        return self._json("POST", "/threads/search", json=body)

    def delete_thread(self, thread_id: str) -> None:
        self._request("DELETE", f"/threads/{thread_id}")

    # -- runs ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _stream(self, method: str, path: str, body: Any = None, headers: Optional[dict[str, str]] = None) -> Iterator[RunStream]:
        try:
            with self._http.stream(method, path, json=body, headers=headers or STREAM_HEADERS) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._error(response, f"{method} {path}")
                yield RunStream(response, self.url)
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from None

    def stream_run(self, thread_id: Optional[str], body: dict[str, Any]) -> contextlib.AbstractContextManager[RunStream]:
        """Start a run and stream it; ``thread_id=None`` is a stateless run."""
        return self._stream("POST", runs_path(thread_id, "/stream"), body)

    def join_stream(
        self, thread_id: str, run_id: str, last_event_id: Optional[str] = None
    ) -> contextlib.AbstractContextManager[RunStream]:
        """Stream a run that exists; with ``last_event_id`` a resumable run replays what came after it."""
        return self._stream("GET", f"/threads/{thread_id}/runs/{run_id}/stream", headers=join_headers(last_event_id))

    def create_run(self, thread_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """Start a run without waiting for it (a background run); returns the Run."""
        return self._json("POST", runs_path(thread_id, ""), json=body)

    def wait_run(self, thread_id: Optional[str], body: dict[str, Any]) -> tuple[Any, Optional[str], Optional[str]]:
        """Run to the end without streaming: (result, thread_id, run_id).

        The response head names the run before its body arrives: a kernel interrupt while waiting
        cancels that run by its ID, since some servers ignore ``on_disconnect`` on ``/runs/wait``."""
        path = runs_path(thread_id, "/wait")
        tid: Optional[str] = None
        rid: Optional[str] = None
        try:
            with self._http.stream("POST", path, json=body) as response:
                tid, rid = run_location(response.headers)
                tid = tid or thread_id
                response.read()
                if response.status_code >= 400:
                    raise self._error(response, f"POST {path}")
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from None
        except KeyboardInterrupt:
            if tid and rid:
                with contextlib.suppress(ServerError, ServerUnreachable):
                    self.cancel_run(tid, rid)
            raise
        return (response.json() if response.content.strip() else None), tid, rid

    def get_run(self, thread_id: str, run_id: str) -> dict[str, Any]:
        return self._json("GET", f"/threads/{thread_id}/runs/{run_id}")

    def cancel_run(self, thread_id: str, run_id: str, *, action: str = "interrupt", wait: bool = False) -> None:
        params = {"action": action}
        if wait:
            params["wait"] = "1"
        try:
            self._request("POST", f"/threads/{thread_id}/runs/{run_id}/cancel", params=params)
        except ServerError as exc:
            # 404 here means the run already ended, which is what cancelling wanted.
            if exc.status_code != 404:
                raise


class AsyncClient:
    """The asynchronous twin of :class:`Client`, for runs that stream in the background
    as tasks on the kernel's event loop. Only what those runs need."""

    def __init__(
        self,
        url: str,
        api_key: Optional[str] = None,
        *,
        access: Optional[Access] = None,
        transport: Optional[httpx.AsyncBaseTransport] = None,
    ) -> None:
        self.base_url = url.rstrip("/")
        self.url = display_url(self.base_url)
        self.access = access or Access(api_key=api_key)
        transport = transport or async_http_transport(self.base_url, self.access)
        self._http = httpx.AsyncClient(**client_options(self.base_url, self.access), transport=transport)

    def __repr__(self) -> str:
        return f"AsyncClient(url={self.url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _json(self, method: str, path: str, *, params: Any = None) -> Any:
        try:
            response = await self._http.request(method, path, params=params)
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from None
        if response.status_code >= 400:
            raise scrubbed(http_error(response.status_code, response.content, f"{method} {path}"), self.access)
        return response.json() if response.content.strip() else None

    async def get_run(self, thread_id: str, run_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/threads/{thread_id}/runs/{run_id}")

    async def get_state(self, thread_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/threads/{thread_id}/state")

    async def get_thread(self, thread_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/threads/{thread_id}")

    async def delete_thread(self, thread_id: str) -> None:
        await self._json("DELETE", f"/threads/{thread_id}")

    async def cancel_run(self, thread_id: str, run_id: str) -> None:
        try:
            await self._json("POST", f"/threads/{thread_id}/runs/{run_id}/cancel", params={"action": "interrupt"})
        except ServerError as exc:
            if exc.status_code != 404:  # 404: it already ended
                raise

    @contextlib.asynccontextmanager
    async def join_stream(self, thread_id: str, run_id: str, last_event_id: Optional[str] = None) -> AsyncIterator[RunStream]:
        path = f"/threads/{thread_id}/runs/{run_id}/stream"
        try:
            async with self._http.stream("GET", path, headers=join_headers(last_event_id)) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise scrubbed(http_error(response.status_code, response.content, f"GET {path}"), self.access)
                yield RunStream(response, self.url)
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from None
