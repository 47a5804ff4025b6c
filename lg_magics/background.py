"""Background runs: ``%%agent ... --background`` returns at once and the run streams
into its widget as a task on the kernel's own event loop (no threads, no nest_asyncio).

The task progresses while the kernel is idle or a cell awaits; a cell that
blocks (any ordinary cell, ``%agent wait``) pauses it. ``%agent wait`` therefore
takes the run over: it stops the task and follows the rest of the run
synchronously from the task's last event (runs are resumable), then hands
back if it is interrupted.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Callable, Optional

from .exceptions import AgentUsageError

if TYPE_CHECKING:
    from .client import AsyncClient
    from .runner import RunSession


class BackgroundRun:
    """One run followed by a task. Errors end up in its widget, never silently."""

    def __init__(self, session: RunSession, name: str) -> None:
        self.session = session
        self.name = name
        self.task: Optional[asyncio.Task[None]] = None

    def __repr__(self) -> str:
        return f"BackgroundRun({self.name!r}, {self.session.transcript.status!r})"

    @property
    def done(self) -> bool:
        return self.session.transcript.finished

    def follow_in_background(self, client: AsyncClient) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise AgentUsageError("--background needs a running event loop: run it in a Jupyter kernel.") from None
        self.task = loop.create_task(self._follow(client), name=f"lg_magics {self.name}")

    async def _follow(self, client: AsyncClient) -> None:
        session = self.session
        try:
            await session.afollow(client)
        except asyncio.CancelledError:
            raise  # taken over by %agent wait, or the kernel is shutting down
        except Exception as exc:  # noqa: BLE001 - shown in the widget: a background task has no cell to fail
            session.fail_with(exc)
        session.bind(fail=False, underscore=False)

    def stop_task(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def cancel(self) -> None:
        """Cancel the run on the server; the view shows "cancelled" at once."""
        self.session.cancel()

    def wait(self, resume: Callable[[], None]) -> Any:
        """Block until the run ends, following it here; bind and return its result."""
        session = self.session
        if not self.done:
            self.stop_task()
            try:
                session.follow()
            except KeyboardInterrupt:
                resume()  # stop waiting, not the run: hand it back to a task
                raise
        return session.bind(fail=session.request.fail)


class BackgroundRuns:
    """Every background run of this kernel, strongly referenced so no task is garbage-collected."""

    def __init__(self) -> None:
        self.runs: list[BackgroundRun] = []

    def add(self, session: RunSession) -> BackgroundRun:
        name = session.request.out or session.request.thread_var or f"{session.request.assistant}#{len(self.runs) + 1}"
        run = BackgroundRun(session, name)
        self.runs.append(run)
        return run

    def find(self, name: Optional[str]) -> BackgroundRun:
        """The run called ``name`` (its --out or thread variable); the latest one without a name."""
        if not self.runs:
            raise AgentUsageError("No background runs in this kernel: start one with %%agent ASSISTANT --background.")
        if not name:
            return self.runs[-1]
        for run in reversed(self.runs):
            if name in (run.name, run.session.request.out, run.session.request.thread_var):
                return run
        names = ", ".join(dict.fromkeys(run.name for run in self.runs))
        raise AgentUsageError(f"No background run named {name!r}; this kernel has: {names}.")

    def stop_all(self) -> None:
        for run in self.runs:
            run.stop_task()
