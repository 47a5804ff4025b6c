"""SSE decoding (pure): the spec's line ends, fields and dispatch, whatever the chunking, and what the
client and the cassette make of each decoded event. Real servers cover the common shape; these bytes
are the shapes a proxy or another server may send, which no server here produces."""

from __future__ import annotations

import asyncio
import dataclasses
import math
import random

import httpx
import pytest

from lg_magics.cassette import _Chunks  # a replayed body: the chunks as given
from lg_magics.client import RunStream
from lg_magics.protocol import HEARTBEAT, Event
from lg_magics.sse import Decoded, SSEDecoder, event_dict

# Every feature in one small stream: CRLF, LF and lone CR line ends, a comment, multi-line data,
# an id (one with a NUL, ignored), no event name, data that is not JSON, NaN, UTF-8 of 2, 3 and 4 bytes,
# invalid UTF-8 in JSON and in text, fields without a space or a value, unknown fields, blank lines.
STREAM = (
    b'event: metadata\r\ndata: {"run_id":"r1"}\r\nid: 1-0\r\n\r\n'
    b": heartbeat\r\n\r\n"
    b'event: messages\ndata: ["caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"]\n\n'
    b"event: odd\rdata: not json\rdata:second line\rretry: 10\rfoo: bar\r\r"
    b"data: [1,\r\ndata:  2]\r\nid: 2\x00x\r\n\r\n"
    b"\r\n\n\r"
    b'event: nan\r\ndata: {"x": NaN, "y": -Infinity}\r\n\r\n'
    b'event: bad\r\ndata: ["\xff\xc3"]\r\n\r\n'
    b"event: bad text\r\ndata: \xe2\x82 x\r\n\r\n"
    b"event: empty\r\ndata\r\nid\r\n\r\n"
    b":\r\n"
    b"event: last\r\ndata: 1\r\n\r\n"
)
EXPECTED: list[Decoded] = [
    ("metadata", {"run_id": "r1"}, "1-0", True),
    ("messages", ["café € \U0001f600"], None, True),
    ("odd", "not json\nsecond line", None, False),
    ("message", [1, 2], None, True),  # the id with a NUL is ignored; data lines joined with "\n"
    ("nan", {"x": math.nan, "y": -math.inf}, None, True),
    ("bad", ["\ufffd\ufffd"], None, True),
    ("bad text", "\ufffd x", None, False),
    ("empty", "", "", False),
    ("last", 1, None, True),
]


def decode(*chunks: bytes) -> tuple[list[Decoded], int]:
    decoder = SSEDecoder()
    events = [event for chunk in chunks for event in decoder.feed(chunk)]
    return events, decoder.comments


def same(events: list[Decoded]) -> list[str]:
    return [repr(event) for event in events]  # NaN is not equal to itself; its repr is


def test_every_feature_decoded_as_the_spec_says() -> None:
    events, comments = decode(STREAM)
    assert same(events) == same(EXPECTED)
    assert comments == 2


def test_any_split_gives_the_same_events() -> None:
    # Every split point (inside a CRLF, a UTF-8 sequence, a field name, a blank line), then byte by
    # byte, then random cuts into several chunks.
    whole = same(EXPECTED)
    for cut in range(len(STREAM) + 1):
        events, comments = decode(STREAM[:cut], STREAM[cut:])
        assert (same(events), comments) == (whole, 2), cut
    events, comments = decode(*(STREAM[i : i + 1] for i in range(len(STREAM))))
    assert (same(events), comments) == (whole, 2)
    rng = random.Random(10)
    for _ in range(300):
        cuts = sorted(rng.sample(range(len(STREAM) + 1), rng.randint(2, 8)))
        events, comments = decode(*(STREAM[a:b] for a, b in zip([0, *cuts], [*cuts, len(STREAM)])))
        assert (same(events), comments) == (whole, 2), cuts


