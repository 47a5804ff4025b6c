"""Performance figures for lg_magics. A script, not a test: it prints figures and asserts nothing.

    python benchmarks/bench.py

(a) ``%load_ext lg_magics`` in a fresh interpreter (import + register), median of 5.
(b) ``%%agent chat --stateless`` end to end in an in-process IPython shell versus
    consuming the same run raw with httpx + httpx_sse, against the embedded server.
(c) Widget messages, bytes and widgets of the live view for 2,000- and 20,000-token replies.
(d) The same, and kernel CPU per event, for 1,000 and 10,000 ``custom`` events.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from typing import Any, Iterator

N_RUNS = 5
LOAD_GOAL_MS = 50.0
RATIO_GOAL = 1.05

LOAD_EXT = """
import sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
start = time.perf_counter()
shell.run_line_magic("load_ext", "lg_magics")
elapsed = time.perf_counter() - start
heavy = [m for m in ("httpx", "ipywidgets", "markdown_it", "lg_magics.client", "lg_magics.view") if m in sys.modules]
print(elapsed, ",".join(heavy))
"""


def bench_load_ext() -> None:
    times, heavy = [], ""
    for _ in range(N_RUNS):
        out = subprocess.run([sys.executable, "-c", LOAD_EXT], capture_output=True, text=True, check=True).stdout.split()
        times.append(float(out[0]) * 1000)
        heavy = out[1] if len(out) > 1 else ""
    print(
        f"(a) %load_ext lg_magics (import + register, fresh process): median {statistics.median(times):.1f} ms "
        f"(min {min(times):.1f}, max {max(times):.1f}) over {N_RUNS}; goal <= {LOAD_GOAL_MS:.0f} ms"
    )
    print(f"    heavy modules imported by load_ext: {heavy or 'none'}")


def raw_run(http: Any, body: dict[str, Any]) -> int:
    """Consume one run the plain way; returns the number of events."""
    from httpx_sse import connect_sse

    events = 0
    with connect_sse(http, "POST", "/runs/stream", json=body) as source:
        for sse in source.iter_sse():
            json.loads(sse.data) if sse.data else None
            events += 1
    return events


@contextmanager
def widget_traffic() -> Iterator[dict[str, Any]]:
    """Count ``Widget._send`` calls (state updates and custom messages) and their JSON bytes, widget
    creations (comm opens, with their initial state) and the views' redraws."""
    import ipywidgets

    from lg_magics.view import RunView

    counts: dict[str, Any] = {"sends": 0, "bytes": 0, "largest": 0, "opens": 0, "open_bytes": 0, "redraws": 0}
    send, open_, flush = ipywidgets.Widget._send, ipywidgets.Widget.open, RunView.flush

    def counting_send(self: Any, msg: dict[str, Any], buffers: Any = None) -> None:
        if self.comm is None:  # not open yet: ipywidgets sends nothing
            return
        size = len(json.dumps(msg).encode())
        counts["sends"] += 1
        counts["bytes"] += size
        counts["largest"] = max(counts["largest"], size)
        send(self, msg, buffers)

    def counting_open(self: Any) -> None:
        if self.comm is None:
            counts["opens"] += 1
            counts["open_bytes"] += len(json.dumps(self.get_state(), default=str).encode())
        open_(self)

    def counting_flush(self: Any) -> None:
        counts["redraws"] += 1
        flush(self)

    ipywidgets.Widget._send, ipywidgets.Widget.open, RunView.flush = counting_send, counting_open, counting_flush  # type: ignore[method-assign]
    try:
        yield counts
    finally:
        ipywidgets.Widget._send, ipywidgets.Widget.open, RunView.flush = send, open_, flush  # type: ignore[method-assign]


