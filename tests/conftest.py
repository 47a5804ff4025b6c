"""Fixtures: a real Agent Server (the embedded one, on a free port) and an IPython shell.

Every test belongs to one tier (a pytest marker), so a developer can run one: ``unit`` needs nothing
but Python (``make check`` runs it); ``server`` talks to a real Agent Server over loopback; ``kernel``
starts a real IPython kernel or process; ``notebooks`` executes notebooks; ``browser`` drives
JupyterLab in Chromium. Tests that use the ``server`` or ``kernel`` fixtures are marked for it here;
tests that start what they need themselves carry the marker. A test with no tier is ``unit``.
``selfhosted`` tests are ``server`` tests too, on Aegra and langgraph-api on PostgreSQL + Redis
(``-m "server and not selfhosted"`` leaves them out).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Callable

import pytest

from lg_magics.client import Client
from lg_magics.server import EmbeddedServer

TIERS = ("server", "kernel", "notebooks", "browser")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if "kernel" in fixtures:
            item.add_marker(pytest.mark.kernel)
        if fixtures & {"server", "wordcount_server"}:
            item.add_marker(pytest.mark.server)
        if not any(item.get_closest_marker(tier) for tier in TIERS):
            item.add_marker(pytest.mark.unit)


def wait_for(condition: Callable[[], Any], timeout: float = 30.0, what: str = "condition") -> Any:
    """Poll ``condition`` until it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture(scope="session")
def server() -> Iterator[EmbeddedServer]:
    """The embedded Agent Server with the demo graphs, started once for the session."""
    embedded = EmbeddedServer()
    embedded.start()
    yield embedded
    embedded.stop()


@pytest.fixture()
def client(server: EmbeddedServer) -> Iterator[Client]:
    with Client(server.url) as c:
        yield c


@pytest.fixture()
def custom_assistant(client: Client) -> Iterator[str]:
    """The name of a new assistant on the chat graph; deleted after the test, so other tests see the demo set."""
    import uuid

    name = f"custom-{uuid.uuid4().hex[:6]}"
    assistant = client._json("POST", "/assistants", json={"graph_id": "chat", "name": name})
    yield name
    client._json("DELETE", f"/assistants/{assistant['assistant_id']}")


class Shell:
    """An in-process IPython shell with lg_magics loaded, capturing what cells display."""

    def __init__(self) -> None:
        from IPython.core.displaypub import CapturingDisplayPublisher
        from IPython.testing.globalipapp import get_ipython

        self.ip = get_ipython()
        self.ip.display_pub = CapturingDisplayPublisher()
        self.ip.run_line_magic("load_ext", "lg_magics")

    @property
    def ns(self) -> dict[str, Any]:
        return self.ip.user_ns

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return self.ip.display_pub.outputs

    def cell(self, line: str, body: str) -> Any:
        self.ip.display_pub.clear_output()
        return self.ip.run_cell_magic("agent", line, body)

    def line(self, line: str) -> Any:
        self.ip.display_pub.clear_output()
        return self.ip.run_line_magic("agent", line)

    def summary(self) -> str:
        """The plain-text summary the last run left (the output nbval compares)."""
        texts = [o["data"]["text/plain"] for o in self.outputs if {"text/html", "text/plain"} <= set(o["data"])]
        assert texts, f"no summary among {self.outputs}"
        return texts[-1]


@pytest.fixture()
def shell(server: EmbeddedServer) -> Iterator[Shell]:
    s = Shell()
    s.ip.reset(new_session=False)  # every test starts with an empty notebook namespace
    s.line(f"connect {server.url}")
    yield s
    magics = s.ip.magics_manager.registry["AgentMagics"]
    magics.url = ""


@pytest.fixture(scope="session")
def wordcount_server() -> Iterator[EmbeddedServer]:
    """A second real server with tests/graphs: ``wordcount`` takes ``{"text": ...}``, not messages
    (every demo graph takes messages)."""
    from pathlib import Path

    embedded = EmbeddedServer(Path(__file__).parent / "graphs" / "langgraph.json")
    embedded.start()
    yield embedded
    embedded.stop()


def connected_kernel(url: str) -> Iterator[Any]:
    """A real IPython kernel with lg_magics loaded and connected to ``url``; stopped afterwards."""
    from .kernel import Kernel

    k = Kernel()
    k.execute(f"%load_ext lg_magics\n%agent connect {url}")
    yield k
    k.stop()


@pytest.fixture(scope="module")
def kernel(server: EmbeddedServer) -> Iterator[Any]:
    """A real IPython kernel (one per test module) with lg_magics loaded and connected."""
    yield from connected_kernel(server.url)


# -- self-hosted servers (tests/selfhosted.py): shared by every selfhosted module of the session ---
@pytest.fixture(scope="session")
def servers() -> Iterator[Any]:
    from .selfhosted import Servers

    started = Servers()
    yield started
    started.stop()


@pytest.fixture(scope="module", params=["aegra", "langhost"])
def target(request: pytest.FixtureRequest, servers: Any) -> Any:
    """Each self-hosted server in turn (started once per session)."""
    return servers.get(request.param)


@pytest.fixture()
def remote(target: Any) -> Iterator[Shell]:
    """A shell connected to the self-hosted server, with an empty namespace and fresh magics."""
    from lg_magics.magics import AgentMagics

    shell = Shell()
    shell.ip.reset(new_session=False)
    shell.ip.register_magics(AgentMagics(shell=shell.ip))
    shell.line(f"connect {target.url}")
    yield shell
    shell.ip.register_magics(AgentMagics(shell=shell.ip))


@pytest.fixture()
def api(target: Any) -> Iterator[Client]:
    with Client(target.url) as client:
        yield client


@pytest.fixture(scope="module")
def remote_kernel(target: Any) -> Iterator[Any]:
    """A real kernel connected to the self-hosted server: background runs need its event loop."""
    yield from connected_kernel(target.url)
