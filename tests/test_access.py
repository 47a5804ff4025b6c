"""Unit tests of what every server needs: authentication headers, secrets kept out of text,
both error shapes, proxies that never apply to loopback, TLS settings, and statuses that servers word
differently. Faults no real server here produces (a 401 that echoes the token, a proxy) use httpx.MockTransport."""

from __future__ import annotations

import json

import httpx
import pytest

from lg_magics.client import Access, Client, proxy_for, unreachable
from lg_magics.exceptions import (
    AgentUsageError,
    AssistantNotFound,
    AuthenticationFailed,
    CertificateError,
    ServerError,
    ThreadNotFound,
)
from lg_magics.protocol import Event, display_url, error_detail, http_error, is_loopback, secrets_from_env
from lg_magics.settings import from_env
from lg_magics.transcript import CANCELLED, WAITING, Transcript

TOKEN = "tok-0123456789abcdef"
HEADER_VALUE = "tenant-secret-42"


def test_access_sends_bearer_token_headers_and_api_key_and_its_repr_shows_none() -> None:
    access = Access(api_key="key-0123456789", auth_token=TOKEN, headers=(("X-Tenant", HEADER_VALUE),))
    headers = access.request_headers()
    assert headers["authorization"] == f"Bearer {TOKEN}"
    assert headers["x-api-key"] == "key-0123456789"
    assert headers["X-Tenant"] == HEADER_VALUE
    text = repr(access)
    assert TOKEN not in text and HEADER_VALUE not in text and "key-0123456789" not in text
    assert "X-Tenant" in text and "auth_token" in text


def test_every_request_carries_the_headers() -> None:
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return httpx.Response(200, json=[])

    access = Access(auth_token=TOKEN, headers=(("X-Tenant", HEADER_VALUE),))
    with Client("http://deployment.example", access=access, transport=httpx.MockTransport(handler)) as client:
        client.search_assistants()
        client.search_threads()
    assert all(h["authorization"] == f"Bearer {TOKEN}" and h["x-tenant"] == HEADER_VALUE for h in seen) and len(seen) == 2


