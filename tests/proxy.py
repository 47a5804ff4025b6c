"""A small loopback TCP proxy that can cut a run's stream mid-way, or stall a response.

The real server never drops a connection on its own; this sits between the
client and the real server and hangs up on the next run stream after a given
number of response bytes, so reconnects are tested against the real server.
It can also hold back the response to a request it forwarded (the server has
acted on it, the client has not heard back) until :meth:`release`.
"""

from __future__ import annotations

import socket
import ssl
import struct
import threading
from typing import Optional


class CuttingProxy:
    """``tls``: serve HTTPS with that context in front of the plain server (as a TLS-terminating proxy
    does). ``seen`` keeps each request's first line: as an HTTP proxy it sees absolute URLs."""

    def __init__(self, upstream_port: int, tls: Optional[ssl.SSLContext] = None) -> None:
        self.upstream = ("127.0.0.1", upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.tls = tls
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.seen: list[str] = []
        self._cuts: list[tuple[str, int]] = []  # (request prefix, bytes to let through)
        self.cut_count = 0
        self.request_lines: list[str] = []  # "GET /threads/…/stream?… HTTP/1.1", in order
        self._lock = threading.Lock()
        self._closed = False
        self._stalls: list[str] = []
        self.stalled = threading.Event()  # set when a response is being held back
        self._released = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def cut_next(self, request_prefix: str, after_bytes: int, times: int = 1) -> None:
        """Hang up on the next ``times`` requests starting with ``request_prefix`` (e.g. "POST /threads/")
        after ``after_bytes`` bytes of their response."""
        with self._lock:
            self._cuts += [(request_prefix, after_bytes)] * times

    def stall_next(self, request_prefix: str) -> None:
        """Forward the next request starting with ``request_prefix`` but hold back every byte of its
        response (and of later ones on that connection) until :meth:`release`."""
        with self._lock:
            self._stalls.append(request_prefix)

    def release(self) -> None:
        self._released.set()

    def close(self) -> None:
        self._closed = True
        self._released.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        if self.tls is not None:
            try:
                client = self.tls.wrap_socket(client, server_side=True)
            except (ssl.SSLError, OSError):  # the client refused our certificate
                client.close()
                return
        upstream = socket.create_connection(self.upstream)
        # Connections are kept alive across requests: a limit counts from the bytes sent so far.
        state: dict[str, Optional[int]] = {"limit": None, "sent": 0, "stall": 0}
        threading.Thread(target=self._requests, args=(client, upstream, state), daemon=True).start()
        try:
            while True:
                data = upstream.recv(65536)
                if not data:
                    break
                if state["stall"]:
                    self.stalled.set()
                    self._released.wait()
                sent = state["sent"] or 0
                limit = state["limit"]
                if limit is not None and sent + len(data) >= limit:
                    client.sendall(data[: max(0, limit - sent)])
                    self.cut_count += 1
                    # An abrupt reset, as when a network path dies. shutdown() wakes the thread
                    # blocked reading this socket; close() alone would leave the connection open.
                    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    for sock in (client, upstream):
                        sock.shutdown(socket.SHUT_RDWR)
                    break
                client.sendall(data)
                state["sent"] = sent + len(data)
        except OSError:
            pass
        finally:
            client.close()
            upstream.close()

    def _requests(self, client: socket.socket, upstream: socket.socket, state: dict) -> None:
        try:
            while True:
                data = client.recv(65536)
                if not data:
                    break
                text = data[:200].decode("latin-1")
                if text[:4] in ("GET ", "POST", "DELE", "PUT ", "PATC"):
                    self.request_lines.append(text.split("\r\n", 1)[0])
                with self._lock:
                    if text[:1].isupper():
                        self.seen.append(text.split("\r\n", 1)[0])
                    for index, prefix in enumerate(self._stalls):
                        if text.startswith(prefix):
                            state["stall"] = 1
                            del self._stalls[index]
                            break
                    for index, (prefix, after) in enumerate(self._cuts):
                        if text.startswith(prefix) and "/stream " in text.split("\r\n", 1)[0]:
                            state["limit"] = (state["sent"] or 0) + after
                            del self._cuts[index]
                            break
                upstream.sendall(data)
        except OSError:
            pass
