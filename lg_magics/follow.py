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

from .exceptions import ServerUnreachable, StreamInterrupted
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
    ) -> None:
        self.thread_id = thread_id
        self.run = run
        self.cursor = cursor or EventCursor()
        self.delays = RECONNECT_DELAYS if delays is None else delays
        self.status: Optional[str] = None
        self.error_message: Optional[str] = None  # the run record's, where a server keeps the text (Aegra)

    @property
    def run_id(self) -> Optional[str]:
        return self.run.run_id

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
            error = None
            try:
                with contextlib.ExitStack() as stack:
                    if stream is None:
                        assert self.thread_id and self.run_id
                        stream = stack.enter_context(client.join_stream(self.thread_id, self.run_id, self.cursor.rejoin_from()))
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
            except (StreamInterrupted, ServerUnreachable) as exc:  # a rejoin that fails is one more try
                stream, error = None, exc
            sleep(self._next_delay(attempt, error))
            attempt += 1

    async def aevents(self, client: AsyncClient) -> AsyncIterator[Event]:
        """Async twin of :meth:`events` for a run that exists (it always joins)."""
        assert self.thread_id and self.run_id
        attempt = 0
        while True:
            error = None
            try:
                async with client.join_stream(self.thread_id, self.run_id, self.cursor.rejoin_from()) as stream:
                    async for event in stream:
                        if self.cursor.deliver(event):
                            attempt = 0
                            yield event
                self._note_record(await client.get_run(self.thread_id, self.run_id))
                if self.status not in ACTIVE_STATUSES:
                    return
            except (StreamInterrupted, ServerUnreachable) as exc:  # a rejoin that fails is one more try
                error = exc
            await asyncio.sleep(self._next_delay(attempt, error))
            attempt += 1