def test_line_ends_are_interchangeable() -> None:
    lines = [b"event: a", b"data: 1", b"data: 2", b"", b": c", b"data: x", b"", b""]
    expected = [("a", "1\n2", None, False), ("message", "x", None, False)]
    for end in (b"\n", b"\r", b"\r\n"):
        assert decode(end.join(lines))[0] == expected, end
    # A CR ending one chunk and an LF starting the next are one line end, not a blank line between.
    assert decode(b"data: 1\r", b"\ndata: 2\r\n\r\n")[0] == [("message", "1\n2", None, False)]
    # A lone CR is a line end at once: the event is out before the next chunk arrives.
    assert decode(b"data: 1\r\r")[0] == [("message", 1, None, True)]


def test_incomplete_events_wait_and_are_never_guessed() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b'event: values\r\ndata: {"n":') == []
    assert decoder.feed(b"") == []
    assert decoder.feed(b" 1}\r\n") == []  # no blank line yet
    assert decoder.feed(b"\r\n") == [("values", {"n": 1}, None, True)]
    assert decoder.feed(b"event: cut\r\ndata: 1\r\n") == []  # the stream ends here: not an event


def test_a_long_line_in_many_chunks() -> None:
    payload = b'{"text": "' + "é".encode() * 50_000 + b'"}'
    chunks = [b"event: values\r\ndata: "] + [payload[i : i + 1000] for i in range(0, len(payload), 1000)] + [b"\r\n\r\n"]
    assert decode(*chunks)[0] == [("values", {"text": "é" * 50_000}, None, True)]


def test_byte_order_mark_at_the_start_is_dropped() -> None:
    bom = b"\xef\xbb\xbf"
    assert decode(bom + b"event: a\n\n")[0] == [("a", "", None, False)]
    assert decode(bom[:1], bom[1:] + b"event: a\n\n")[0] == [("a", "", None, False)]
    for chunks in ([b"event: a\n\n" + bom + b"event: b\n\n"], [b"event: a\n\n", bom + b"event: b\n\n"]):
        assert decode(*chunks)[0] == [("a", "", None, False)]  # only at the start: later it is part of a field name


def test_the_cassette_keeps_dicts() -> None:
    assert [event_dict(event) for event in decode(STREAM)[0][:4]] == [
        {"event": "metadata", "id": "1-0", "data": {"run_id": "r1"}},
        {"event": "messages", "data": ["café € \U0001f600"]},
        {"event": "odd", "text": "not json\nsecond line"},
        {"event": "message", "data": [1, 2]},
    ]


def _stream(chunks: list[bytes]) -> RunStream:
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=_Chunks(chunks))
    return RunStream(response, "http://127.0.0.1:1")


def test_run_stream_yields_events_and_heartbeats() -> None:
    chunks = [
        b'event: metadata\r\ndata: {"run_id":"r1"}\r\nid: 1-0\r\n\r\n',
        b": heartbeat\r\n\r\n",  # a chunk with nothing but the heartbeat
        b"event: odd\r\ndata: not json\r\n\r\nevent: empty\r\ndata:\r\nid:\r\n\r\n: heartbeat\r\n\r\n",
        b'event: values\r\ndata: "text"\r\n\r\n',
    ]
    expected = [
        Event("metadata", {"run_id": "r1"}, "1-0"),
        HEARTBEAT,
        Event("odd", "not json"),
        Event("empty", None),  # empty text and an empty id are None
        Event("values", "text"),
    ]
    assert list(_stream(chunks)) == expected

    async def collect() -> list[Event]:
        return [event async for event in _stream(chunks)]

    assert asyncio.run(collect()) == expected


def test_event_is_frozen_and_hashable() -> None:
    event = Event("messages", [1], "7")
    assert event == Event("messages", [1], id="7") and event != Event("messages", [1])
    assert hash(Event("a", None)) == hash(Event("a", None))
    assert repr(event) == "Event(event='messages', data=[1], id='7')"
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.event = "x"  # type: ignore[misc]
    assert (Event("updates|sub:1", {}).mode, Event("updates|sub:1", {}).namespace) == ("updates", ("sub:1",))
