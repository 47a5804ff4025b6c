"""``%%agent ASSISTANT --map VAR``: the cell once per item, as stateless runs, a few at a time.

A foreground cell cannot run an event loop of its own (the kernel's is
busy running the cell), so the runs go to a small thread pool, each through
the shared sync client into a :class:`Transcript` with no view. The main
thread waits for them and redraws one progress bar as they finish; a kernel
interrupt lands there, stops what is queued and tells the running ones to
hang up (their runs are ``on_disconnect: cancel``, so the server stops them).

Every item ends as a :class:`RunResult`, in the order of the items: a run
that failed, or could not start, has status ``error`` and says why. Nothing
is dropped.
"""

from __future__ import annotations

import contextlib
import html
import threading
import time
from collections import ChainMap, Counter
from collections.abc import Iterable, Mapping, MutableMapping, Sequence, Sized
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any, Callable, Optional

from .exceptions import AgentError, AgentUsageError, Interrupted, RunFailed
from .render import status_label
from .request import CellDefaults, RunRequest
from .result import RunResult
from .transcript import CANCELLED, ERROR, SUCCESS, WAITING, Transcript, compact
from .words import plural

_ORDER = (SUCCESS, WAITING, ERROR, CANCELLED)
MAX_LISTED = 10
#: The most items one --map cell runs: a bound on what a cell can start by mistake (range(10**9)).
MAX_ITEMS = 100_000


@dataclass(frozen=True)
class Item:
    """One item of the mapped variable: how the summary names it, and the names it adds to the cell."""

    label: str
    names: Mapping[str, Any]


def is_dataframe(value: Any) -> bool:
    # Not isinstance: importing pandas just to ask would make every --map pay for it.
    return any(c.__name__ == "DataFrame" and c.__module__.startswith("pandas") for c in type(value).__mro__)


def _names(value: Any) -> dict[str, Any]:
    names = {"item": value}
    if isinstance(value, Mapping):
        names.update({k: v for k, v in value.items() if isinstance(k, str) and k.isidentifier()})
    return names


def items_of(value: Any, var: str) -> list[Item]:
    """The items of a list (or any sequence) or the rows of a DataFrame."""
    if is_dataframe(value):
        if "result" in value.columns:
            raise AgentUsageError(f"{var} already has a 'result' column, where the results go: rename it.")
        rows = value.to_dict("records")
        return [Item(str(label), _names(row)) for label, row in zip(value.index, rows)]
    if hasattr(value, "columns"):  # another library's table: iterating it would give its columns
        raise AgentUsageError(f"--map takes a pandas DataFrame or a list: convert {var} (e.g. .to_pandas() or .to_dicts()).")
    # Sets are refused too: their order changes from one kernel to the next.
    if isinstance(value, (str, bytes, Mapping, set, frozenset)) or not isinstance(value, Iterable):
        raise AgentUsageError(f"--map needs a list or a pandas DataFrame, and {var} is a {type(value).__name__}.")
    if not isinstance(value, Sized):
        # A generator or iterator may never end, and is used up by reading it.
        raise AgentUsageError(
            f"--map needs a list or a pandas DataFrame, and {var} is a {type(value).__name__}, which may never end: "
            f"make a list of the items first, e.g. {var} = list(itertools.islice({var}, 100))."
        )
    if len(value) > MAX_ITEMS:
        raise AgentUsageError(f"--map runs at most {MAX_ITEMS:,} items, and {var} has {len(value):,}: split it into parts.")
    return [Item(str(index), _names(item)) for index, item in enumerate(list(value))]


def mapped(namespace: Mapping[str, Any], var: str) -> Any:
    if not var.isidentifier() or var not in namespace:
        raise AgentUsageError(f"--map needs the name of a notebook variable holding a list or a DataFrame, not {var!r}.")
    return namespace[var]


def item_namespace(item: Item, namespace: Mapping[str, Any]) -> ChainMap[str, Any]:
    """What ``{{name}}`` sees for an item: the item's names first, then the notebook's."""
    return ChainMap(dict(item.names), namespace)  # type: ignore[arg-type]


# -- results --------------------------------------------------------------------------------------
def counts_text(results: Sequence[Optional[RunResult]]) -> str:
    counts = Counter(r.transcript.status for r in results if r is not None)
    parts = [f"{counts[s]} {status_label(s)}" for s in _ORDER if counts[s] or s == SUCCESS]
    parts += [f"{n} {status_label(s)}" for s, n in sorted(counts.items()) if s not in _ORDER]
    return ", ".join(parts)


