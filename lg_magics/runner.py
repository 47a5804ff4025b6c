"""Run one request in the foreground: request -> event stream -> transcript -> views -> variables.

The only module that touches the client, the transcript and the views at once.
It runs synchronously (a sync ``httpx.Client``) so a cell blocks while its run
streams, and a kernel interrupt lands in the socket read, where we cancel the
run on the server before re-raising.
"""

from __future__ import annotations

import uuid
from collections.abc import MutableMapping
from typing import Any, Callable, Optional

from .client import Client
from .exceptions import AssistantNotFound, RunFailed, ServerError, StreamInterrupted, ThreadNotFound
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
    assistants = client.search_assistants(limit=100)
    for assistant in assistants:
        if name in (assistant.get("name"), assistant.get("assistant_id")):
            return str(assistant["assistant_id"])
    names = sorted({str(a.get("name") or a.get("graph_id")) for a in assistants})
    available = ", ".join(names) if names else "none"
    raise AssistantNotFound(f"No assistant {name!r} on {client.url}. Available: {available}.", 404, name)


def prepare_thread(client: Client, request: RunRequest, namespace: MutableMapping[str, Any]) -> tuple[Optional[str], bool, set[str]]:
    """(thread_id, is_new, ids of messages already on the thread) for the request."""
    if request.stateless:
        return None, False, set()
    assert request.thread_var is not None
    thread_id = thread_in(namespace, request.thread_var)
    if thread_id is None or request.new_thread:
        return str(uuid.uuid4()), True, set()
    try:
        state = client.get_state(thread_id)
    except ThreadNotFound:
        raise ThreadNotFound(
            f"Thread {thread_id} in {request.thread_var} is not on the server at {client.url} "
            f"(an in-memory server forgets threads when it restarts). Pass --new to start a new thread.",
            404,
        ) from None
    messages = (state.get("values") or {}).get("messages") if isinstance(state.get("values"), dict) else None
    hidden = {m["id"] for m in messages or [] if isinstance(m, dict) and m.get("id")}
    return thread_id, False, hidden


class ForegroundRun:
    """One ``%%agent`` run that blocks the cell until it ends."""

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
        self.transcript.add_input(request.shown_input)
        self.view: Any = None

    def run(self) -> RunResult:
        request = self.request
        thread_id, is_new, hidden = prepare_thread(self.client, request, self.namespace)
        self.transcript.hidden |= hidden
        self.transcript.thread_id = thread_id
        create = {"if_not_exists": "create"} if is_new else {}
        try:
            self._run(thread_id, request.body(**create))
        except AssistantNotFound:
            # Run bodies accept graph names and IDs; a custom assistant's *name* needs its ID.
            assistant_id = resolve_assistant(self.client, request.assistant)
            self._run(thread_id, request.body(assistant_id=assistant_id, **create))
        result = RunResult(self.transcript)
        self.namespace["_agent"] = result
        if request.out:
            self.namespace[request.out] = result
        if self.transcript.status == ERROR and request.fail:
            error = self.transcript.error or {}
            raise RunFailed(
                f"The run failed with {error.get('error')}: {error.get('message')} (pass --no-fail to keep the cell from failing).",
                str(error.get("error")),
                result,
            )
        return result

    def _bind_thread(self, thread_id: Optional[str]) -> None:
        if thread_id and self.request.thread_var:
            self.namespace[self.request.thread_var] = thread_id

    def _run(self, thread_id: Optional[str], body: dict[str, Any]) -> None:
        try:
            if self.request.wait:
                self._wait(thread_id, body)
            else:
                self._stream(thread_id, body)
        finally:
            # Also after a cancel or a dropped connection: the reader sees how far the run got.
            if self.transcript.run_id or self.transcript.events:
                show_summary(self.transcript, self.display)

    def _wait(self, thread_id: Optional[str], body: dict[str, Any]) -> None:
        # If the kernel is interrupted the connection closes, and the server cancels the run.
        body.setdefault("on_disconnect", "cancel")
        result, _, run_id = self.client.wait_run(thread_id, body)
        self._bind_thread(thread_id)
        self.transcript.run_id = run_id
        self.transcript.apply_wait_result(result)
        self.transcript.finish()

    def _stream(self, thread_id: Optional[str], body: dict[str, Any]) -> None:
        if thread_id is None:
            # A stateless run has no ID to cancel by: the server cancels it when we hang up.
            body.setdefault("on_disconnect", "cancel")
        transcript = self.transcript
        cancelled = False
        with self.client.stream_run(thread_id, body) as stream:
            self._bind_thread(thread_id)
            transcript.run_id = stream.run_id
            if self.make_view is not None:
                self.view = self.make_view(transcript)
                self.display(self.view)
            try:
                for event in stream:
                    transcript.apply(event)
                    if self.view is not None:
                        self.view.refresh()
                transcript.run_id = transcript.run_id or stream.run_id
            except KeyboardInterrupt:
                cancelled = True
                run_id = transcript.run_id or stream.run_id
                if thread_id and run_id:
                    self._cancel(thread_id, run_id)
                transcript.finish(cancelled=True)
                self._final_redraw()
                raise
            except StreamInterrupted as exc:
                transcript.fail({"error": "StreamInterrupted", "message": str(exc)})
                self._final_redraw()
                raise
        if not cancelled:
            self._finish(thread_id)
            self._final_redraw()

    def _cancel(self, thread_id: str, run_id: str) -> None:
        try:
            self.client.cancel_run(thread_id, run_id)
        except ServerError:
            pass  # the run ended on its own meanwhile; the cell still ends as interrupted

    def _finish(self, thread_id: Optional[str]) -> None:
        """The stream ended cleanly: ask the server how the run ended and what the state is."""
        transcript = self.transcript
        if thread_id is None or transcript.status == ERROR:
            transcript.finish()
            return
        run_status = None
        if transcript.run_id:
            run_status = self.client.get_run(thread_id, transcript.run_id).get("status")
        transcript.finish(run_status, self.client.get_state(thread_id))

    def _final_redraw(self) -> None:
        if self.view is not None:
            self.view.flush()
