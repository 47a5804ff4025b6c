"""Record and replay: the cassette format and matching (pure), then real runs recorded and replayed."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from lg_magics.cassette import Cassette, resolve_mode
from lg_magics.cassette_file import dumps
from lg_magics.cassette_match import describe
from lg_magics.client import Client
from lg_magics.exceptions import AgentUsageError, CassetteError, CassetteMiss
from lg_magics.protocol import redact
from lg_magics.server import EmbeddedServer, free_port
from lg_magics.sse import SSEDecoder, encode_event, event_dict

from .conftest import Shell

SECRET = "lgm-test-secret-XYZ-cassette-0123456789"
SEED = "Hello! My name is Bagatur and I am 26 years old."
QUESTION = "What is my name and how old am I?"


# -- pure: SSE, file format, matching ---------------------------------------------------------
def test_sse_decoder_handles_any_chunking() -> None:
    raw = (
        b'event: metadata\r\ndata: {"run_id":"r1","attempt":1}\r\nid: 17-0\r\n\r\n'
        b": heartbeat\r\n\r\n"
        b'event: messages\r\ndata: [{"content":"Nice \xc3\xa9"},{"langgraph_node":"respond"}]\r\n\r\n'
        b"event: odd\r\ndata: not json\r\ndata: second line\r\n\r\n"
    )
    expected = [
        {"event": "metadata", "id": "17-0", "data": {"run_id": "r1", "attempt": 1}},
        {"event": "messages", "data": [{"content": "Nice é"}, {"langgraph_node": "respond"}]},
        {"event": "odd", "text": "not json\nsecond line"},
    ]
    for size in (1, 2, 3, 7, len(raw)):  # splits inside CRLF, inside UTF-8 and inside fields
        decoder = SSEDecoder()
        events = [event_dict(e) for i in range(0, len(raw), size) for e in decoder.feed(raw[i : i + size])]
        assert events == expected, size
    # Encoding gives back what the server sent, heartbeat aside.
    assert b"".join(map(encode_event, expected)) == raw.replace(b": heartbeat\r\n\r\n", b"")


def test_file_is_json_with_one_line_per_event_and_payload_order_kept() -> None:
    events = [{"event": "updates", "data": {"respond": {"user_name": "B", "user_age": 26}}}, {"event": "end", "data": None}]
    interactions = [
        {
            "request": {"method": "POST", "path": "/runs/stream", "query": {}, "body": {"assistant_id": "chat"}},
            "response": {"status": 200, "headers": {"content-type": "text/event-stream"}, "events": events},
        },
        {
            "request": {"method": "GET", "path": "/ok", "query": {}, "body": None},
            "response": {"status": 202, "headers": {}, "text": ""},
        },
    ]
    text = dumps({"url": "http://127.0.0.1:1", "graphs": ["chat"]}, interactions)
    document = json.loads(text)
    assert document["interactions"] == interactions
    # The views show update fields in the server's order, so payloads are never re-sorted.
    assert list(document["interactions"][0]["response"]["events"][0]["data"]["respond"]) == ["user_name", "user_age"]
    lines = text.splitlines()
    assert '        {"event": "updates", "data": {"respond": {"user_name": "B", "user_age": 26}}},' in lines
    assert dumps(document["serve"], document["interactions"]) == text  # stable: saving again changes nothing


def test_redact_removes_every_form_of_a_secret() -> None:
    assert redact(f'{{"k": "{SECRET}", "q": "a\\"{SECRET}"}}', [SECRET]) == '{"k": "[redacted]", "q": "a\\"[redacted]"}'


def test_record_mode_from_argument_environment_or_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.json"
    monkeypatch.delenv("LG_MAGICS_RECORD_MODE", raising=False)
    assert resolve_mode(None, path) == "record"  # auto, no file yet
    path.write_text("{}")
    assert resolve_mode(None, path) == "replay"
    assert resolve_mode("record", path) == "record"
    monkeypatch.setenv("LG_MAGICS_RECORD_MODE", "record")
    assert resolve_mode(None, path) == "record"
    with pytest.raises(AgentUsageError, match="one of record, replay, auto, not 'rewind'"):
        resolve_mode("rewind", path)


def test_unusable_cassettes_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match="No cassette at .* to replay: record it first"):
        Cassette(tmp_path / "missing.json", "replay")
    (tmp_path / "bad.json").write_text('{"format": "something else"}')
    with pytest.raises(CassetteError, match="is not an lg_magics cassette"):
        Cassette(tmp_path / "bad.json", "replay")


_GOOD = {"request": {"method": "GET", "path": "/ok", "query": {}, "body": None}, "response": {"status": 200, "json": {}}}


@pytest.mark.parametrize(
    ("document", "defect"),
    [
        ({"interactions": {}}, '"interactions" is not a list'),
        ({"serve": "http://x"}, '"serve" needs a "url"'),
        ({"interactions": [_GOOD, 3]}, "interaction 2 cannot be replayed (it is not an object)"),
        (
            {"interactions": [{"request": {"method": "GET"}, "response": {}}]},
            'interaction 1 cannot be replayed ("request" has no "path" text)',
        ),
        ({"interactions": [{**_GOOD, "response": {"status": "200"}}]}, '"response" has no "status" number'),
        ({"interactions": [{**_GOOD, "response": {"status": 200, "events": [{"data": 1}]}}]}, '"response.events" is not a list'),
        ({"interactions": [{**_GOOD, "request": {**_GOOD["request"], "query": []}}]}, '"request.query" is not an object'),
    ],
)
def test_a_cassette_with_the_wrong_structure_is_one_line_naming_the_entry(tmp_path: Path, document: Any, defect: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(json.dumps({"format": "lg_magics cassette 1", **document}))
    with pytest.raises(CassetteError) as info:
        Cassette(path, "replay")
    assert str(info.value).startswith(f"{path}: ") and defect in str(info.value)
    assert str(info.value).endswith("re-record the cassette.")


def test_a_cassette_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(CassetteError, match=r"^Cannot write the cassette /dev/null/x.json: /dev/null is not a folder\.$"):
        Cassette("/dev/null/x.json", "record")


def _run(thread: str | None, content: str, **extra: Any) -> httpx.Request:
    path = f"/threads/{thread}/runs/stream" if thread else "/runs/stream"
    body = {"assistant_id": "chat", "input": {"messages": [{"role": "human", "content": content}]}, **extra}
    return httpx.Request("POST", f"http://127.0.0.1:9{path}", json=body)


def _recorded(tmp_path: Path, requests: list[httpx.Request]) -> Cassette:
    """A cassette whose answer to the i-th request is an SSE stream with one event ``{"n": i}``."""
    interactions = [
        {
            "request": describe(request, request.read()),
            "response": {
                "status": 200,
                "headers": {"content-type": "text/event-stream"},
                "events": [{"event": "values", "data": {"n": i}}],
            },
        }
        for i, request in enumerate(requests)
    ]
    path = tmp_path / "c.json"
    path.write_text(dumps(None, interactions))
    return Cassette(path, "replay")


def _answer(cassette: Cassette, request: httpx.Request) -> int:
    response = cassette.play(describe(request, request.read()))
    [(_, data, _, _)] = SSEDecoder().feed(b"".join(response.stream))  # type: ignore[arg-type]
    return int(data["n"])


def test_new_thread_ids_are_mapped_by_order_and_content(tmp_path: Path) -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    cassette = _recorded(tmp_path, [_run(a, SEED), _run(b, SEED), _run(a, QUESTION), _run(None, QUESTION)])
    x, y = str(uuid.uuid4()), str(uuid.uuid4())
    assert _answer(cassette, _run(x, SEED)) == 0  # x is bound to a
    assert _answer(cassette, _run(None, QUESTION)) == 3  # stateless: matched on content alone
    assert _answer(cassette, _run(x, QUESTION)) == 2  # x's second run is a's second run
    assert _answer(cassette, _run(y, SEED)) == 1  # a is taken: y is bound to b
    with pytest.raises(CassetteMiss, match=r"POST /threads/…/runs/stream \(assistant_id 'chat', input 'again'\), run 2"):
        _answer(cassette, _run(y, "again"))


def test_volatile_fields_do_not_matter_but_what_decides_the_run_does(tmp_path: Path) -> None:
    cassette = _recorded(tmp_path, [_run(None, SEED, on_disconnect="cancel", metadata={"at": "09:00"}, context={"delay": 0})])
    assert _answer(cassette, _run(None, SEED, metadata={"at": "10:30"}, context={"delay": 0})) == 0
    with pytest.raises(CassetteMiss, match=r"POST /runs/stream \(assistant_id 'chat', input 'Hello! My name"):
        _answer(cassette, _run(None, SEED, context={"delay": 1}))


def test_a_run_out_of_its_place_on_the_thread_is_a_miss(tmp_path: Path) -> None:
    a = str(uuid.uuid4())
    cassette = _recorded(tmp_path, [_run(a, SEED), _run(a, QUESTION)])
    with pytest.raises(CassetteMiss, match="input .What is my name"):
        _answer(cassette, _run(str(uuid.uuid4()), QUESTION))  # the question came second, on a thread with history


def test_repeated_reads_reuse_their_last_answer(tmp_path: Path) -> None:
    ok = httpx.Request("GET", "http://127.0.0.1:9/threads/search")
    cassette = _recorded(tmp_path, [ok])
    assert [_answer(cassette, ok) for _ in range(3)] == [0, 0, 0]


# -- real runs -------------------------------------------------------------------------------
CELLS = [
    ("chat", SEED),
    ("chat", QUESTION),
    ("chat --stateless --stream-mode updates", SEED),
    ("chat --stateless --wait", SEED),
    ("tools --stream-mode updates custom messages-tuple", "weather in Rome"),
    ("approval --stream-mode values updates", "ship it"),
    ("boom --no-fail", "anything"),
]


def new_kernel(shell: Shell) -> Any:
    """Fresh magics in the shell, as in a new kernel: no connection, cassette or cache from earlier cells.

    Recording and replaying happen in different kernels; state cached by an earlier test
    would change which requests are sent."""
    from lg_magics.magics import AgentMagics

    magics = AgentMagics(shell=shell.ip)
    shell.ip.register_magics(magics)
    for name in [n for n in shell.ns if n.endswith("_thread")]:
        del shell.ns[name]
    return magics


@pytest.fixture()
def cassette_shell(shell: Shell) -> Iterator[Shell]:
    """The shell, left with fresh magics (no cassette) and without thread variables afterwards."""
    yield shell
    new_kernel(shell)


def _summaries(shell: Shell, cells: list[tuple[str, str]]) -> list[str]:
    summaries = []
    for line, body in cells:
        shell.cell(line, body)
        summaries.append(shell.summary())
    return summaries


def test_recorded_runs_replay_identically_with_no_server(
    cassette_shell: Shell, server: EmbeddedServer, custom_assistant: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell = cassette_shell
    monkeypatch.setenv("LANGSMITH_API_KEY", SECRET)
    cells = [*CELLS, (f"{custom_assistant} --stateless", SEED)]  # a custom assistant by name: a 422, a search, a run
    path = tmp_path / "notebook.cassette.json"

    new_kernel(shell)
    shell.line(f"record {path} --mode record")
    shell.line(f"connect {server.url}")
    recorded = _summaries(shell, cells)
    assert "Nice to meet you, **Bagatur**!" in recorded[0] and "[error] ValueError" in recorded[6]

    new_kernel(shell)
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    shell.line(f"record {path} --mode replay")
    shell.line(f"connect {dead}")
    assert _summaries(shell, cells) == recorded
    assert shell.ns["_agent"]["user_name"] == "Bagatur"

    text = path.read_text()
    assert SECRET not in text and "x-api-key" not in text.lower()
    with pytest.raises(CassetteMiss, match=r"^No recording in notebook.cassette.json for POST /threads/.*'not recorded'"):
        shell.cell("chat", "not recorded")


def test_recording_passes_events_through_as_they_arrive(server: EmbeddedServer, tmp_path: Path) -> None:
    cassette = Cassette(tmp_path / "c.json", "record")
    body = {
        "assistant_id": "slow_chat",
        "input": {"messages": [{"role": "human", "content": "count to 4"}]},
        "stream_mode": ["messages-tuple"],
    }
    seen_when_first_token_arrived = None
    with Client(server.url, transport=cassette.transport()) as client, client.stream_run(None, body) as stream:
        for event in stream:
            if event.event == "messages" and seen_when_first_token_arrived is None:
                seen_when_first_token_arrived = len(cassette.interactions[-1]["response"]["events"])
    events = cassette.interactions[-1]["response"]["events"]
    # The later tokens did not exist yet when the first reached us: nothing was buffered.
    assert seen_when_first_token_arrived is not None and seen_when_first_token_arrived < len(events)
    assert [e["data"][0]["content"] for e in events if e["event"] == "messages" and e["data"][0]["content"]] == [
        "1 ",
        "2 ",
        "3 ",
        "4",
    ]


def test_replay_streams_one_chunk_per_event(server: EmbeddedServer, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    body = {
        "assistant_id": "chat",
        "input": {"messages": [{"role": "human", "content": "count to 5"}]},
        "stream_mode": ["messages-tuple", "updates"],
    }
    with Client(server.url, transport=Cassette(path, "record").transport()) as client, client.stream_run(None, body) as stream:
        live = [(e.event, e.data) for e in stream]
    replay = Cassette(path, "replay")
    request = httpx.Request("POST", "http://127.0.0.1:9/runs/stream", json=body)
    chunks = list(replay.play(describe(request, request.read())).stream)  # type: ignore[arg-type]
    assert len(chunks) == len(live) and all(c.endswith(b"\r\n\r\n") for c in chunks)
    with Client(f"http://127.0.0.1:{free_port()}", transport=Cassette(path, "replay").transport()) as client:
        with client.stream_run(None, body) as stream:
            assert [(e.event, e.data) for e in stream] == live


def test_async_transports_record_and_replay(server: EmbeddedServer, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    body = {
        "assistant_id": "tools",
        "input": {"messages": [{"role": "human", "content": "weather in Oslo"}]},
        "stream_mode": ["updates", "custom"],
    }

    async def run(url: str, cassette: Cassette) -> list[tuple[str, Any]]:
        async with httpx.AsyncClient(base_url=url, transport=cassette.async_transport()) as http:
            async with aconnect_sse(http, "POST", "/runs/stream", json=body) as source:
                return [(sse.event, json.loads(sse.data)) async for sse in source.aiter_sse()]

    live = asyncio.run(run(server.url, Cassette(path, "record")))
    assert ("custom", {"tool": "get_weather", "city": "Oslo"}) in live
    assert asyncio.run(run(f"http://127.0.0.1:{free_port()}", Cassette(path, "replay"))) == live


def test_serve_in_replay_starts_nothing_and_prints_the_recorded_line(
    cassette_shell: Shell,
    server: EmbeddedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    shell = cassette_shell
    path = tmp_path / "c.json"
    monkeypatch.setenv("LG_MAGICS_URL", server.url)  # recorded through a shared server, like under the plugin
    new_kernel(shell)
    shell.line(f"record {path} --mode record")
    shell.line("serve")
    shell.cell("chat --stateless", SEED)
    recorded = shell.summary()
    shell.line("stop")
    first = capsys.readouterr().out

    monkeypatch.setenv("LG_MAGICS_URL", f"http://127.0.0.1:{free_port()}")
    magics = new_kernel(shell)
    shell.line(f"record {path} --mode replay")
    shell.line("serve")
    assert magics.connection.server is None  # nothing was started
    shell.cell("chat --stateless", SEED)
    assert shell.summary() == recorded
    shell.line("stop")
    assert capsys.readouterr().out == first
    assert f"Agent Server ready at {server.url} with graphs: chat, slow_chat, approval, tools, boom, agent, essay." in first


def test_cassette_from_the_environment(
    cassette_shell: Shell, server: EmbeddedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shell = cassette_shell
    path = tmp_path / "env.cassette.json"
    monkeypatch.setenv("LG_MAGICS_CASSETTE", str(path))
    monkeypatch.setenv("LG_MAGICS_RECORD_MODE", "record")
    magics = new_kernel(shell)
    shell.line(f"connect {server.url}")
    shell.cell("chat --stateless", QUESTION)
    assert magics.connection.cassette is not None and magics.connection.cassette.path == path
    assert "What is my name and how old am I?" in path.read_text()