def _failure(label: str, result: RunResult) -> str:
    error = result.error or {}
    message = compact(str(error.get("message") or ""), 160)  # one line: server messages may have several
    return f"item {label} {status_label(result.status)}: {error.get('error', 'Error')}: {message}".rstrip(": ")


def summary_lines(results: Sequence[RunResult], labels: Sequence[str]) -> list[str]:
    """``50 runs: 49 done, 1 failed`` and a line per failed item (the first few)."""
    lines = [f"{plural(len(results), 'run')}: {counts_text(results)}"]
    failed = [(label, r) for label, r in zip(labels, results) if r.transcript.status == ERROR]
    lines += [_failure(label, r) for label, r in failed[:MAX_LISTED]]
    if len(failed) > MAX_LISTED:
        lines.append(f"... and {len(failed) - MAX_LISTED} more failed: see their .error")
    return lines


def summary_bundle(results: Sequence[RunResult], labels: Sequence[str]) -> dict[str, str]:
    lines = summary_lines(results, labels)
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines[1:])
    body = f"<b>{html.escape(lines[0])}</b>" + (f"<ul>{items}</ul>" if items else "")
    return {"text/plain": "\n".join(lines), "text/html": f'<div class="lgm lgm-batch">{body}</div>'}


def not_run(request: RunRequest) -> RunResult:
    """The result of an item that never started (the batch was interrupted first)."""
    transcript = Transcript(assistant=request.assistant, modes=request.stream_modes)
    transcript.add_input(request.shown_input)
    transcript.finish(cancelled=True)
    return RunResult(transcript)


def bind(namespace: MutableMapping[str, Any], results: list[RunResult], frame: Any, out: Optional[str]) -> Any:
    """``_agent`` (and ``--out``): the list of results, or the DataFrame with a ``result`` column of reply
    texts (None where a run has none) and the list of results in its ``attrs["results"]``."""
    value: Any = results
    if frame is not None:
        value = frame.copy()
        value["result"] = [r.text for r in results]
        value.attrs["results"] = results
    namespace["_agent"] = value
    if out:
        namespace[out] = value
    return value


# -- running ------------------------------------------------------------------------------------
def run_one(client: Any, request: RunRequest, assistant_id: str, stop: threading.Event) -> RunResult:
    """One stateless run streamed into a transcript with no view; every outcome is a result.
    Its stream is ``on_disconnect: cancel``: hanging up (an interrupted batch) stops it on the server."""
    from .runner import RunSession

    if stop.is_set():
        return not_run(request)
    # fail=False: a failed item is a result like any other (the batch decides what fails the cell).
    session = RunSession(client, replace(request, fail=False), {}, display=None, assistant_id=assistant_id, stop=stop)
    try:
        return session.run()
    except AgentError as exc:
        session.fail_with(exc)
    return RunResult(session.transcript)


class Progress:
    """One progress bar and a line of counts, displayed with no ``text/plain`` (nbval skips it), closed when the batch ends."""

    def __init__(self, total: int) -> None:
        import ipywidgets as widgets

        self.total = total
        self.bar = widgets.IntProgress(value=0, min=0, max=max(total, 1), bar_style="info")
        self.label = widgets.HTML()
        self.root = widgets.VBox([self.bar, self.label])
        self.root.add_class("lgm")
        self.display_id: Optional[str] = None

    def _ipython_display_(self) -> None:
        from .view import show_widget

        self.display_id = show_widget(self.root)

    def close(self) -> None:
        """The summary line replaces the bar: closed, and its output marked so (frontends hide it)."""
        from .view import close_widgets, hide_widget

        close_widgets(self.bar, self.label, self.root)
        if self.display_id is not None:
            hide_widget(self.display_id)

    def update(self, results: Sequence[Optional[RunResult]]) -> None:
        finished = sum(1 for r in results if r is not None)
        self.bar.value = finished
        self.label.value = html.escape(f"{finished}/{self.total} · {counts_text(results)}")


