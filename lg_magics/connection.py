"""Where a kernel's requests go: the embedded server it started (or borrowed), the cassette
that records or replays them, and the sync and async clients built for a URL."""

from __future__ import annotations

import contextlib
import os
from typing import Any, Optional

from .environment import CASSETTE_ENV, URL_ENV
from .protocol import api_key_from_env


class Connection:
    """The per-kernel connection state behind ``%agent serve/stop/connect/record``."""

    def __init__(self) -> None:
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
        # A new key in the environment or a new cassette makes a new client.
        return (url, api_key_from_env(), self.cassette)

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
        from .client import Client

        self._check_cassette()
        key = self._key(url)
        cached = self._clients.get(False)
        if cached is None or cached[0] != key:
            if cached is not None:
                cached[1].close()
            self._clients[False] = (key, Client(url, key[1], transport=self.transport()))
        return self._clients[False][1]

    def async_client(self, url: str) -> Any:
        """The async twin of :meth:`client`, for background runs on the kernel's event loop."""
        from .client import AsyncClient

        self._check_cassette()
        key = self._key(url)
        cached = self._clients.get(True)
        if cached is None or cached[0] != key:
            if cached is not None:
                close_async(cached[1])
            self._clients[True] = (key, AsyncClient(url, key[1], transport=self.transport(asynchronous=True)))
        return self._clients[True][1]

    def transport(self, asynchronous: bool = False) -> Any:
        """The cassette's transport while runs are recorded or replayed; None (httpx's own) otherwise."""
        self._check_cassette()
        if self.cassette is None:
            return None
        return self.cassette.async_transport() if asynchronous else self.cassette.transport()

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
            url, graphs = shared, served_graphs(shared)
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
            self.cassette.note_serve(url, self.graphs)
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
