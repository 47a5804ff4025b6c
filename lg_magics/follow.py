"""Follow a thread run's events to its end, rejoining after a dropped connection.

The server never sends an ``end`` event: a clean EOF may be the run's end or
a proxy hanging up. After each EOF we ask for the run's status; while it is
still pending or running, and after a transport error, we rejoin
``GET /threads/{tid}/runs/{rid}/stream`` with ``Last-Event-ID`` (our runs are
created resumable), backing off between a bounded number of tries. The
:class:`~lg_magics.protocol.EventCursor` makes every event arrive once.

Sync (foreground cells, ``%agent wait``) and async (background tasks) twins
share the cursor and the delays; only the waiting differs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol

from .exceptions import ServerError, ServerUnreachable, StreamInterrupted, StreamStalled
from .protocol import ACTIVE_STATUSES, RECONNECT_DELAYS, Event, EventCursor

if TYPE_CHECKING:
    from .client import AsyncClient, Client, RunStream

STATELESS_DROP = (
    "The connection dropped during a stateless run, and stateless streams cannot be rejoined: "
    "run it on a thread (without --stateless) to get automatic reconnects."
)


def gave_up(tries: int) -> StreamInterrupted:
    return StreamInterrupted(
        f"The connection to the run dropped and {tries} reconnection attempts failed; "
        "the run may still be going on the server (%agent wait or %agent cancel)."
    )


def stalled(exc: StreamStalled) -> StreamInterrupted:
    return StreamInterrupted(f"{str(exc).rstrip('.')}, and it does not answer now: the run may still be going on the server.")


class RunIdentity(Protocol):
    """Where the run id lives (the transcript): known from the response headers, or from the
    stream's metadata event, which is folded before the next event is asked for."""

    run_id: Optional[str]


class Follower:
    """Events of one thread run, exactly once, across reconnects. ``status`` is set at the end."""

    def __init__(
        self,
        thread_id: Optional[str],
        run: RunIdentity,
        cursor: Optional[EventCursor] = None,
        *,
        delays: Optional[tuple[float, ...]] = None,
        subgraphs: bool = False,
    ) -> None:
        self.thread_id = thread_id
        self.run = run
        self.cursor = cursor or EventCursor()
        self.delays = RECONNECT_DELAYS if delays is None else delays
        self.subgraphs = subgraphs  # sent again on every rejoin
        self.status: Optional[str] = None
        self.gone = False  # the run was deleted while we followed it (--multitask rollback)
        self.error_message: Optional[str] = None  # the run record's, where a server keeps the text (Aegra)

    @property
    def run_id(self) -> Optional[str]:
        return self.run.run_id

    def _gone(self, exc: ServerError) -> bool:
        """A 404 for a run we follow: another run rolled it back (``--multitask rollback`` deletes
        the run it replaces), or it was deleted. It ended, cancelled."""
        if exc.status_code != 404 or self.run_id is None:
            return False
        self.status, self.gone = "interrupted", True
        return True

    def _note_record(self, run: dict[str, Any]) -> None:
        self.status = run.get("status")
        message = run.get("error_message")
        self.error_message = message if isinstance(message, str) and message else None

    def _next_delay(self, attempt: int, error: Optional[Exception]) -> float:
        if self.thread_id is None:
            raise StreamInterrupted(STATELESS_DROP) from None
        if self.run_id is None:
            raise error or gave_up(0)
        if attempt >= len(self.delays):
            raise gave_up(attempt) from None
        return self.delays[attempt]

    def events(
        self, client: Client, first: Optional[RunStream] = None, sleep: Callable[[float], Any] = time.sleep
    ) -> Iterator[Event]:
        attempt = 0
        stream = first
        while True:
            error: Optional[Exception] = None
            try:
                with contextlib.ExitStack() as stack:
                    if stream is None:
                        assert self.thread_id and self.run_id
                        stream = stack.enter_context(
                            client.join_stream(self.thread_id, self.run_id, self.cursor.rejoin_from(), subgraphs=self.subgraphs)
                        )
                    for event in stream:
                        if self.cursor.deliver(event):
                            attempt = 0
                            yield event
                stream = None
                if self.thread_id is None or self.run_id is None:
                    return
                self._note_record(client.get_run(self.thread_id, self.run_id))
                if self.status not in ACTIVE_STATUSES:
                    return
            except StreamStalled as exc:
                # A silent server is asked once, briefly, whether the run goes on (a proxy may have
                # lost the connection); one that does not answer ends the following at once.
                stream, error = None, exc
                if self.thread_id is None or self.run_id is None:
                    raise
                try:
                    self.status = client.get_run(self.thread_id, self.run_id, short=True).get("status")
                except (ServerError, ServerUnreachable):
                    raise stalled(exc) from None
                if self.status not in ACTIVE_STATUSES:
                    return
            except ServerError as exc:
                if self._gone(exc):
                    return
                raise
            except (StreamInterrupted, ServerUnreachable) as exc:  # a rejoin that fails is one more try
                stream, error = None, exc
            sleep(self._next_delay(attempt, error))
            attempt += 1

    async def aevents(self, client: AsyncClient) -> AsyncIterator[Event]:
        """Async twin of :meth:`events` for a run that exists (it always joins)."""
        assert self.thread_id and self.run_id
        attempt = 0
        while True:
            error: Optional[Exception] = None
            try:
                last_id = self.cursor.rejoin_from()
                async with client.join_stream(self.thread_id, self.run_id, last_id, subgraphs=self.subgraphs) as stream:
                    async for event in stream:
                        if self.cursor.deliver(event):
                            attempt = 0
                            yield event
                self._note_record(await client.get_run(self.thread_id, self.run_id))
                if self.status not in ACTIVE_STATUSES:
                    return
            except StreamStalled as exc:
                error = exc
                try:
                    self.status = (await client.get_run(self.thread_id, self.run_id, short=True)).get("status")
                except (ServerError, ServerUnreachable):
                    raise stalled(exc) from None
                if self.status not in ACTIVE_STATUSES:
                    return
            except ServerError as exc:
                if self._gone(exc):
                    return
                raise
            except (StreamInterrupted, ServerUnreachable) as exc:  # a rejoin that fails is one more try
                error = exc
            await asyncio.sleep(self._next_delay(attempt, error))
            attempt += 1
