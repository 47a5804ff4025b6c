"""Networks between the notebook and a deployment, against the real embedded server: HTTP proxies
(never for loopback), TLS with a self-signed certificate (a TLS-terminating proxy in front of the
server, as nginx would be), and passwords in URLs, which are used but never shown."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lg_magics.exceptions import CertificateError, ThreadNotFound
from lg_magics.server import EmbeddedServer, free_port

from .conftest import Shell
from .proxy import CuttingProxy

SEED = "Hello! My name is Bagatur and I am 26 years old."
DEAD_PROXY = f"http://127.0.0.1:{free_port()}"  # nothing listens there


def magics(shell: Shell):  # type: ignore[no-untyped-def]
    return shell.ip.magics_manager.registry["AgentMagics"]


@pytest.fixture()
def fresh(shell: Shell) -> Iterator[Shell]:
    """The shell with default settings restored afterwards."""
    yield shell
    magics(shell).verify = True
    magics(shell).auth_token = ""
    magics(shell).headers = {}


def test_loopback_never_goes_through_the_proxy(fresh: Shell, server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # NO_PROXY names localhost only, as many setups do: 127.0.0.1 still must not go to the proxy.
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(name, DEAD_PROXY)
    monkeypatch.setenv("NO_PROXY", "localhost")
    fresh.line(f"connect {server.url}")
    fresh.cell("chat", SEED)
    assert fresh.ns["_agent"]["user_name"] == "Bagatur"


@pytest.mark.kernel
def test_the_embedded_server_starts_behind_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", DEAD_PROXY)
    monkeypatch.setenv("NO_PROXY", "localhost")
    embedded = EmbeddedServer()
    try:
        assert embedded.start(timeout=60).startswith("http://127.0.0.1:")
    finally:
        embedded.stop()


def test_a_remote_server_goes_through_the_proxy(fresh: Shell, server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # The proxy forwards to the real server; the name is not resolvable, so only the proxy can reach it.
    proxy = CuttingProxy(server.port)
    try:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        fresh.line("connect http://agent-server.invalid:2024")
        fresh.cell("chat --stateless", SEED)
        assert fresh.ns["_agent"]["user_name"] == "Bagatur"
        assert any(line.startswith("POST http://agent-server.invalid:2024/runs/stream ") for line in proxy.seen)
    finally:
        proxy.close()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture()
def tls_proxy(server: EmbeddedServer, certificate: tuple[Path, Path]) -> Iterator[CuttingProxy]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    proxy = CuttingProxy(server.port, tls=context)
    yield proxy
    proxy.close()


def test_a_self_signed_certificate_names_the_setting(fresh: Shell, tls_proxy: CuttingProxy) -> None:
    with pytest.raises(CertificateError, match="Set LG_MAGICS_VERIFY .* to the path of your CA bundle, or to off") as caught:
        fresh.line(f"connect {tls_proxy.url}")
    assert len(caught.value._render_traceback_()) == 1


def test_a_ca_bundle_or_verify_off_reaches_it(fresh: Shell, tls_proxy: CuttingProxy, certificate: tuple[Path, Path]) -> None:
    magics(fresh).verify = str(certificate[0])
    fresh.line(f"connect {tls_proxy.url}")
    fresh.cell("chat", SEED)
    assert fresh.ns["_agent"]["user_name"] == "Bagatur"
    magics(fresh).verify = False
    fresh.cell("chat", "What is my name and how old am I?")
    assert fresh.ns["_agent"].text == "Your name is **Bagatur** and you are **26** years old."


def test_a_url_password_is_never_shown(
    fresh: Shell, server: EmbeddedServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = server.url.replace("http://", "http://ada:s3cret-pw@")
    monkeypatch.setenv("LG_MAGICS_URL", url)
    fresh.line("serve")  # borrows the server LG_MAGICS_URL names
    fresh.line("stop")
    fresh.line(f"connect {url}")
    fresh.line("info")
    fresh.line("assistants")
    fresh.cell("chat", SEED)
    fresh.ns["chat_thread"] = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(ThreadNotFound) as caught:
        fresh.cell("chat", SEED)
    shown = capsys.readouterr().out + str(fresh.outputs) + str(caught.value) + repr(magics(fresh).client())
    assert "s3cret-pw" not in shown and "ada:***@" in shown
