"""Benchmark of ``%%agent ASSISTANT --map VAR``: a batch of 50 prompts at concurrency 8 versus one at a time.

    python benchmarks/batch.py [--items 50] [--concurrency 8] [--delay 0.02]

A script, not a test: it prints figures and asserts nothing. The runs go to the
``slow_chat`` demo graph on the embedded server (``langgraph dev`` with 10 jobs
at once), each asked to "count to 10" with ``--context {"delay": D}`` seconds per token.
"""

from __future__ import annotations

import argparse
import json
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds per streamed token")
    args = parser.parse_args()

    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.testing.globalipapp import start_ipython

    from lg_magics.server import EmbeddedServer

    server = EmbeddedServer()
    server.start()
    try:
        ip = start_ipython()
        ip.display_pub = CapturingDisplayPublisher()  # the progress bar goes to a list, not the terminal
        ip.run_line_magic("load_ext", "lg_magics")
        ip.run_line_magic("agent", f"connect {server.url}")
        ip.user_ns["numbers"] = [10] * args.items
        context = json.dumps({"delay": args.delay}, separators=(",", ":"))

        def batch(concurrency: int) -> tuple[float, str]:
            ip.display_pub.outputs.clear()
            start = time.perf_counter()
            line = f"slow_chat --map numbers --concurrency {concurrency} --context {context}"
            ip.run_cell_magic("agent", line, "count to {{item}}")
            elapsed = time.perf_counter() - start
            return elapsed, ip.display_pub.outputs[-1]["data"]["text/plain"].splitlines()[0]

        ip.user_ns["warm"] = [1]
        ip.run_cell_magic("agent", "slow_chat --map warm --quiet", "count to {{item}}")  # imports, connection
        parallel, parallel_summary = batch(args.concurrency)
        serial, serial_summary = batch(1)
        print(
            f"{args.items} items of 'count to 10' on slow_chat ({args.delay} s per token), embedded server with {server.jobs} jobs:"
        )
        print(f"  --concurrency {args.concurrency:<2}: {parallel:6.2f} s  ({parallel_summary})")
        print(f"  --concurrency 1 : {serial:6.2f} s  ({serial_summary})")
        print(f"  speed-up       : {serial / parallel:.1f}x")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