def test_401_names_authentication_and_the_variables_and_never_echoes_the_token() -> None:
    # A server that echoes the header back (no real server here does): the message must not carry it.
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"detail": f"Invalid token {TOKEN}"})

    with Client("http://deployment.example", access=Access(auth_token=TOKEN), transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(AuthenticationFailed) as caught:
            client.check_access()
    message = str(caught.value)
    assert TOKEN not in message and TOKEN not in caught.value.detail
    assert "authentication" in message and "LG_MAGICS_AUTH_TOKEN" in message and "LG_MAGICS_HEADERS" in message
    assert "\n" not in message


def test_403_is_authentication_too() -> None:
    error = http_error(403, b'{"error": "forbidden", "message": "Not allowed", "details": null}', "GET /threads/x")
    assert isinstance(error, AuthenticationFailed) and "Not allowed" in str(error)


@pytest.mark.parametrize(
    ("status", "body", "kind", "detail"),
    [
        (404, {"detail": "Thread with ID 1 not found"}, ThreadNotFound, "Thread with ID 1 not found"),
        (404, {"error": "not_found", "message": "Thread 'x' not found", "details": None}, ThreadNotFound, "Thread 'x' not found"),
        (404, {"error": "not_found", "message": "Assistant 'pirate' not found", "details": None}, AssistantNotFound, None),
        (422, {"detail": "Invalid assistant: 'pirate'. Must be either:\n- A valid UUID"}, AssistantNotFound, "Invalid assistant: 'pirate'. Must be either:"),
        (404, {"detail": "Thread or assistant not found."}, AssistantNotFound, None),
        (422, {"detail": [{"loc": ["body", "limit"], "msg": "Input should be less than or equal to 100"}]}, ServerError, "limit: Input should be less than or equal to 100"),
        (500, {"error": "internal_error", "message": "boom", "details": {"x": 1}}, ServerError, "boom"),
    ],
)  # fmt: skip
def test_both_error_shapes(status: int, body: dict, kind: type, detail: str) -> None:
    error = http_error(status, json.dumps(body).encode(), "POST /threads/x/runs/stream")
    assert type(error) is kind
    if detail:
        assert error.detail == detail == error_detail(status, json.dumps(body).encode())


def test_url_passwords_are_redacted_wherever_shown() -> None:
    url = "https://ada:s3cret-pass@deploy.example:8443/api"
    assert display_url(url) == "https://ada:***@deploy.example:8443/api"
    assert display_url("http://127.0.0.1:2024") == "http://127.0.0.1:2024"
    client = Client(url, transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    assert "s3cret" not in repr(client) and "s3cret" not in client.url and client.base_url == url
    assert "s3cret" not in str(unreachable(url, httpx.ConnectError("refused")))


def test_loopback_never_goes_through_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,internal.example")
    for url in ("http://127.0.0.1:2024", "http://localhost:2024", "http://[::1]:2024", "http://127.0.0.2:80"):
        assert is_loopback(url) and proxy_for(url) is None, url
    assert proxy_for("http://internal.example") is None
    assert proxy_for("https://deploy.example") == "http://proxy.example:3128"
    assert not is_loopback("http://deploy.example")


def test_a_certificate_error_names_the_setting() -> None:
    exc = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate")
    error = unreachable("https://deploy.example", exc)
    assert isinstance(error, CertificateError) and "LG_MAGICS_VERIFY" in str(error) and "AgentMagics.verify" in str(error)


def test_settings_from_the_environment(tmp_path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not read here")
    found = from_env(
        {
            "LG_MAGICS_AUTH_TOKEN": f" {TOKEN} ",
            "LG_MAGICS_HEADERS": json.dumps({"X-Tenant": HEADER_VALUE}),
            "LG_MAGICS_VERIFY": str(bundle),
        }
    )
    assert found == {"auth_token": TOKEN, "headers": {"X-Tenant": HEADER_VALUE}, "verify": str(bundle)}
    assert from_env({"LG_MAGICS_VERIFY": "off"}) == {"verify": False}
    assert from_env({"LG_MAGICS_VERIFY": "on"}) == {"verify": True}


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("LG_MAGICS_HEADERS", '{"X-Tenant": ' + HEADER_VALUE, "not valid JSON"),
        ("LG_MAGICS_HEADERS", '["X-Tenant"]', "JSON object"),
        ("LG_MAGICS_HEADERS", '{"X-Tenant": 42}', "string values"),
        ("LG_MAGICS_VERIFY", "/nowhere/ca.pem", "CA bundle"),
    ],
)
def test_bad_settings_say_what_to_do_without_echoing_secrets(name: str, value: str, words: str) -> None:
    with pytest.raises(AgentUsageError) as caught:
        from_env({name: value})
    assert words in str(caught.value) and HEADER_VALUE not in str(caught.value)


def test_secrets_from_the_environment_include_the_token_and_header_values() -> None:
    env = {
        "LG_MAGICS_AUTH_TOKEN": TOKEN,
        "LG_MAGICS_HEADERS": json.dumps({"X-Tenant": HEADER_VALUE}),
        "LANGGRAPH_API_KEY": "key-0123456789",
    }
    assert set(secrets_from_env(env)) == {TOKEN, HEADER_VALUE, "key-0123456789"}


def test_a_run_that_ended_at_an_interrupt_waits_whatever_the_status_word() -> None:
    transcript = Transcript(assistant="approval")
    transcript.apply(Event("updates", {"__interrupt__": [{"value": {"question": "Approve?"}, "id": "i1"}]}))
    transcript.finish("interrupted")  # Aegra's word for a run that stopped at an interrupt
    assert transcript.status == WAITING


def test_user_interrupt_means_cancelled() -> None:
    transcript = Transcript(assistant="slow_chat")
    transcript.apply(Event("error", {"error": "UserInterrupt", "message": ""}))  # langgraph-api on PostgreSQL
    transcript.finish("interrupted")
    assert transcript.status == CANCELLED and transcript.error is None


def test_a_url_password_is_basic_auth_unless_a_bearer_token_is_set() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    url = "http://ada:s3cret-pass@deploy.example"
    with Client(url, transport=httpx.MockTransport(handler)) as client:
        client.ok()
    with Client(url, access=Access(auth_token=TOKEN), transport=httpx.MockTransport(handler)) as client:
        client.ok()
    assert seen[0].headers["authorization"].startswith("Basic ") and seen[1].headers["authorization"] == f"Bearer {TOKEN}"
    assert all("s3cret" not in str(request.url) for request in seen)


def test_config_listing_never_prints_a_token_or_header_value(capsys: pytest.CaptureFixture[str]) -> None:
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    ip.run_line_magic("load_ext", "lg_magics")
    magics = ip.magics_manager.registry["AgentMagics"]
    try:
        # Set on the instance, not with %config, which would leave them in the shell's config for later tests.
        magics.auth_token, magics.headers = TOKEN, {"X-Tenant": HEADER_VALUE}
        capsys.readouterr()
        ip.run_line_magic("config", "AgentMagics")
        listing = capsys.readouterr().out
        assert "AgentMagics.auth_token" in listing and "AgentMagics.headers" in listing
        assert TOKEN not in listing and HEADER_VALUE not in listing
        assert repr(magics.access()).count(TOKEN) == 0
    finally:
        magics.auth_token, magics.headers = "", {}
