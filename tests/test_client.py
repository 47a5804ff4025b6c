"""The HTTP client against the real embedded Agent Server."""

from __future__ import annotations

import uuid

import httpx
import pytest

from lg_magics.client import Client
from lg_magics.exceptions import AssistantNotFound, ServerError, ServerUnreachable, ThreadNotFound
from lg_magics.protocol import api_key_from_env, run_body
from lg_magics.server import free_port

from .conftest import wait_for

SEED = {"messages": [{"role": "human", "content": "Hello! My name is Bagatur and I am 26 years old."}]}


def test_ok_and_info(client: Client) -> None:
    assert client.ok() is True
    assert client.info()["version"]


def test_search_and_get_assistants(client: Client) -> None:
    graphs = {a["graph_id"]: a for a in client.search_assistants() if a["metadata"].get("created_by") == "system"}
    assert {"chat", "boom"} <= set(graphs)
    chat = client.get_assistant(graphs["chat"]["assistant_id"])
    assert chat["graph_id"] == "chat"


def test_threads_create_get_state(client: Client) -> None:
    thread = client.create_thread(metadata={"owner": "test"})
    assert thread["status"] == "idle" and thread["metadata"] == {"owner": "test"}
    assert client.get_thread(thread["thread_id"])["thread_id"] == thread["thread_id"]
    assert client.get_state(thread["thread_id"])["values"] == {}


def test_stream_on_a_thread(client: Client) -> None:
    thread_id = client.create_thread()["thread_id"]
    with client.stream_run(thread_id, run_body("chat", input=SEED, stream_modes=["messages-tuple", "updates"])) as stream:
        assert stream.thread_id == thread_id and stream.run_id
        events = list(stream)
    names = [e.event for e in events]
    assert names[0] == "metadata" and names[-1] == "updates"
    assert "messages" in names  # messages-tuple arrives as event "messages"
    tokens = "".join(e.data[0]["content"] for e in events if e.event == "messages")
    assert tokens == "Nice to meet you, **Bagatur**! I will remember that you are 26 years old."
    assert client.get_run(thread_id, stream.run_id)["status"] == "success"
    assert client.get_state(thread_id)["values"]["user_name"] == "Bagatur"


def test_stream_stateless(client: Client) -> None:
    with client.stream_run(None, run_body("chat", input=SEED, stream_modes=["values"])) as stream:
        assert stream.thread_id is None
        events = list(stream)
    assert events[-1].event == "values"
    assert events[-1].data["user_age"] == 26


def test_stream_error_event(client: Client) -> None:
    with client.stream_run(None, run_body("boom", input={"kind": "value"}, stream_modes=["updates"])) as stream:
        events = list(stream)
    assert events[-1].event == "error"
    assert events[-1].data == {"error": "ValueError", "message": "kaboom: the boom node always fails"}


def test_wait_on_a_thread_and_stateless(client: Client) -> None:
    thread_id = client.create_thread()["thread_id"]
    result, tid, run_id = client.wait_run(thread_id, run_body("chat", input=SEED))
    assert tid == thread_id and run_id and result["user_name"] == "Bagatur"
    result, _, _ = client.wait_run(None, run_body("chat", input=SEED))
    assert result["user_age"] == 26
    failed, _, _ = client.wait_run(None, run_body("boom", input={"kind": "value"}))
    assert failed["__error__"]["error"] == "ValueError"


def test_cancel_a_running_run(client: Client) -> None:
    thread_id = client.create_thread()["thread_id"]
    body = run_body("chat", input=SEED, stream_modes=["messages-tuple"], context={"delay": 0.2})
    with client.stream_run(thread_id, body) as stream:
        for event in stream:
            if event.event == "messages":
                client.cancel_run(thread_id, stream.run_id)
                break
    status = wait_for(
        lambda: (s := client.get_run(thread_id, stream.run_id)["status"]) not in ("pending", "running") and s,
        what="the cancelled run to stop",
    )
    assert status == "interrupted"
    # Cancelling a run that has ended is not an error: it already is what cancel wanted.
    client.cancel_run(thread_id, stream.run_id)


def test_http_errors_become_one_line_exceptions(client: Client) -> None:
    with pytest.raises(ThreadNotFound, match="Thread with ID .* not found"):
        client.get_state(str(uuid.uuid4()))
    with pytest.raises(AssistantNotFound, match="Invalid assistant: 'nope'"):
        with client.stream_run(None, run_body("nope", input=SEED)):
            pass
    with pytest.raises(ServerError, match=r"HTTP 422: .*assistant_id.* is a required property$") as info:
        client._json("POST", "/runs/wait", json={"input": {}})
    assert info.value.status_code == 422 and "\n" not in str(info.value)


def test_unreachable_server() -> None:
    with Client(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(ServerUnreachable, match="%agent serve"):
            client.ok()
        with pytest.raises(ServerUnreachable):
            with client.stream_run(None, run_body("chat", input=SEED)):
                pass


def test_api_key_order_and_stripping() -> None:
    env = {"LANGCHAIN_API_KEY": "c", "LANGSMITH_API_KEY": " 'b' ", "LANGGRAPH_API_KEY": ""}
    assert api_key_from_env(env) == "b"
    assert api_key_from_env({"LANGCHAIN_API_KEY": "c"}) == "c"
    assert api_key_from_env({}) is None


def test_api_key_is_sent_and_never_shown() -> None:
    # The dev server ignores auth, so only the request itself can show the header:
    # a mock transport records it.
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("x-api-key"))
        return httpx.Response(500, json={"detail": "boom"})

    client = Client("http://127.0.0.1:1", "sk-secret-123", transport=httpx.MockTransport(handler))
    with pytest.raises(ServerError) as info:
        client.ok()
    assert seen == ["sk-secret-123"]
    assert "sk-secret" not in repr(client) + str(info.value) + repr(info.value)


def test_server_error_5xx_is_one_line() -> None:
    # The real server does not fail with 5xx on demand; a mock transport does.
    transport = httpx.MockTransport(lambda request: httpx.Response(503, text="upstream down\nmore"))
    with Client("http://127.0.0.1:1", transport=transport) as client:
        with pytest.raises(ServerError, match=r"^GET /info failed with HTTP 503: upstream down$"):
            client.info()
