"""Run one request: request -> event stream -> transcript -> views -> variables.

The only module that touches the client, the transcript and the views at once.
A foreground run streams synchronously (a sync ``httpx.Client``) so the cell
blocks while it runs, and a kernel interrupt lands in the socket read, where
we cancel the run on the server before re-raising. A background run is
started here and followed by :mod:`lg_magics.background`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, MutableMapping
from typing import Any, Callable, Optional

from .client import Client
from .exceptions import AgentUsageError, AssistantNotFound, RunFailed, ServerError, StreamInterrupted, ThreadNotFound
from .follow import Follower
from .protocol import Event
from .render import transcript_html, transcript_text
from .request import RunRequest
from .result import RunResult
from .transcript import ERROR, Transcript
from .variables import thread_in

Display = Callable[[Any], None]


def show_summary(transcript: Transcript, display: Display) -> None:
    """The run as static HTML plus deterministic text: what a saved notebook shows without widgets."""
    display({"text/plain": transcript_text(transcript), "text/html": transcript_html(transcript)})


def resolve_assistant(client: Client, name: str) -> str:
    """The assistant ID for an assistant *name* (run bodies take only graph names and IDs)."""
    assistants = client.all_assistants()
    for assistant in assistants:
        if name in (assistant.get("name"), assistant.get("assistant_id")):
            return str(assistant["assistant_id"])
    names = sorted({str(a.get("name") or a.get("graph_id")) for a in assistants})
    available = ", ".join(names) if names else "none"
    raise AssistantNotFound(f"No assistant {name!r} on {client.url}. Available: {available}.", 404, name)


def thread_state(client: Client, thread_id: str, var: str) -> dict[str, Any]:
    try:
        state = client.get_state(thread_id)
        if not state.get("checkpoint"):
            client.get_thread(thread_id)  # some servers answer an empty state for any ID: is the thread there?
        return state
    except ThreadNotFound:
        raise ThreadNotFound(
            f"Thread {thread_id} in {var} is not on the server at {client.url} "
            f"(an in-memory server forgets threads when it restarts). Pass --new to start a new thread.",
            404,
        ) from None


def message_ids(state: dict[str, Any]) -> set[str]:
    values = state.get("values")
    messages = values.get("messages") if isinstance(values, dict) else None
    return {m["id"] for m in messages or [] if isinstance(m, dict) and m.get("id")}


class RunSession:
    """One run from a cell: where its thread is, its transcript and view, and its result."""

    def __init__(
        self,
        client: Client,
        request: RunRequest,
        namespace: MutableMapping[str, Any],
        *,
        display: Display,
        make_view: Optional[Callable[[Transcript], Any]] = None,
    ) -> None:
        self.client = client
        self.request = request
        self.namespace = namespace
        self.display = display
        self.make_view = make_view
        self.transcript = Transcript(
            assistant=request.assistant,
            thread_var=request.thread_var,
            modes=() if request.wait else request.stream_modes,
        )
        self.transcript.add_input(request.shown_input, role="resume" if request.command else "human")
        self.view: Any = None
        self.thread_id: Optional[str] = None
        self.is_new = False
        self.temporary = False  # a stateless background run's own thread, deleted at the end
        self.follower: Optional[Follower] = None
        self.result: Optional[RunResult] = None

    @property
    def run_id(self) -> Optional[str]:
        return self.transcript.run_id

    # -- preparing -------------------------------------------------------------------------------
    def prepare(self, *, background: bool = False) -> None:
        """Find or plan the run's thread and check that the request makes sense for it."""
        request = self.request
        if request.stateless:
            if request.command:
                raise AgentUsageError("--resume needs the thread of the interrupted run: drop --stateless.")
            if background:
                # Stateless streams cannot be joined, waited on or resumed after a drop; a
                # thread of our own, deleted afterwards, is what the server does for them anyway.
                self.thread_id, self.is_new, self.temporary = str(uuid.uuid4()), True, True
            return
        assert request.thread_var is not None
        existing = thread_in(self.namespace, request.thread_var)
        if request.command and existing is None:
            raise AgentUsageError(
                f"Nothing to resume: {request.thread_var} holds no thread. Run %%agent {request.assistant} first."
            )
        if existing is None or request.new_thread:
            self.thread_id, self.is_new = str(uuid.uuid4()), True
            return
        state = thread_state(self.client, existing, request.thread_var)
        if request.command and not state.get("interrupts"):
            raise AgentUsageError(
                f"The thread in {request.thread_var} is not waiting at an interrupt, so there is nothing to resume."
            )
        self.thread_id = existing
        self.transcript.hidden |= message_ids(state)

    def body(self, **extra: Any) -> dict[str, Any]:
        if self.is_new:
            extra.setdefault("if_not_exists", "create")
        if self.thread_id:
            # Resumable, so a dropped connection can rejoin without losing or repeating events; said
            # explicitly to continue on a drop, since servers differ in their default (Aegra cancels).
            extra.setdefault("stream_resumable", True)
            extra.setdefault("on_disconnect", "continue")
        else:
            # A stateless run has no ID to cancel by: the server cancels it when we hang up.
            extra.setdefault("on_disconnect", "cancel")
        return self.request.body(**extra)

    def _with_assistant(self, start: Callable[[dict[str, Any]], Any]) -> Any:
        try:
            return start(self.body())
        except AssistantNotFound:
            # Run bodies accept graph names and IDs; a custom assistant's *name* needs its ID.
            return start(self.body(assistant_id=resolve_assistant(self.client, self.request.assistant)))

    def _accepted(self, run_id: Optional[str], *, view: bool = True) -> None:
        self.transcript.thread_id = None if self.temporary else self.thread_id
        self.transcript.run_id = run_id
        if self.thread_id and self.request.thread_var and not self.temporary:
            self.namespace[self.request.thread_var] = self.thread_id
        if view and self.make_view is not None and self.view is None:
            self.view = self.make_view(self.transcript)
            self.display(self.view)

    # -- foreground ------------------------------------------------------------------------------
    def run(self) -> RunResult:
        """Run in the foreground until the run ends; bind and return the result."""
        self.prepare()
        try:
            self._with_assistant(self._wait if self.request.wait else self._stream)
        finally:
            # Also after a cancel or a dropped connection: the reader sees how far the run got.
            if self.transcript.run_id or self.transcript.events:
                show_summary(self.transcript, self.display)
        return self.bind(self.request.fail)

    def _wait(self, body: dict[str, Any]) -> None:
        # If the kernel is interrupted the connection closes, and the server cancels the run.
        body["on_disconnect"] = "cancel"
        result, _, run_id = self.client.wait_run(self.thread_id, body)
        self._accepted(run_id, view=False)  # --wait does not stream: the summary shows the result
        self.transcript.apply_wait_result(result)
        self.transcript.finish()

    def _stream(self, body: dict[str, Any]) -> None:
        with self.client.stream_run(self.thread_id, body) as stream:
            self._accepted(stream.run_id)
            self.follower = Follower(self.thread_id, stream.run_id)
            try:
                self.consume(self.follower.events(self.client, first=stream))
            except KeyboardInterrupt:
                if self.thread_id and self.follower.run_id:
                    self._cancel()
                self.transcript.finish(cancelled=True)
                self.redraw()
                raise
        self.conclude()

    def consume(self, events: Iterable[Event]) -> None:
        """Fold events into the transcript, redrawing the view at its pace."""
        transcript = self.transcript
        try:
            for event in events:
                transcript.apply(event)  # a metadata event names the run if the headers did not
                if self.view is not None:
                    self.view.refresh()
        except StreamInterrupted as exc:
            transcript.fail({"error": "StreamInterrupted", "message": str(exc)})
            self.redraw()
            raise

    def _cancel(self) -> None:
        assert self.thread_id and self.follower and self.follower.run_id
        try:
            self.client.cancel_run(self.thread_id, self.follower.run_id)
        except ServerError:
            pass  # the run ended on its own meanwhile; the cell still ends as interrupted

    def needs_state(self) -> bool:
        return self.thread_id is not None and self.transcript.status != ERROR

    def needs_thread_error(self) -> bool:
        # Rejoined streams lose the `error` event (it is not stored): the thread keeps it.
        return self.follower is not None and self.follower.status == "error" and not self.transcript.error

    def settle(self, state: Optional[dict[str, Any]] = None, thread: Optional[dict[str, Any]] = None) -> None:
        """Close the transcript with what the server says about the run and its thread."""
        transcript = self.transcript
        error = (thread or {}).get("error")
        if isinstance(error, dict) and not transcript.error:
            transcript.fail(error)
        detail = self.follower.error_message if self.follower else None
        if detail and transcript.error and detail not in transcript.error["message"]:
            # Some servers (Aegra) stream a generic text and keep the real one on the run.
            transcript.error["message"] = detail
            for entry in transcript.entries:
                if entry.data is transcript.error:
                    entry.touch()  # the live view redraws it
        transcript.finish(self.follower.status if self.follower else None, state)
        self.redraw()

    def conclude(self) -> None:
        """The stream ended: settle the status from the server and the thread's state."""
        assert self.thread_id or not self.needs_state()
        state = self.client.get_state(self.thread_id) if self.needs_state() else None  # type: ignore[arg-type]
        thread = self.client.get_thread(self.thread_id) if self.needs_thread_error() else None  # type: ignore[arg-type]
        self.settle(state, thread)

    def redraw(self) -> None:
        if self.view is not None:
            self.view.flush()

    def bind(self, fail: bool, *, underscore: bool = True) -> RunResult:
        """Bind the result to ``_agent`` and ``--out``; a failed run fails the cell if ``fail``.
        A background task binds only ``--out``: ``_agent`` changing under a running cell would surprise."""
        self.result = self.result or RunResult(self.transcript)
        if underscore:
            self.namespace["_agent"] = self.result
        if self.request.out:
            self.namespace[self.request.out] = self.result
        if self.transcript.status == ERROR and fail:
            error = self.transcript.error or {}
            raise RunFailed(
                f"The run failed with {error.get('error')}: {error.get('message')} (pass --no-fail to keep the cell from failing).",
                str(error.get("error")),
                self.result,
            )
        return self.result

    # -- background ------------------------------------------------------------------------------
    def start(self) -> None:
        """Create the run on the server (errors fail the cell here) and show its view."""
        self.prepare(background=True)
        run = self._with_assistant(lambda body: self.client.create_run(self.thread_id, body))  # type: ignore[arg-type]
        self._accepted(run["run_id"])
        self.follower = Follower(self.thread_id, run["run_id"])

    def follow(self) -> None:
        """Follow the rest of the run synchronously (``%agent wait``), from where the events stopped."""
        assert self.follower is not None
        self.consume(self.follower.events(self.client))
        self.conclude()
        self.cleanup()

    def cleanup(self) -> None:
        if self.temporary and self.thread_id:
            try:
                self.client.delete_thread(self.thread_id)
            except ServerError:
                pass  # already gone
            self.temporary = False
