"""pytest plugin for notebooks with ``%%agent`` cells, installed with the package.

    pytest --nbval --agent-server path/to/langgraph.json notebooks/

``--agent-server`` starts the embedded Agent Server (``langgraph dev``, in
memory) once for the whole session, sets ``LG_MAGICS_URL`` before any kernel
starts (nbval's kernels inherit the environment), and stops it at the end. In
the notebooks, ``%agent serve`` without a path then uses that server instead of
starting one and prints the same line, so saved outputs are the same with and
without the plugin; ``%agent stop`` leaves it running.

``--agent-record-mode record|replay|auto`` sets ``LG_MAGICS_RECORD_MODE`` for
the kernels: with ``replay`` every ``%agent record CASSETTE`` replays its
cassette, so CI needs no deployment and no API key.

Under ``--nbval``, every notebook that loads lg_magics gets the sanitize rules
shipped in ``lg_magics/nbval-sanitize.cfg`` (ports, IDs, server versions), ahead
of the rules of ``--nbval-sanitize-with``: a user's CI needs no copy of them and
stays green when the deployment is upgraded. ``--agent-no-sanitize`` turns it off.

Registered through the ``pytest11`` entry point, so this module is imported by
every pytest run in an environment that has lg_magics: it imports nothing heavy.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Optional

import pytest  # already loaded: this module is only imported by pytest

from .environment import RECORD_MODE_ENV, RECORD_MODES, URL_ENV

DEMO = "demo"
SANITIZE_FILE = Path(__file__).with_name("nbval-sanitize.cfg")
_SERVER = pytest.StashKey[Any]()
_LOADS_US = re.compile(r"%load_ext\s+lg_magics\b|%reload_ext\s+lg_magics\b|import\s+lg_magics\b")


def sanitize_rules(path: Path = SANITIZE_FILE) -> list[tuple[str, str]]:
    """(regex, replacement) pairs of a sanitize file, read the way nbval reads them."""
    return re.findall(r"^regex: (.*)$\n^replace: (.*)$", path.read_text(), flags=re.MULTILINE)


def pytest_addoption(parser: Any) -> None:
    group = parser.getgroup("lg_magics", "lg_magics: notebooks with %%agent cells")
    group.addoption(
        "--agent-server",
        metavar="LANGGRAPH_JSON",
        default=None,
        help=f"start the embedded Agent Server with the graphs of this langgraph.json ('{DEMO}': lg_magics' demo "
        f"graphs) once for the session, and point every notebook kernel at it (${URL_ENV})",
    )
    group.addoption(
        "--agent-record-mode",
        choices=RECORD_MODES,
        default=None,
        help=f"record, replay or auto for every %agent record cassette (sets ${RECORD_MODE_ENV} for the kernels)",
    )
    group.addoption(
        "--agent-no-sanitize",
        action="store_true",
        default=False,
        help="do not apply lg_magics' sanitize rules (ports, IDs, server versions) to notebooks that load lg_magics",
    )


def _set_env(config: Any, name: str, value: str) -> None:
    """Set an environment variable for the session and put the old value back at the end."""
    previous = os.environ.get(name)
    os.environ[name] = value

    def restore() -> None:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous

    config.add_cleanup(restore)


def pytest_configure(config: Any) -> None:
    if hasattr(config, "workerinput"):
        return  # a pytest-xdist worker: it inherited the controller's environment, server included
    mode: Optional[str] = config.getoption("agent_record_mode", None)
    if mode:
        _set_env(config, RECORD_MODE_ENV, mode)
    path: Optional[str] = config.getoption("agent_server", None)
    if not path:
        return
    from .exceptions import EmbeddedServerError
    from .server import EmbeddedServer

    server = EmbeddedServer(None if path == DEMO else path)
    try:
        url = server.start()
    except EmbeddedServerError as exc:
        raise pytest.UsageError(f"--agent-server {path}: {exc}") from None
    config.add_cleanup(server.stop)
    _set_env(config, URL_ENV, url)
    config.stash[_SERVER] = server


def _loads_lg_magics(notebook: Any) -> bool:
    cells = getattr(notebook, "cells", None) or []
    return any(cell.get("cell_type") == "code" and _LOADS_US.search(str(cell.get("source", ""))) for cell in cells)


def pytest_itemcollected(item: Any) -> None:
    """Put our rules first in the notebook's sanitize patterns. nbval fills the same ordered dict
    from --nbval-sanitize-with when the notebook's kernel starts, without clearing it, so the
    user's rules come after ours (and win where both name the same regex)."""
    notebook = item.parent
    patterns = getattr(notebook, "sanitize_patterns", None)
    if patterns is None or getattr(notebook, "_lg_magics_sanitized", False):
        return
    notebook._lg_magics_sanitized = True
    if item.config.getoption("agent_no_sanitize", False) or not _loads_lg_magics(getattr(notebook, "nb", None)):
        return
    for regex, replace in sanitize_rules():
        patterns.setdefault(regex, replace)


def pytest_report_header(config: Any) -> Optional[str]:
    server = config.stash.get(_SERVER, None)
    if server is None:
        return None
    return f"lg_magics: Agent Server at {server.url} with graphs: {', '.join(server.graphs)}"
