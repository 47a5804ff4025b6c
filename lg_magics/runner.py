"""One run's lifecycle, whatever drives it: request -> event stream -> transcript -> views -> variables.

The only module that touches the client, the transcript and the views at once. Every way of running
goes through :class:`RunSession`: it plans the thread, starts the run, folds its events, settles it
with what the server says about it, and binds the result.

- a foreground cell streams synchronously (a sync ``httpx.Client``), so the cell blocks while it runs
  and a kernel interrupt lands in the socket read, where the run is cancelled on the server;
- ``--wait`` gets the final state in one response;
- ``--background`` creates the run and a task on the kernel's loop follows it (:meth:`afollow`, driven
  by :mod:`lg_magics.background`); ``%agent wait`` takes it over synchronously (:meth:`follow`);
- ``--map`` runs one stateless session per item in a worker thread (:mod:`lg_magics.batch`);
- a resumed interrupt is a session whose request carries the resume command.

How a run ends is written once, in :meth:`RunSession.ending`, as the calls it needs; the sync and the
async drivers perform them with their own client.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import uuid
from collections.abc import Generator, MutableMapping
from typing import TYPE_CHECKING, Any, Callable, Optional

from .exceptions import (
    AgentError,
    AgentUsageError,
    AssistantNotFound,
    Interrupted,
    RunFailed,
    ServerError,
    ServerUnreachable,
    StreamInterrupted,
    ThreadNotFound,
)
from .follow import Follower
from .protocol import ACTIVE_STATUSES, HEARTBEAT, Event, is_uuid
from .render import transcript_text
from .request import REQUEST_KEY, RunRequest
from .result import RunResult
from .styles import summary_html
from .transcript import ERROR, PAUSED, SUCCESS, Transcript
from .variables import thread_in

if TYPE_CHECKING:
    from .client import AsyncClient, Client

#: Seconds without an event before the live view says "no event for N s".
SILENCE_NOTICE = 10.0
#: After an interrupt that came before the server answered: how long to look for the run the
#: request created (the server may still be creating it).
FIND_RUN_FOR = 2.0

Display = Callable[[Any], None]
#: A call the end of a run needs: a client method name and the thread it is about.
Call = tuple[str, str]


def show_summary(transcript: Transcript, display: Display) -> None:
    """The run as static HTML plus deterministic text: what a saved notebook shows without widgets.
    Its styles are inline: an untrusted notebook's HTML loses its ``<style>``."""
    display({"text/plain": transcript_text(transcript), "text/html": summary_html(transcript)})


def assistant_id(client: Client, name: str) -> str:
    """An assistant ID as it is, else the ID :func:`resolve_assistant` finds: no request for an ID."""
    return name if is_uuid(name) else resolve_assistant(client, name)


def resolve_assistant(client: Client, name: str) -> str:
    """The assistant ID for an assistant *name* or ID, by searching (run bodies take only graph names
    and IDs); not found lists the available ones."""
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


class Stopped(Exception):
    """A batch asked its running sessions to hang up (the kernel was interrupted)."""


