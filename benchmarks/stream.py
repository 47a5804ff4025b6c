"""Per-event cost of a long streamed reply: our decode + fold + live view + summary against the
official SDK's own SSE decoding of the same bytes. A script, not a test: it prints figures.

    python benchmarks/stream.py

The bytes are what the server sends for a ``messages-tuple`` run of a real agent: one ``messages``
event per token (an ``AIMessageChunk`` in Anthropic's shape, with the server's metadata), then the
node's update with the whole message. Each figure is µs per event, best of 3, at 1k, 10k and 100k
token events; a flat row means the cost per event does not grow with the reply's length.
"""

from __future__ import annotations

import json
import time
from typing import Any, Callable, cast

import httpx

SIZES = (1_000, 10_000, 100_000)
META = {
    "created_by": "system",
    "run_attempt": 1,
    "langgraph_version": "1.2.24",
    "langgraph_api_version": "0.16.7",
    "graph_id": "agent",
    "assistant_id": "fe096781-5601-53d2-b2f6-0d3403f7e9ca",
    "run_id": "019a0000-0000-7000-8000-000000000001",
    "thread_id": "019a0000-0000-7000-8000-000000000002",
    "langgraph_step": 1,
    "langgraph_node": "model",
    "langgraph_triggers": ["branch:to:model"],
    "langgraph_path": ["__pregel_pull", "model"],
    "langgraph_checkpoint_ns": "model:0d1c5bd3-2f8c-5d8a-9f34-9cf2b7d1e6a1",
    "checkpoint_ns": "model:0d1c5bd3-2f8c-5d8a-9f34-9cf2b7d1e6a1",
    "ls_provider": "anthropic",
    "ls_model_name": "claude-sonnet-4-5",
    "ls_model_type": "chat",
}


def chunk(content: Any, **extra: Any) -> dict[str, Any]:
    return {
        "content": content,
        "additional_kwargs": {},
        "response_metadata": {},
        "type": "AIMessageChunk",
        "name": None,
        "id": "lc_run--019a0000-0000-7000-8000-0000000000aa",
        "tool_calls": [],
        "invalid_tool_calls": [],
        "usage_metadata": None,
        "tool_call_chunks": [],
        "chunk_position": None,
        **extra,
    }


def sse_bytes(tokens: int) -> bytes:
    """A run of ``tokens`` token events: reasoning for the first tenth, then the answer."""
    out = [b'event: metadata\r\ndata: {"run_id":"019a0000-0000-7000-8000-000000000001","attempt":1}\r\n\r\n']
    thinking = tokens // 10
    words = []
    for n in range(tokens):
        word = f"w{n % 97} "
        if n < thinking:
            content = [{"type": "thinking", "thinking": word, "index": 0}]
        else:
            content = [{"type": "text", "text": word, "index": 1}]
            words.append(word)
        data = json.dumps([chunk(content), META], separators=(",", ":"))
        out.append(f"event: messages\r\ndata: {data}\r\n\r\n".encode())
    usage = {"input_tokens": 500, "output_tokens": tokens, "total_tokens": 500 + tokens}
    last = chunk([], usage_metadata=usage, chunk_position="last")
    out.append(f"event: messages\r\ndata: {json.dumps([last, META])}\r\n\r\n".encode())
    final = {"type": "ai", "id": last["id"], "content": [{"type": "text", "text": "".join(words)}], "usage_metadata": usage}
    out.append(f"event: updates\r\ndata: {json.dumps({'model': {'messages': [final]}})}\r\n\r\n".encode())
    return b"".join(out)


def response(data: bytes) -> httpx.Response:
    # Arrives in 4 kB reads, as from a socket.
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Chunked(data))


class _Chunked(httpx.SyncByteStream):
    def __init__(self, data: bytes, size: int = 4096) -> None:
        self.data, self.size = data, size

    def __iter__(self) -> Any:
        for start in range(0, len(self.data), self.size):
            yield self.data[start : start + self.size]


def sdk_decode(data: bytes) -> int:
    from langgraph_sdk.sse import SSEDecoder, iter_lines_raw

    decoder, events = SSEDecoder(), 0
    for line in iter_lines_raw(response(data)):
        if decoder.decode(cast(bytes, line).rstrip(b"\n")) is not None:  # as the SDK's client calls it
            events += 1
    return events


def our_decode(data: bytes) -> int:
    from lg_magics.client import RunStream

    return sum(1 for _ in RunStream(response(data), "http://bench"))


def fold_only(data: bytes) -> int:
    """The fold alone, over events decoded beforehand (timed: decoding is not)."""
    from lg_magics.client import RunStream
    from lg_magics.transcript import Transcript

    events = list(RunStream(response(data), "http://bench"))
    transcript = Transcript(assistant="agent", modes=("messages-tuple", "updates"))
    start = time.perf_counter()
    for event in events:
        transcript.apply(event)
    _FOLD_TIME[0] = time.perf_counter() - start
    return len(events)


_FOLD_TIME = [0.0]


def our_fold(data: bytes) -> int:
    """Decode, fold into a transcript, redraw the live view as it would (every 50 ms of a run at
    1,000 events a second), then render the saved summary (HTML and text)."""
    from lg_magics.client import RunStream
    from lg_magics.render import transcript_html, transcript_text
    from lg_magics.transcript import Transcript
    from lg_magics.view import RunView

    now = [0.0]
    transcript = Transcript(assistant="agent", modes=("messages-tuple", "updates"))
    transcript.add_input("Write a long answer.")
    view = RunView(transcript, clock=lambda: now[0])
    events = 0
    for event in RunStream(response(data), "http://bench"):
        transcript.apply(event)
        now[0] += 0.001
        view.refresh()
        events += 1
    transcript.finish("success")
    view.flush()
    transcript_html(transcript)
    transcript_text(transcript)
    view.close()
    return events


def best(fn: Callable[[bytes], int], data: bytes) -> tuple[float, int]:
    times, events = [], 0
    for _ in range(3):
        start = time.perf_counter()
        events = fn(data)
        times.append(_FOLD_TIME[0] if fn is fold_only else time.perf_counter() - start)
    return min(times), events


def main() -> None:
    rows = [
        ("langgraph_sdk SSE decode", sdk_decode),
        ("lg_magics decode", our_decode),
        ("lg_magics fold alone (decoded beforehand)", fold_only),
        ("lg_magics decode+fold+view+summary", our_fold),
    ]
    print("µs per event (best of 3); events/s in brackets")
    print(f"{'path':44}" + "".join(f"{n:>22,}" for n in SIZES))
    payloads = {n: sse_bytes(n) for n in SIZES}
    for label, fn in rows:
        cells = []
        for n in SIZES:
            elapsed, events = best(fn, payloads[n])
            cells.append(f"{elapsed / events * 1e6:8.2f} ({events / elapsed / 1000:5.0f}k/s)")
        print(f"{label:44}" + "".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
