"""A small synchronous client for the Agent Server HTTP API (httpx; SSE with :mod:`lg_magics.sse`).

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

from . import __version__
from .environment import VERIFY_ENV
from .exceptions import AgentUsageError, CertificateError, ServerError, ServerUnreachable, StreamInterrupted, StreamStalled
from .protocol import HEARTBEAT, Event, display_url, http_error, is_loopback, long_secrets, redact, run_location
from .sse import SSEDecoder, is_sse

#: Deadlines, in seconds (see the README's run control). A server that is there accepts a
#: connection at once.
CONNECT_TIMEOUT = 5.0
#: An ordinary request (a thread's state, a search, creating a background run).
REQUEST_TIMEOUT = 30.0
#: A cancel is sent when the user wants out (a kernel interrupt): it must not keep them waiting.
CANCEL_TIMEOUT = 5.0
#: Silence on a run stream, not even the heartbeat the Agent Server sends every 5 s: the server
#: or the path to it is stuck.
STREAM_READ_TIMEOUT = 30.0
#: ``--wait`` holds the request for the whole run (the server writes a keepalive every 5 s).
WAIT_READ_TIMEOUT = 300.0

TIMEOUT = httpx.Timeout(connect=CONNECT_TIMEOUT, read=REQUEST_TIMEOUT, write=REQUEST_TIMEOUT, pool=CONNECT_TIMEOUT)
STREAM_TIMEOUT = httpx.Timeout(connect=CONNECT_TIMEOUT, read=STREAM_READ_TIMEOUT, write=REQUEST_TIMEOUT, pool=CONNECT_TIMEOUT)
WAIT_TIMEOUT = httpx.Timeout(connect=CONNECT_TIMEOUT, read=WAIT_READ_TIMEOUT, write=REQUEST_TIMEOUT, pool=CONNECT_TIMEOUT)
SHORT = httpx.Timeout(CANCEL_TIMEOUT)
STREAM_HEADERS = {"accept": "text/event-stream", "cache-control": "no-store"}


def runs_path(thread_id: Optional[str], suffix: str) -> str:
    return f"/threads/{thread_id}/runs{suffix}" if thread_id else f"/runs{suffix}"


def join_headers(last_event_id: Optional[str]) -> dict[str, str]:
    # No stream_mode filter: the server stores only the modes the run asked for, and a
    # filter would also drop live `error` events (and repeated parameters keep only the last).
    return {**STREAM_HEADERS, "last-event-id": last_event_id} if last_event_id else dict(STREAM_HEADERS)


def join_params(subgraphs: bool) -> Optional[dict[str, str]]:
    # A run streams subgraph events when it was created with stream_subgraphs (langgraph-api decides when it
    # produces them); servers that read the flag per stream get it again on every rejoin.
    return {"stream_subgraphs": "true"} if subgraphs else None


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
        return long_secrets((self.api_key, self.auth_token, *(v for _, v in self.headers)))

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
    if isinstance(exc, httpx.ReadTimeout):
        return StreamStalled(
            f"The server at {display_url(url)} sent nothing for {STREAM_READ_TIMEOUT:.0f} s, not even its heartbeat, during the run."
        )
    return StreamInterrupted(f"The connection to {display_url(url)} dropped during the run ({type(exc).__name__}).")


def scrubbed(error: ServerError, access: Access) -> ServerError:
    """``error`` with any secret we sent removed from its text (a server may echo a header back)."""
    secrets = access.secrets
    message = redact(str(error), secrets)
    if message != str(error):
        error.args = (message,)
        error.detail = redact(error.detail, secrets)
    return error


def base_url(url: str) -> str:
    """The URL without a trailing slash; one line if it is not a URL httpx can use."""
    try:
        httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise AgentUsageError(f"{display_url(url)!r} is not a valid URL ({exc}): write it like http://127.0.0.1:2024.") from None
    return url.rstrip("/")


def decoded(response: httpx.Response, url: str) -> Any:
    """The JSON body of a response; a 200 that is not JSON (an HTML page) is one line."""
    if not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        kind = response.headers.get("content-type", "").partition(";")[0] or "no content type"
        what = f"{response.request.method} {response.request.url.path}"
        raise ServerError(
            f"{url} answered {what} with {kind}, not JSON: is it an Agent Server's URL?", response.status_code
        ) from None


def not_a_stream(url: str, what: str, response: httpx.Response) -> ServerError:
    """A 200 that is not an event stream: not an Agent Server (a login page, a proxy's page)."""
    kind = response.headers.get("content-type", "").partition(";")[0] or "no content type"
    return ServerError(
        f"{url} answered {what} with {kind}, not an event stream: is it an Agent Server's URL?", response.status_code
    )


class RunStream:
    """An open run stream. Iterate it for :class:`Event` objects; a clean EOF ends the stream.

    The server's heartbeat comes out as :data:`HEARTBEAT`, so the one following the run knows
    the server is there while the run is silent."""

    def __init__(self, response: httpx.Response, url: str) -> None:
        self.response = response
        self.url = url
        self.thread_id, self.run_id = run_location(response.headers)

    @staticmethod
    def _events(decoder: SSEDecoder, chunk: bytes) -> list[Event]:
        comments = decoder.comments
        events = [
            Event(name, value if is_json else value or None, id_ or None) for name, value, id_, is_json in decoder.feed(chunk)
        ]
        return events or ([HEARTBEAT] if decoder.comments > comments else [])

    def __iter__(self) -> Iterator[Event]:
        decoder = SSEDecoder()
        try:
            for chunk in self.response.iter_bytes():
                yield from self._events(decoder, chunk)
        except httpx.TransportError as exc:
            raise dropped(self.url, exc) from None

    async def __aiter__(self) -> AsyncIterator[Event]:
        decoder = SSEDecoder()
        try:
            async for chunk in self.response.aiter_bytes():
                for event in self._events(decoder, chunk):
                    yield event
        except httpx.TransportError as exc:
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
        self.base_url = base_url(url)
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

    def _request(
        self, method: str, path: str, *, json: Any = None, params: Any = None, timeout: httpx.Timeout = TIMEOUT
    ) -> httpx.Response:
        try:
            response = self._http.request(method, path, json=json, params=params, timeout=timeout)
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from None
        if response.status_code >= 400:
            raise self._error(response, f"{method} {path}")
        return response

    def _json(self, method: str, path: str, *, json: Any = None, params: Any = None) -> Any:
        return decoded(self._request(method, path, json=json, params=params), self.url)

    # -- server -------------------------------------------------------------------------------
    def ok(self) -> bool:
        """True when the server answers a readiness path (``/ok``, else ``/info`` or ``/health``), each
        within :data:`CANCEL_TIMEOUT` (``%agent connect``)."""
        for path in READINESS_PATHS:
            try:
                decoded(self._request("GET", path, timeout=SHORT), self.url)
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

    def list_runs(self, thread_id: str, *, limit: int = 10, timeout: httpx.Timeout = TIMEOUT) -> list[dict[str, Any]]:
        """The thread's runs, newest first."""
        return decoded(self._request("GET", f"/threads/{thread_id}/runs", params={"limit": limit}, timeout=timeout), self.url)

    # -- runs ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _stream(
        self, method: str, path: str, body: Any = None, headers: Optional[dict[str, str]] = None, params: Any = None
    ) -> Iterator[RunStream]:
        try:
            with self._http.stream(
                method, path, json=body, headers=headers or STREAM_HEADERS, params=params, timeout=STREAM_TIMEOUT
            ) as response:
                if response.status_code >= 400:
                    response.read()
                    raise self._error(response, f"{method} {path}")
                if not is_sse(response.headers):
                    raise not_a_stream(self.url, f"{method} {path}", response)
                yield RunStream(response, self.url)
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from None

    def stream_run(self, thread_id: Optional[str], body: dict[str, Any]) -> contextlib.AbstractContextManager[RunStream]:
        """Start a run and stream it; ``thread_id=None`` is a stateless run."""
        return self._stream("POST", runs_path(thread_id, "/stream"), body)

    def join_stream(
        self, thread_id: str, run_id: str, last_event_id: Optional[str] = None, *, subgraphs: bool = False
    ) -> contextlib.AbstractContextManager[RunStream]:
        """Stream a run that exists; with ``last_event_id`` a resumable run replays what came after it."""
        path = f"/threads/{thread_id}/runs/{run_id}/stream"
        return self._stream("GET", path, headers=join_headers(last_event_id), params=join_params(subgraphs))

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
            with self._http.stream("POST", path, json=body, timeout=WAIT_TIMEOUT) as response:
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
        return decoded(response, self.url), tid, rid

    def get_run(self, thread_id: str, run_id: str, *, short: bool = False) -> dict[str, Any]:
        """The run; ``short``: within :data:`CANCEL_TIMEOUT` (is a silent server still there?)."""
        return decoded(self._request("GET", f"/threads/{thread_id}/runs/{run_id}", timeout=SHORT if short else TIMEOUT), self.url)

    def cancel_run(self, thread_id: str, run_id: str, *, action: str = "interrupt", wait: bool = False) -> None:
        """Cancel within :data:`CANCEL_TIMEOUT` (``wait``: until the run has stopped, which takes longer)."""
        params = {"action": action}
        if wait:
            params["wait"] = "1"
        try:
            self._request("POST", f"/threads/{thread_id}/runs/{run_id}/cancel", params=params, timeout=TIMEOUT if wait else SHORT)
        except ServerError as exc:
            # 404 here means the run already ended, which is what cancelling wanted.
            if exc.status_code != 404:
                raise

    # -- time travel, assistants and the store (issue 13) ---------------------------------------

    def update_state(
        self, thread_id: str, values: Any, *, as_node: Optional[str] = None, checkpoint_id: Optional[str] = None
    ) -> dict[str, Any]:
        """Write ``values`` as a new checkpoint (after ``checkpoint_id``, as if ``as_node`` wrote them)."""
        body: dict[str, Any] = {"values": values}
        if as_node:
            body["as_node"] = as_node
        if checkpoint_id:
            body["checkpoint_id"] = checkpoint_id
        return self._json("POST", f"/threads/{thread_id}/state", json=body)

    def create_assistant(self, graph_id: str, *, name: str, **fields: Any) -> dict[str, Any]:
        return self._json("POST", "/assistants", json={"graph_id": graph_id, "name": name, **fields})

    def update_assistant(self, assistant_id: str, **fields: Any) -> dict[str, Any]:
        """A new version of the assistant, made the latest."""
        return self._json("PATCH", f"/assistants/{assistant_id}", json=fields)

    def assistant_versions(self, assistant_id: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Versions, newest first."""
        return self._json("POST", f"/assistants/{assistant_id}/versions", json={"limit": limit})

    def set_latest_version(self, assistant_id: str, version: int) -> dict[str, Any]:
        return self._json("POST", f"/assistants/{assistant_id}/latest", json={"version": version})

    def delete_assistant(self, assistant_id: str) -> None:
        self._request("DELETE", f"/assistants/{assistant_id}")

    def store_namespaces(self, prefix: Optional[list[str]] = None, *, limit: int = 100) -> list[list[str]]:
        body: dict[str, Any] = {"limit": limit}
        if prefix:
            body["prefix"] = prefix
        return list(self._json("POST", "/store/namespaces", json=body).get("namespaces") or [])

    def search_store(self, namespace: list[str], *, query: Optional[str] = None, limit: int = 10) -> list[dict[str, Any]]:
        body: dict[str, Any] = {"namespace_prefix": namespace, "limit": limit}
        if query:
            body["query"] = query
        return list(self._json("POST", "/store/items/search", json=body).get("items") or [])

    def get_store_item(self, namespace: list[str], key: str) -> Optional[dict[str, Any]]:
        """The item, or None when the namespace has no such key (langgraph-api answers null, Aegra 404)."""
        try:
            return self._json("GET", "/store/items", params={"namespace": ".".join(namespace), "key": key})
        except ServerError as exc:
            if exc.status_code == 404:
                return None
            raise

    def put_store_item(self, namespace: list[str], key: str, value: dict[str, Any]) -> None:
        self._request("PUT", "/store/items", json={"namespace": namespace, "key": key, "value": value})

    def delete_store_item(self, namespace: list[str], key: str) -> None:
        self._request("DELETE", "/store/items", json={"namespace": namespace, "key": key})


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
        self.base_url = base_url(url)
        self.url = display_url(self.base_url)
        self.access = access or Access(api_key=api_key)
        transport = transport or async_http_transport(self.base_url, self.access)
        self._http = httpx.AsyncClient(**client_options(self.base_url, self.access), transport=transport)

    def __repr__(self) -> str:
        return f"AsyncClient(url={self.url!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _json(self, method: str, path: str, *, params: Any = None, timeout: httpx.Timeout = TIMEOUT) -> Any:
        try:
            response = await self._http.request(method, path, params=params, timeout=timeout)
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from None
        if response.status_code >= 400:
            raise scrubbed(http_error(response.status_code, response.content, f"{method} {path}"), self.access)
        return decoded(response, self.url)

    async def get_run(self, thread_id: str, run_id: str, *, short: bool = False) -> dict[str, Any]:
        return await self._json("GET", f"/threads/{thread_id}/runs/{run_id}", timeout=SHORT if short else TIMEOUT)

    async def get_state(self, thread_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/threads/{thread_id}/state")

    async def get_thread(self, thread_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/threads/{thread_id}")

    async def delete_thread(self, thread_id: str) -> None:
        await self._json("DELETE", f"/threads/{thread_id}")

    @contextlib.asynccontextmanager
    async def join_stream(
        self, thread_id: str, run_id: str, last_event_id: Optional[str] = None, *, subgraphs: bool = False
    ) -> AsyncIterator[RunStream]:
        path = f"/threads/{thread_id}/runs/{run_id}/stream"
        try:
            async with self._http.stream(
                "GET", path, headers=join_headers(last_event_id), params=join_params(subgraphs), timeout=STREAM_TIMEOUT
            ) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise scrubbed(http_error(response.status_code, response.content, f"GET {path}"), self.access)
                if not is_sse(response.headers):
                    raise not_a_stream(self.url, f"GET {path}", response)
                yield RunStream(response, self.url)
        except httpx.TransportError as exc:
            raise unreachable(self.url, exc) from None