class RunSession:
    """One run from a cell: where its thread is, its transcript and view, and its result."""

    def __init__(
        self,
        client: Client,
        request: RunRequest,
        namespace: MutableMapping[str, Any],
        *,
        display: Optional[Display],  # None: nothing is shown (--quiet, a --map item)
        make_view: Optional[Callable[[Transcript], Any]] = None,
        assistant_id: Optional[str] = None,
        stop: Optional[threading.Event] = None,
        quiet: bool = False,
        forgetful: bool = False,
        say: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.client = client
        self.quiet = quiet  # nothing shows the run's error, so the cell's error line must
        self.request = request
        self.namespace = namespace
        self.display = display
        self.make_view = make_view
        self.assistant_id = assistant_id  # known already (a batch resolves it once for all items)
        self.stop = stop
        # The server is the in-memory one this kernel started: a thread variable from before it
        # started (Run All twice, %agent serve again) names a thread it cannot have.
        self.forgetful = forgetful
        self.say = say
        self.transcript = Transcript(
            assistant=request.assistant,
            thread_var=request.thread_var,
            modes=() if request.wait else request.stream_modes,
        )
        if request.input is None and request.command is None:
            self.transcript.note(request.shown_input)  # a run with no input: rerun, continue
        else:
            self.transcript.add_input(request.shown_input, role="resume" if request.command else "human")
        self.view: Any = None
        self.thread_id: Optional[str] = None  # the run's thread; a stateless background run's own
        self.is_new = False
        self.temporary = False  # a stateless background run's own thread, deleted at the end
        self.follower: Optional[Follower] = None
        self.result: Optional[RunResult] = None
        self.checkpoint_id: Optional[str] = None  # request.checkpoint resolved on the thread
        self.request_id = str(uuid.uuid4())
        self.lock = threading.Lock()  # events and the silence watch redraw the view in turn
        self.last_event = time.monotonic()

    @property
    def run_id(self) -> Optional[str]:
        # The transcript is the run id's one home: set from the response headers when the run is
        # accepted, else from the stream's metadata event.
        return self.transcript.run_id

    # -- starting --------------------------------------------------------------------------------
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
            if request.checkpoint:
                raise AgentUsageError(
                    f"--checkpoint forks the thread in {request.thread_var}, which holds none yet: "
                    f"run %%agent {request.assistant} first."
                )
            self._new_thread()
            return
        try:
            state = thread_state(self.client, existing, request.thread_var)
        except ThreadNotFound:
            if not self.forgetful or request.command or request.checkpoint:
                raise  # a resume or a fork needs that thread's checkpoints: a new thread has none
            self.say(
                f"The thread in {request.thread_var} was on an earlier embedded server, which forgot it when it "
                "stopped: this run starts a new thread."
            )
            self._new_thread()
            return
        if request.command and not state.get("interrupts"):
            raise AgentUsageError(
                f"The thread in {request.thread_var} is not waiting at an interrupt, so there is nothing to resume."
            )
        self.thread_id = existing
        self.transcript.hidden |= message_ids(state)
        self._plan_time_travel()

    def _new_thread(self) -> None:
        """The run creates its thread; its breakpoints are checked as for any run."""
        self.thread_id, self.is_new = str(uuid.uuid4()), True
        self._plan_time_travel()

    def _plan_time_travel(self) -> None:
        """Name the checkpoint to fork from and check the breakpoints: the server would silently
        start from the newest checkpoint, or never stop, for names it does not know."""
        from . import checkpoints

        request = self.request
        label = request.thread_var or "the thread"
        if request.checkpoint and self.thread_id:
            found = checkpoints.resolve(self.client, self.thread_id, request.checkpoint, label)
            if request.input is None and request.command is None and not found.get("next"):
                step = checkpoints.step_of(found)
                raise AgentUsageError(
                    f"Step {step} of {label} is where a run ended: nothing runs from it. Re-run from an "
                    f"earlier step (its next column names a node): %agent history {label}."
                )
            self.checkpoint_id = checkpoints.checkpoint_id(found)
        if isinstance(request.interrupt_before, list) or isinstance(request.interrupt_after, list):
            nodes = checkpoints.graph_nodes(self.client, self.assistant_id or request.assistant)
            checkpoints.check_nodes(request.interrupt_before, nodes, "--interrupt-before")
            checkpoints.check_nodes(request.interrupt_after, nodes, "--interrupt-after")

    def _start(self, start: Callable[[dict[str, Any]], Any]) -> Any:
        """Call ``start`` with the run's body, resolving an assistant *name* the first time the server
        does not know it (run bodies accept graph names and IDs)."""

        def body() -> dict[str, Any]:
            return self.request.body(
                thread="new" if self.is_new else ("existing" if self.thread_id else None),
                assistant_id=self.assistant_id,
                checkpoint_id=self.checkpoint_id,
                request_id=self.request_id,
            )

        try:
            return start(body())
        except AssistantNotFound:
            if self.assistant_id is not None:
                raise
            self.assistant_id = resolve_assistant(self.client, self.request.assistant)
            return start(body())

    def _accepted(self, run_id: Optional[str], *, view: bool = True) -> None:
        """The server took the run: record where it is, bind the thread variable, show the view."""
        self.transcript.run_id = run_id
        self._bind_thread()
        if view and self.make_view is not None and self.display is not None and self.view is None:
            self.view = self.make_view(self.transcript)
            self.display(self.view)
        self.follower = Follower(self.thread_id, self.transcript, subgraphs=self.request.subgraphs)

    def _bind_thread(self) -> None:
        """The thread exists on the server: its variable holds it from now on."""
        self.transcript.thread_id = None if self.temporary else self.thread_id
        if self.thread_id and self.request.thread_var and not self.temporary:
            self.namespace[self.request.thread_var] = self.thread_id

    # -- the whole run in the foreground -------------------------------------------------------------
    def run(self) -> RunResult:
        """Run until the run ends; bind and return the result. A kernel interrupt at any moment
        ends it as :meth:`interrupted` says."""
        try:
            try:
                self.prepare()
                if self.request.wait:
                    self._start(self._wait)
                else:
                    self._start(self._stream)
            except Stopped:
                self.transcript.finish(cancelled=True)
            except KeyboardInterrupt:
                raise
            except BaseException:
                self.show_summary()  # also after a dropped connection: the reader sees how far it got
                raise
            self.show_summary()
        except KeyboardInterrupt:
            raise self.interrupted() from None
        return self.bind(self.request.fail)

    def show_summary(self) -> None:
        if self.display is not None and (self.transcript.run_id or self.transcript.events):
            show_summary(self.transcript, self.display)

    def _wait(self, body: dict[str, Any]) -> None:
        result, _, run_id = self.client.wait_run(self.thread_id, body)
        self._accepted(run_id, view=False)  # --wait does not stream: the summary shows the result
        self.transcript.apply_wait_result(result)
        self.transcript.finish()

    def _stream(self, body: dict[str, Any]) -> None:
        with self.client.stream_run(self.thread_id, body) as stream:
            self._accepted(stream.run_id)
            self.follow(first=stream)

    # -- a kernel interrupt ----------------------------------------------------------------------
    def interrupted(self) -> Interrupted:
        """The kernel was interrupted at any moment of the run: cancel it on the server best-effort,
        within the cancel deadline (a second interrupt gives up on the server), show how far it got,
        bind it, and return the one line the cell ends with."""
        try:
            line = self._cancel_after_interrupt()
        except KeyboardInterrupt:
            line = self._unreachable()
        with contextlib.suppress(KeyboardInterrupt):
            if not self.transcript.finished:
                self.transcript.finish(cancelled=True)
            self.redraw()
            self.show_summary()
            self.bind(fail=False)
        return Interrupted(line)

    def _unreachable(self) -> str:
        run = f"run {self.run_id}" if self.run_id else f"the run on thread {self.thread_id}" if self.thread_id else "the run"
        return f"could not reach the server to cancel {run}; it may still be running"

    def _cancel_after_interrupt(self) -> str:
        from .render import status_label

        if self.transcript.finished:
            return f"the run had already ended ({status_label(self.transcript.status)})"
        if self.thread_id is None or self.request.wait:
            # A stateless stream or --wait was created with on_disconnect=cancel: hanging up, as
            # the interrupt just did, cancels it. (A background run, even a stateless one on a
            # thread of its own, goes on: it is cancelled below.)
            if self.thread_id is not None and self.run_id is None:
                self._find_thread()
            return "run cancelled"
        try:
            run_ids = [self.run_id] if self.run_id else self._find_runs()
            for run_id in run_ids:
                self.client.cancel_run(self.thread_id, run_id)
        except (ServerError, ServerUnreachable):
            return self._unreachable()
        return "run cancelled" if self.run_id else "run cancelled before the server started it"

    def _find_thread(self) -> None:
        """Bind the thread variable if the interrupted request created the thread (best-effort)."""
        from .client import SHORT

        assert self.thread_id is not None
        with contextlib.suppress(ServerError, ServerUnreachable):
            self.client.list_runs(self.thread_id, limit=1, timeout=SHORT)
            self._bind_thread()

    def _find_runs(self) -> list[str]:
        """The active runs this request created, when the interrupt came before the server answered:
        the request may have created its run (and a new thread) or not, and the server may still
        be creating it. Binds the thread variable once the thread exists."""
        from .client import SHORT

        assert self.thread_id is not None
        deadline = time.monotonic() + FIND_RUN_FOR
        while True:
            try:
                runs = self.client.list_runs(self.thread_id, timeout=SHORT)
            except ThreadNotFound:
                runs = None  # a new thread not created (yet)
            if runs is not None:
                self._bind_thread()
                mine = [r for r in runs if (r.get("metadata") or {}).get(REQUEST_KEY) == self.request_id]
                if mine:
                    self.transcript.run_id = str(mine[0]["run_id"])
                    return [str(r["run_id"]) for r in mine if r.get("status") in ACTIVE_STATUSES]
            if time.monotonic() >= deadline:
                return []
            time.sleep(0.2)  # the server may be creating the run right now: nothing to wait on

    # -- following -------------------------------------------------------------------------------
    def fold(self, event: Event) -> None:
        """One event into the transcript; the view redraws at its own pace. A heartbeat only
        says the server is there while the run is silent."""
        with self.lock:
            if event is HEARTBEAT:
                self._check_silence()
            else:
                self.last_event = time.monotonic()
                self.transcript.silent = 0
                self.transcript.apply(event)
                if self.view is not None:
                    self.view.refresh()
        if self.stop is not None and self.stop.is_set():
            raise Stopped

    def _check_silence(self) -> None:
        """Say in the view how long the run has been silent (the stream waits for its next event)."""
        silent = int(time.monotonic() - self.last_event)
        if silent >= SILENCE_NOTICE and silent != self.transcript.silent and not self.transcript.finished:
            self.transcript.silent = silent
            self.redraw()

    @contextlib.contextmanager
    def _watching(self) -> Generator[None, None, None]:
        """While a foreground cell blocks in a read that brings nothing (a stuck server sends no
        heartbeat either), a thread keeps the view's "no event for N s" going."""
        if self.view is None:
            yield
            return
        done = threading.Event()

        def watch() -> None:
            while not done.wait(1.0):
                with self.lock:
                    if not done.is_set():
                        self._check_silence()

        watcher = threading.Thread(target=watch, name="lg-magics-silence", daemon=True)
        self.last_event = time.monotonic()
        watcher.start()
        try:
            yield
        finally:
            done.set()
            with self.lock:  # a redraw under way ends before the cell goes on drawing
                pass

    async def _awatch(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            self._check_silence()

    def follow(self, first: Any = None) -> None:
        """Follow the run synchronously to its end (a foreground cell, ``%agent wait``), from
        ``first`` (the stream that created it) or from where the events stopped; then settle."""
        assert self.follower is not None
        try:
            with self._watching():
                for event in self.follower.events(self.client, first=first):
                    self.fold(event)
        except StreamInterrupted as exc:
            self.fail_with(exc)
            raise
        self.transcript.silent = 0
        self.conclude()

    async def afollow(self, client: AsyncClient) -> None:
        """:meth:`follow` as a task on the kernel's loop (a background run), with the async client."""
        assert self.follower is not None
        self.last_event = time.monotonic()
        watch = asyncio.ensure_future(self._awatch()) if self.view is not None else None
        try:
            async for event in self.follower.aevents(client):
                self.fold(event)
        finally:
            if watch is not None:
                watch.cancel()
        self.transcript.silent = 0
        steps, answer, error = self.ending(), None, None
        while True:
            try:
                name, thread_id = steps.throw(error) if error else steps.send(answer)
            except StopIteration:
                return
            try:
                answer, error = await getattr(client, name)(thread_id), None
            except ServerError as exc:
                answer, error = None, exc

    def conclude(self) -> None:
        """Settle the run with the sync client: perform the calls of :meth:`ending`."""
        steps, answer, error = self.ending(), None, None
        while True:
            try:
                name, thread_id = steps.throw(error) if error else steps.send(answer)
            except StopIteration:
                return
            try:
                answer, error = getattr(self.client, name)(thread_id), None
            except ServerError as exc:
                answer, error = None, exc

    def ending(self) -> Generator[Call, Any, None]:
        """How a run ends once its events stop, as the calls it needs: the driver performs each with
        its client and sends back the answer, or throws in the server's error.

        The final state settles the status and values (a stream need not carry them); a rejoined
        stream loses the ``error`` event, which the thread keeps; a stateless background run's own
        thread is deleted."""
        thread_id = self.thread_id
        state = thread = None
        if thread_id is not None and self.transcript.status != ERROR:
            state = yield ("get_state", thread_id)
        follower = self.follower
        if thread_id is not None and follower is not None and follower.status == "error" and not self.transcript.error:
            thread = yield ("get_thread", thread_id)
        error = (thread or {}).get("error")
        if isinstance(error, dict) and not self.transcript.error:
            self.transcript.fail(error)
        if follower is not None and follower.gone:
            self.transcript.note("rolled back: a newer run on the thread replaced this one (--multitask rollback)")
        detail = follower.error_message if follower else None
        if detail and self.transcript.error and detail not in self.transcript.error["message"]:
            # Some servers (Aegra) stream a generic text and keep the real one on the run.
            self.transcript.error["message"] = detail
            for entry in self.transcript.entries:
                if entry.data is self.transcript.error:
                    entry.touch()  # the live view redraws it
        status = follower.status if follower else None
        if status == "interrupted" and self._breakpoints and state and state.get("next"):
            status = None  # Aegra ends a run that stopped at a breakpoint "interrupted": it was not cancelled
        self.transcript.finish(status, state)
        if state and self.transcript.status == SUCCESS and state.get("next") and not state.get("interrupts"):
            self._paused(state)
        self.redraw()
        if self.temporary and thread_id is not None:
            self.temporary = False
            try:
                yield ("delete_thread", thread_id)
            except ServerError:
                pass  # already gone

    @property
    def _breakpoints(self) -> bool:
        return bool(self.request.interrupt_before or self.request.interrupt_after)

    def _paused(self, state: dict[str, Any]) -> None:
        """The run stopped at a breakpoint: the thread has nodes to run and nothing to answer."""
        from .checkpoints import pause_point
        from .inspection import values_summary

        updates = [e.node for e in self.transcript.entries if e.kind == "update" and e.node]
        where = pause_point(
            state["next"], self.request.interrupt_before, self.request.interrupt_after, updates[-1] if updates else None
        )
        self.transcript.status = PAUSED
        self.transcript.paused = where
        self.transcript.note(f"Paused {where}. State: {values_summary(state.get('values'), 100)}")
        var = self.request.thread_var or ""
        self.transcript.note(f"%agent continue {var} goes on; %agent state {var} --set JSON edits the state first.")

    # -- control and outcome ---------------------------------------------------------------------
    def cancel(self) -> None:
        """Cancel the run on the server; the view says "cancelled" at once, whatever the server says."""
        if self.transcript.finished:
            return
        try:
            if self.thread_id and self.run_id:
                self.client.cancel_run(self.thread_id, self.run_id)
        finally:
            self.transcript.finish(cancelled=True)
            self.redraw()

    def fail_with(self, exc: BaseException) -> None:
        """Show an error that ended the following of a run (a dropped stream, a server error);
        the first one only, since what followed from it says nothing new."""
        if self.transcript.status == ERROR:
            return
        message = str(exc) if isinstance(exc, AgentError) else f"{type(exc).__name__}: {exc}"
        self.transcript.fail({"error": type(exc).__name__, "message": message})
        self.redraw()

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
            # The view and the summary show the error already: the cell's error line does not repeat it.
            what = f"with {error.get('error')}: {error.get('message')}" if self.quiet else "(its error is shown above)"
            raise RunFailed(
                f"The run failed {what}; pass --no-fail to keep the cell from failing.",
                str(error.get("error")),
                self.result,
            )
        return self.result

    # -- background ------------------------------------------------------------------------------
    def start(self) -> None:
        """Create the run on the server without following it (errors fail the cell here) and show its view."""
        try:
            self.prepare(background=True)
            thread_id = self.thread_id
            assert thread_id is not None
            run = self._start(lambda body: self.client.create_run(thread_id, body))
            self._accepted(run["run_id"])
        except KeyboardInterrupt:
            raise self.interrupted() from None
