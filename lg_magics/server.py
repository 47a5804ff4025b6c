"""The embedded Agent Server: ``langgraph dev`` (in-memory) as a child process.

``langgraph dev`` silently picks another port when its port is taken, so we
always pass a free loopback port and read readiness from ``GET /ok``. The
server runs in its own folder (config copy with absolute paths, log, the
``.langgraph_api`` persistence), never in the graph folder, and in its own
session so that a kernel interrupt (SIGINT to the kernel's process group) does
not kill it.
"""

from __future__ import annotations

import atexit
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

from .exceptions import EmbeddedServerError, Interrupted

if TYPE_CHECKING:
    from .client import Client

DEMO_CONFIG = Path(__file__).parent / "demo" / "langgraph.json"
INSTALL_HINT = "pip install 'lg-magics[server]'"
_RUNNING: weakref.WeakSet[EmbeddedServer] = weakref.WeakSet()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def server_installed() -> bool:
    return all(
        importlib.util.find_spec(name) is not None for name in ("langgraph_cli", "langgraph_api", "langgraph_runtime_inmem")
    )


def absolute_config(config_path: Path) -> dict[str, Any]:
    """The config with every path made absolute, so the server can run from another folder."""
    try:
        config = json.loads(config_path.read_text())
    except (OSError, ValueError) as exc:
        raise EmbeddedServerError(f"Cannot read {config_path}: {exc}") from None
    if not isinstance(config, dict) or not isinstance(config.get("graphs"), dict):
        raise EmbeddedServerError(f'{config_path} is not a langgraph.json: it needs a "graphs" object.')
    base = config_path.parent.resolve()

    def absolute(path: str) -> str:
        return str((base / path).resolve()) if path.startswith(".") else path

    def absolute_spec(spec: str) -> str:  # "./file.py:variable"
        file, _, variable = spec.rpartition(":")
        return f"{absolute(file)}:{variable}"

    graphs: dict[str, Any] = {}
    for graph_id, spec in config["graphs"].items():
        if isinstance(spec, str) and ":" in spec:
            graphs[graph_id] = absolute_spec(spec)
        elif isinstance(spec, dict) and isinstance(spec.get("path"), str):
            graphs[graph_id] = {**spec, "path": absolute_spec(spec["path"])}
        else:
            graphs[graph_id] = spec
    config["graphs"] = graphs
    config["dependencies"] = [absolute(d) if isinstance(d, str) else d for d in config.get("dependencies", ["."])]
    if isinstance(config.get("env"), str):
        config["env"] = absolute(config["env"])
    auth = config.get("auth")
    if isinstance(auth, dict) and isinstance(auth.get("path"), str):
        config["auth"] = {**auth, "path": absolute_spec(auth["path"])}
    return config


def served_graphs(client: Client) -> list[str]:
    """The graphs a running Agent Server serves, in its langgraph.json order.

    Each graph has a system assistant, created in that order when the server starts.
    """
    assistants = client.all_assistants(metadata={"created_by": "system"}, sort_by="created_at", sort_order="asc")
    return [str(assistant["graph_id"]) for assistant in assistants]


#: The server's process: ``langgraph dev`` (``langgraph_cli``), which removes the server's folder when
#: it ends after the kernel died (a killed kernel runs no cleanup of its own). uvicorn ends by raising
#: the SIGTERM it caught again: our handler turns it into SystemExit, so the ``finally`` runs.
_CHILD = """\
import os, runpy, shutil, signal, sys
workdir = sys.argv.pop(1)
parent = os.getppid()
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
try:
    runpy.run_module("langgraph_cli", run_name="__main__", alter_sys=True)
finally:
    if os.getppid() != parent:
        shutil.rmtree(workdir, ignore_errors=True)
"""


def check_port(port: int, current: Optional[int] = None) -> None:
    """A port the embedded server can listen on: in range, and free (or the running server's)."""
    if not 1 <= port <= 65535:
        raise EmbeddedServerError(f"--port takes a port from 1 to 65535, not {port}.")
    if port == current:
        return
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the server binds (uvicorn): a port whose last connections linger in TIME_WAIT is free.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise EmbeddedServerError(
                f"Port {port} is taken on 127.0.0.1: choose another, or leave --port out for a free one."
            ) from None