def print_traffic(counts: dict[str, Any], size: int, what: str) -> None:
    wire = counts["bytes"] + counts["open_bytes"]
    redraws = max(counts["redraws"], 1)
    print(
        f"    widget messages: {counts['sends']} for {counts['redraws']} redraws "
        f"({counts['sends'] / redraws:.2f} per redraw; goal <= 1), largest {counts['largest']} bytes"
    )
    print(
        f"    widgets created: {counts['opens']} ({counts['open_bytes']} bytes of initial state); "
        f"bytes on the wire: {wire} = {wire / max(size, 1):.2f}x the {what} (goal <= ~2x)"
    )


def bench_runs(url: str) -> None:
    import httpx
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()
    ip.display_pub = CapturingDisplayPublisher()  # the views go to a list, not the terminal
    ip.run_line_magic("load_ext", "lg_magics")
    ip.run_line_magic("agent", f"connect {url}")

    message = "count to 300"
    # The body the magic sends (its stream modes included), so both sides receive the same events.
    from lg_magics.request import RunRequest

    body = RunRequest("chat", input={"messages": [{"role": "human", "content": message}]}, stateless=True).body()

    def magic_run(text: str) -> float:
        ip.display_pub.outputs.clear()
        start = time.perf_counter()
        ip.run_cell_magic("agent", "chat --stateless", text)
        return time.perf_counter() - start

    with httpx.Client(base_url=url, timeout=httpx.Timeout(60.0)) as http:
        magic_run(message)  # warm-up: imports, connection
        events = raw_run(http, body)
        magic, raw = [], []
        for _ in range(N_RUNS):
            magic.append(magic_run(message))
            start = time.perf_counter()
            raw_run(http, body)
            raw.append(time.perf_counter() - start)
    status = ip.user_ns["_agent"].status
    m, r = statistics.median(magic), statistics.median(raw)
    print(f"(b) '{message}' ({events} events, run status {status!r}), median of {N_RUNS}:")
    print(f"    %%agent chat --stateless : {m * 1000:7.1f} ms (min {min(magic) * 1000:.1f})")
    print(f"    raw httpx + httpx_sse    : {r * 1000:7.1f} ms (min {min(raw) * 1000:.1f})")
    print(f"    ratio magic/raw          : {m / r:.3f} (goal <= {RATIO_GOAL})")

    for n in (2000, 20000):
        text = f"count to {n}"
        with widget_traffic() as counts:
            elapsed = magic_run(text)
        reply = ip.user_ns["_agent"].text or ""
        print(f"(c) '{text}': {len(reply.split())} tokens, {len(reply)} chars of reply, {elapsed * 1000:.0f} ms")
        print_traffic(counts, len(reply), "reply")


def bench_custom_events() -> None:
    """(d) A run of many ``custom`` events, fed straight into a transcript and its view (no server: the
    view's cost alone), with a clock that advances 1 ms per event, so redraws come every 50 events."""
    from lg_magics.protocol import Event
    from lg_magics.transcript import Transcript
    from lg_magics.view import RunView

    for n in (1000, 10000):
        now = [0.0]
        transcript = Transcript(assistant="tools", modes=("custom",))
        transcript.add_input("emit")
        events = [Event("custom", {"progress": i, "note": f"step {i} of {n}"}) for i in range(n)]

        def clock(now: list[float] = now) -> float:
            return now[0]

        with widget_traffic() as counts:
            start = time.process_time()
            view = RunView(transcript, clock=clock)
            for event in events:
                now[0] += 0.001
                transcript.apply(event)
                view.refresh()
            transcript.finish("success")
            view.flush()
            cpu = time.process_time() - start
        payload = sum(len(json.dumps(e.data)) for e in events)
        print(f"(d) {n} custom events: {cpu / n * 1e6:.0f} µs of kernel CPU per event (goal: flat as n grows)")
        print_traffic(counts, payload, "events' JSON")
        view.close()


def main() -> None:
    from lg_magics.server import EmbeddedServer

    started = time.perf_counter()
    bench_load_ext()
    bench_custom_events()
    server = EmbeddedServer()
    try:
        t0 = time.perf_counter()
        url = server.start()
        print(f"    embedded server started in {time.perf_counter() - t0:.1f} s at {url}")
        bench_runs(url)
    finally:
        server.stop()
    print(f"total {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