class Batch:
    """The runs of one ``--map`` cell. :meth:`run` blocks until all are done or the kernel is interrupted."""

    def __init__(
        self,
        client: Any,
        requests: Sequence[RunRequest],
        labels: Sequence[str],
        *,
        assistant_id: str,
        concurrency: int,
        display: Optional[Callable[[Any], None]],
        interval: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.requests = list(requests)
        self.labels = list(labels)
        self.assistant_id = assistant_id
        self.concurrency = concurrency
        self.display = display
        self.interval = interval
        self.clock = clock
        self.results: list[Optional[RunResult]] = [None] * len(self.requests)
        self.final: Optional[list[RunResult]] = None  # set when the batch ends, interrupted or not
        self.stop = threading.Event()

    def run(self) -> list[RunResult]:
        progress = None
        if self.display is not None and self.requests:
            progress = Progress(len(self.requests))
            progress.update(self.results)
            self.display(progress)
        pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="lg-magics-map")
        futures = {pool.submit(run_one, self.client, r, self.assistant_id, self.stop): i for i, r in enumerate(self.requests)}
        try:
            self._collect(futures, progress)
        except KeyboardInterrupt:
            self.stop.set()  # the running ones hang up at their next event, which cancels them
            pool.shutdown(wait=False, cancel_futures=True)
            done = sum(1 for r in self.results if r is not None)
            with contextlib.suppress(KeyboardInterrupt):
                self._finish(futures, progress)
            raise Interrupted(f"{len(self.requests) - done} of {len(self.requests)} runs cancelled") from None
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
        return self._finish(futures, progress)

    def _collect(self, futures: dict[Future[RunResult], int], progress: Optional[Progress]) -> None:
        pending, dirty, last = set(futures), False, float("-inf")
        while pending:
            done, pending = wait(pending, timeout=self.interval if dirty else None, return_when=FIRST_COMPLETED)
            for future in done:
                self.results[futures[future]] = self._result(future, futures[future])
            dirty = dirty or bool(done)
            if progress is not None and dirty and self.clock() - last >= self.interval:
                progress.update(self.results)
                last, dirty = self.clock(), False

    def _result(self, future: Future[RunResult], index: int) -> RunResult:
        if future.cancelled() or not future.done():
            return not_run(self.requests[index])
        exc = future.exception()
        if exc is None:
            return future.result()
        # A bug of ours in one item must not lose the other items: it is that item's error.
        result = not_run(self.requests[index])
        result.transcript.fail({"error": type(exc).__name__, "message": str(exc)})
        return result

    def _finish(self, futures: dict[Future[RunResult], int], progress: Optional[Progress]) -> list[RunResult]:
        for future, index in futures.items():
            if self.results[index] is None:
                self.results[index] = self._result(future, index)
        results = self.final = [r for r in self.results if r is not None]
        if progress is not None:
            progress.update(results)
            progress.close()
        if self.display is not None:
            self.display(summary_bundle(results, self.labels))
        return results


def map_cell(
    args: Any,
    cell: str,
    namespace: MutableMapping[str, Any],
    *,
    client: Any,
    schemas: Any,
    defaults: CellDefaults,
    concurrency: int,
    display: Optional[Callable[[Any], None]],
    interval: float = 0.05,
) -> Any:
    """Run ``cell`` once per item of ``args.map``; bind and return the list (or DataFrame) of results."""
    from .request import build_request
    from .runner import assistant_id as find_assistant_id

    value = mapped(namespace, args.map)
    items = items_of(value, args.map)
    requests = []
    for item in items:
        try:
            requests.append(build_request(args, cell, item_namespace(item, namespace), defaults))
        except AgentUsageError as exc:
            raise AgentUsageError(f"{str(exc).rstrip('.')} (item {item.label} of {args.map}).") from None
    if requests:
        assistant = requests[0].assistant
        if not getattr(args, "json", False):
            schemas.check_text_input(client, assistant)
        assistant_id = find_assistant_id(client, assistant)
    else:
        assistant_id = ""
    batch = Batch(
        client,
        requests,
        [item.label for item in items],
        assistant_id=assistant_id,
        concurrency=args.concurrency or concurrency,
        display=display,
        interval=interval,
    )
    try:
        batch.run()
    finally:
        if batch.final is not None:
            bind(namespace, batch.final, value if is_dataframe(value) else None, args.out)
    failed = sum(1 for r in batch.final or [] if r.transcript.status == ERROR)
    if failed and requests and requests[0].fail:
        raise RunFailed(
            f"{failed} of {plural(len(batch.final or []), 'run')} failed: see the summary and _agent "
            "(pass --no-fail to keep the cell from failing).",
            "RunFailed",
            namespace["_agent"],
        )
    return namespace["_agent"]