def stop_process_group(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """End a child started in a session of its own, and everything it started: SIGTERM, then SIGKILL."""
    if process.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Ask Linux to end the server if the kernel dies without running atexit (e.g. SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


class EmbeddedServer:
    """One ``langgraph dev`` process we started; :meth:`stop` ends exactly that process group."""

    def __init__(
        self, config_path: Optional[os.PathLike[str] | str] = None, *, port: Optional[int] = None, jobs: int = 10
    ) -> None:
        self.config_path = Path(config_path or DEMO_CONFIG).expanduser().resolve()
        self.port = port
        self.jobs = jobs
        self.workdir: Optional[Path] = None
        self.process: Optional[subprocess.Popen[bytes]] = None
        self.graphs: list[str] = []

    def __repr__(self) -> str:
        state = f"running at {self.url}" if self.running else "stopped"
        return f"EmbeddedServer({self.config_path.name!r}, {state})"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Optional[Path]:
        return self.workdir / "server.log" if self.workdir else None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> Optional[int]:
        return self.process.pid if self.process else None

    def check(self, current_port: Optional[int] = None) -> dict[str, Any]:
        """What :meth:`start` needs, checked before anything is started or stopped: the server is
        installed, the config is a langgraph.json, the port is usable. Returns the config."""
        if not server_installed():
            raise EmbeddedServerError(f"The embedded Agent Server is not installed: {INSTALL_HINT}")
        if not self.config_path.is_file():
            raise EmbeddedServerError(f"No langgraph.json at {self.config_path}.")
        config = absolute_config(self.config_path)
        if self.port is not None:
            check_port(self.port, current_port)
        return config

    def start(self, timeout: float = 60.0) -> str:
        """Start the server and wait until ``GET /ok`` answers. Returns its URL.

        The process and its folder are ours from the moment they exist: whatever ends the start
        (a failure, a kernel interrupt) stops the process and removes the folder."""
        if self.running:
            return self.url
        config = self.check()
        self.graphs = list(config["graphs"])
        try:
            self._start(config, timeout)
        except KeyboardInterrupt:
            self.stop()
            raise Interrupted("the embedded Agent Server was stopped before it was ready") from None
        except BaseException:
            self.stop()
            raise
        return self.url

    def _start(self, config: dict[str, Any], timeout: float) -> None:
        self.workdir = Path(tempfile.mkdtemp(prefix="lg-magics-server-"))
        (self.workdir / "langgraph.json").write_text(json.dumps(config, indent=2))
        self.port = self.port or free_port()
        command = [
            sys.executable, "-c", _CHILD, str(self.workdir), "dev",
            "--config", "langgraph.json",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--no-browser",
            "--no-reload",
            "--n-jobs-per-worker", str(self.jobs),
        ]  # fmt: skip
        env = {**os.environ, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "wb") as log:  # type: ignore[arg-type]
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
            )
        _RUNNING.add(self)
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise EmbeddedServerError(f"The embedded Agent Server exited during start-up: {self._log_error()}")
            try:
                # trust_env=False: our own loopback server is never reached through HTTP_PROXY.
                if httpx.get(f"{self.url}/ok", timeout=1.0, trust_env=False).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)  # polling a child process: no event to wait on
        raise EmbeddedServerError(f"The embedded Agent Server did not answer within {timeout:.0f} s (log: {self.log_path}).")

    def _log_error(self) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        for line in reversed(lines):
            if "failed to load" in line or "Error" in line:
                return line[:300]
        return (lines[-1][:300] if lines else "no output") + f" (log: {self.log_path})"

    def stop(self, timeout: float = 10.0) -> None:
        """End the server's process group (only ours: it runs in a session we created)."""
        process, self.process = self.process, None
        _RUNNING.discard(self)
        if process is None:
            return
        stop_process_group(process, timeout)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
            self.workdir = None


@atexit.register
def _stop_all() -> None:
    for server in list(_RUNNING):
        server.stop(timeout=3.0)
