"""Where a kernel's requests go: the embedded server it started (or borrowed), the cassette
that records or replays them, and the sync and async clients built for a URL."""

from __future__ import annotations

import contextlib
import os
from typing import Any, Callable, Optional

from .environment import CASSETTE_ENV, URL_ENV
from .protocol import api_key_from_env, display_url


def default_access() -> Any:
    from .client import Access

    return Access(api_key=api_key_from_env())


class Connection:
    """The per-kernel connection state behind ``%agent serve/stop/connect/record``.

    ``access`` says how to authenticate (read at each use: the environment and settings may change)."""

    def __init__(self, access: Callable[[], Any] = default_access) -> None:
        self.access = access
        self.server: Any = None  # the EmbeddedServer this kernel started
        self.graphs: list[str] = []
        self.borrowed = ""  # URL of a server we use as if served but did not start
        self.cassette: Any = None
        self.cassette_env_read = False
        # A cassette that was asked for but cannot be used: every request fails with this until
        # another cassette or %agent record --off, so a notebook meant to replay never goes live.
        self.cassette_error: Optional[Exception] = None
        self._clients: dict[bool, tuple[tuple[Any, ...], Any]] = {}

    def _key(self, url: str) -> tuple[Any, ...]:
        from .client import proxy_for

        # A new key in the environment, new settings, a new proxy or a new cassette make a new client.
        return (url, self.access(), proxy_for(url), self.cassette)

    def use_cassette(self, path: Optional[str], mode: Optional[str] = None) -> Any:
        """Record or replay through the cassette at ``path`` from now on; ``None``: no cassette."""
        from .cassette import Cassette
        from .exceptions import AgentError

        self.cassette_env_read = True  # an explicit choice wins over $LG_MAGICS_CASSETTE
        self.cassette = self.cassette_error = None
        if path is None:
            return None
        try:
            self.cassette = Cassette(path, mode)
        except AgentError as exc:  # a missing or broken file, a bad mode
            self.cassette_error = exc
            raise
        return self.cassette

    def _check_cassette(self) -> None:
        from .exceptions import AgentError, CassetteError

        if not self.cassette_env_read and os.environ.get(CASSETTE_ENV):
            with contextlib.suppress(AgentError):  # kept in cassette_error, said below
                self.use_cassette(os.environ[CASSETTE_ENV])
        self.cassette_env_read = True
        if self.cassette_error is not None:
            raise CassetteError(
                f"{str(self.cassette_error).rstrip('.')}. Nothing runs until the cassette is fixed "
                "(%agent record PATH) or dropped (%agent record --off)."
            )

    def client(self, url: str) -> Any:

        self._check_cassette()
        key = self._key(url)
        cached = self._clients.get(False)
        if cached is None or cached[0] != key:
            if cached is not None:
                cached[1].close()
            self._clients[False] = (key, self.new_client(url, key[1]))
        return self._clients[False][1]

    def new_client(self, url: str, access: Any = None) -> Any:
        """A client of its own (the caller closes it), through the cassette if there is one."""
        from .client import Client, http_transport

        access = access or self.access()
        return Client(url, access=access, transport=self.transport(http_transport(url, access), access))

    def async_client(self, url: str) -> Any:
        """The async twin of :meth:`client`, for background runs on the kernel's event loop."""
        from .client import AsyncClient, async_http_transport

        self._check_cassette()
        key = self._key(url)
        cached = self._clients.get(True)
        if cached is None or cached[0] != key:
            if cached is not None:
                close_async(cached[1])
            inner = async_http_transport(url, key[1])
            self._clients[True] = (
                key,
                AsyncClient(url, access=key[1], transport=self.transport(inner, key[1], asynchronous=True)),
            )
        return self._clients[True][1]

    def transport(self, inner: Any = None, access: Any = None, asynchronous: bool = False) -> Any:
        """The cassette's transport around ``inner`` while runs are recorded or replayed; else ``inner``."""
        self._check_cassette()
        if self.cassette is None:
            return inner
        if access is not None:
            # Tokens and header values from settings are secrets the cassette must never save.
            self.cassette.secrets.extend(secret for secret in access.secrets if secret not in self.cassette.secrets)
        return self.cassette.async_transport(inner) if asynchronous else self.cassette.transport(inner)

    def serve(self, path: Optional[str], port: Optional[int]) -> str:
        """Start (or, under the pytest plugin or a replay, borrow) a server; returns its URL."""
        from .server import EmbeddedServer, served_graphs

        self.transport()  # opens the cassette named by the environment, if any
        shared = os.environ.get(URL_ENV, "").rstrip("/") if path is None and port is None else ""
        if self.cassette is not None and self.cassette.replaying:
            # Replay starts nothing: the cassette says what serve printed when it was recorded.
            url, graphs = self.cassette.served()
            self.stop()
            self.borrowed, self.graphs = url, graphs
        elif shared:
            # A server started for the whole session (the pytest plugin): use it, never stop it.
            from .client import Client

            # Not through the cassette: replay reads the graphs from it, recorded by note_serve.
            with Client(shared, access=self.access()) as client:
                url, graphs = shared, served_graphs(client)
            self.stop()
            self.borrowed, self.graphs = url, graphs
        else:
            server = EmbeddedServer(path, port=port)
            # A typo in the path or a bad port leaves the running server alone.
            server.check(current_port=self.server.port if self.server is not None else None)
            self.stop()
            url = server.start()  # on EmbeddedServerError nothing is kept
            self.server, self.graphs = server, server.graphs
        if self.cassette is not None:
            self.cassette.note_serve(display_url(url), self.graphs)
        return url

    def current(self) -> Optional[str]:
        """The URL of the server this kernel serves or borrowed, if any."""
        return self.borrowed or (str(self.server.url) if self.server is not None else None)

    def stop(self) -> Optional[str]:
        """Stop the server this kernel started, or let go of a borrowed one. Its URL, or None if none."""
        if self.borrowed:
            url, self.borrowed = self.borrowed, ""
            return url
        if self.server is None:
            return None
        url = self.server.url
        self.server.stop()
        self.server = None
        return str(url)

    def close(self) -> None:
        self.stop()
        cached = self._clients.pop(False, None)
        if cached is not None:
            cached[1].close()
        cached = self._clients.pop(True, None)
        if cached is not None:
            close_async(cached[1])


def close_async(client: Any) -> None:
    """Close an AsyncClient from sync code: on the kernel's loop when it runs (its connections
    belong to that loop), else on a loop of its own."""
    import asyncio

    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        try:
            asyncio.run(client.aclose())
        except RuntimeError:
            pass  # its connections belong to a loop that is gone: nothing is left to close
        return
    task = loop.create_task(client.aclose())
    _closing.add(task)  # a task nobody references may be garbage-collected before it runs
    task.add_done_callback(_closing.discard)


_closing: set[Any] = set()
