"""Self-hosted Agent Servers for the tests: PostgreSQL, Redis, Aegra and the stock langgraph-api (langhost).

Each is a child process on loopback in a session of its own, started once and stopped by its PID.
Nothing here skips: a missing program or a server that does not come up raises with what to do
(``make selfhosted`` installs everything: Debian's postgresql and redis-server, and the venvs
``.venv-aegra`` (Python 3.12) and ``.venv-langhost``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Callable, Optional

import httpx

from lg_magics.server import DEMO_CONFIG, EmbeddedServer, absolute_config, free_port, stop_process_group

ROOT = Path(__file__).resolve().parent.parent
AEGRA_BIN = ROOT / ".venv-aegra" / "bin"
LANGHOST_BIN = ROOT / ".venv-langhost" / "bin"
AUTH_CONFIG = DEMO_CONFIG.parent / "langgraph_auth.json"
INSTALL = "run `make selfhosted` (it installs postgresql, redis-server and the server venvs)"


def postgres_bin() -> Path:
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not versions:
        raise RuntimeError(f"PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/postgres): {INSTALL}.")
    return versions[-1].parent


class Process:
    """One child process in its own session, with its log in ``workdir``."""

    name = "process"

    def __init__(self) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix=f"lg-magics-{self.name}-"))
        self.port = free_port()
        self.process: Optional[subprocess.Popen[bytes]] = None

    @property
    def log_path(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def log_tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def spawn(
        self,
        command: Sequence[str],
        *,
        env: Optional[Mapping[str, str]] = None,
        cwd: Optional[Path] = None,
        user: Optional[str] = None,
    ) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                list(command),
                cwd=cwd or self.workdir,
                env={**os.environ, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=user,
            )

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited while starting ({what}); log {self.log_path}:\n{self.log_tail()}")
            try:
                if ready():
                    return
            except (httpx.TransportError, subprocess.SubprocessError, OSError):
                pass
            time.sleep(0.2)  # polling a child process: nothing to wait on
        raise RuntimeError(
            f"{self.name} did not become ready within {timeout:.0f} s ({what}); log {self.log_path}:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None:
            stop_process_group(process, 15.0)
        shutil.rmtree(self.workdir, ignore_errors=True)


class Postgres(Process):
    """A throwaway PostgreSQL cluster on 127.0.0.1, run as the ``postgres`` user (initdb refuses root)."""

    name = "postgres"

    def start(self) -> "Postgres":
        bin_dir = postgres_bin()
        data, sockets = self.workdir / "data", self.workdir / "sockets"
        sockets.mkdir()
        user = "postgres" if os.geteuid() == 0 else None
        if user:
            shutil.chown(self.workdir, user)
            shutil.chown(sockets, user)
        init = subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"],
            capture_output=True,
            user=user,
        )
        if init.returncode:
            raise RuntimeError(f"initdb failed: {init.stderr.decode(errors='replace')[-500:]}")
        self.spawn(
            [str(bin_dir / "postgres"), "-D", str(data), "-c", "listen_addresses=127.0.0.1", "-p", str(self.port), "-k", str(sockets),
             "-c", "fsync=off", "-c", "max_connections=200"],
            user=user,
        )  # fmt: skip
        isready = [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres"]
        self.wait_until(lambda: subprocess.run(isready, capture_output=True).returncode == 0, 60, "pg_isready")
        return self

    def create_database(self, name: str) -> str:
        psql = [
            str(postgres_bin() / "psql"),
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-c",
            f"CREATE DATABASE {name}",
        ]
        result = subprocess.run(psql, capture_output=True)
        if result.returncode:
            raise RuntimeError(f"CREATE DATABASE {name} failed: {result.stderr.decode(errors='replace')}")
        return f"postgresql://postgres:postgres@127.0.0.1:{self.port}/{name}"


class Redis(Process):
    name = "redis"

    def start(self) -> "Redis":
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError(f"redis-server is not installed: {INSTALL}.")
        self.spawn(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ]
        )
        self.wait_until(lambda: _redis_ping(self.port), 30, "PING")
        return self

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _redis_ping(port: int) -> bool:
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
        sock.sendall(b"PING\r\n")
        return sock.recv(16).startswith(b"+PONG")


class AgentServer(Process):
    """An Agent Server serving a langgraph.json; ``url`` once ready."""

    #: Where readiness is read (each server has its own; this is the test's knowledge, not the client's).
    ready_path = "/ok"

    def __init__(self, config: Path) -> None:
        super().__init__()
        # A copy with absolute paths, so the server runs (and writes) in its own folder.
        absolute = absolute_config(config)
        self.graphs = list(absolute["graphs"])
        self.config = self.workdir / "langgraph.json"
        self.config.write_text(json.dumps(absolute, indent=2))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 120) -> None:
        # trust_env=False: the readiness of a loopback server never goes through a proxy.
        self.wait_until(
            lambda: httpx.get(self.url + self.ready_path, timeout=2, trust_env=False).status_code == 200, timeout, self.ready_path
        )


class Aegra(AgentServer):
    """Aegra 0.11 (Agent Protocol server on PostgreSQL) from ``.venv-aegra`` (Python >= 3.12)."""

    name = "aegra"
    ready_path = "/health"

    def start(self, database_url: str) -> "Aegra":
        aegra = AEGRA_BIN / "aegra"
        if not aegra.exists():
            raise RuntimeError(f"Aegra is not installed at {aegra}: {INSTALL}.")
        self.spawn(
            [
                str(aegra),
                "dev",
                "--no-db-check",
                "--no-reload",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "-c",
                str(self.config),
            ],
            env={"DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1", "NO_PROXY": "*"},
        )
        self.wait_ready()
        return self


class Langhost(AgentServer):
    """The stock langgraph-api on PostgreSQL + Redis (``langhost``, runtime ``langgraph-runtime-pg``)."""

    name = "langhost"

    def start(self, database_url: str, redis_url: str) -> "Langhost":
        langhost = LANGHOST_BIN / "langhost"
        if not langhost.exists():
            raise RuntimeError(f"langhost is not installed at {langhost}: {INSTALL}.")
        self.spawn(
            [str(langhost), "serve", "--host", "127.0.0.1", "-p", str(self.port), "-c", str(self.config), "--database-uri", database_url,
             "--redis-uri", redis_url, "--n-jobs-per-worker", "10", "--no-browser"],
            env={"LANGGRAPH_CLI_NO_ANALYTICS": "1", "PYTHONUNBUFFERED": "1", "NO_PROXY": "*"},
        )  # fmt: skip
        self.wait_ready()
        return self


class Servers:
    """What the session started, each on first use (the ``servers`` fixture): one PostgreSQL and one
    Redis, and each server by name (``aegra``, ``langhost``, ``aegra-auth``, ``dev-auth``) on a
    database of its own, serving the demo graphs (the ``-auth`` ones with their bearer-token handler)."""

    def __init__(self) -> None:
        self.postgres: Optional[Postgres] = None
        self.redis: Optional[Redis] = None
        self.started: dict[str, Any] = {}

    def get(self, name: str) -> Any:
        if name == "dev-auth" and name not in self.started:
            self.started[name] = EmbeddedServer(AUTH_CONFIG)
            self.started[name].start()
        if name not in self.started:
            self.postgres = self.postgres or Postgres().start()
            database = self.postgres.create_database(f"{name.replace('-', '_')}_{uuid.uuid4().hex[:6]}")
            config = AUTH_CONFIG if name.endswith("-auth") else DEMO_CONFIG
            if name.startswith("aegra"):
                self.started[name] = Aegra(config).start(database)
            else:
                self.redis = self.redis or Redis().start()
                self.started[name] = Langhost(config).start(database, self.redis.url)
        return self.started[name]

    def stop(self) -> None:
        for process in [*self.started.values(), self.redis, self.postgres]:
            if process is not None:
                process.stop()
