"""lg_magics: talk to a LangGraph Agent Server from a Jupyter notebook.

``%load_ext lg_magics`` registers ``%agent`` / ``%%agent``. Heavy modules
(httpx, ipywidgets) load on first use so that loading the extension is fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from .client import Client as Client  # re-exported lazily, see __getattr__
    from .result import RunResult as RunResult  # re-exported lazily, see __getattr__
    from .transcript import Transcript as Transcript  # re-exported lazily, see __getattr__

_LAZY = {
    "Client": "client",
    "RunResult": "result",
    "Transcript": "transcript",
    "EmbeddedServer": "server",
}
_EXCEPTIONS = (
    "AgentError",
    "AgentUsageError",
    "AssistantNotFound",
    "AuthenticationFailed",
    "BusyThread",
    "CassetteError",
    "CassetteMiss",
    "CertificateError",
    "EmbeddedServerError",
    "RunFailed",
    "ServerError",
    "ServerUnreachable",
    "StreamInterrupted",
    "ThreadNotFound",
)

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension", *_LAZY, *_EXCEPTIONS]


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _EXCEPTIONS:
        return getattr(importlib.import_module(".exceptions", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_ipython_extension(ipython: InteractiveShell) -> None:
    from .magics import AgentMagics

    ipython.register_magics(AgentMagics(shell=ipython))


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    from .magics import AgentMagics

    magics = ipython.magics_manager.registry.get(AgentMagics.__name__)
    if magics is not None:
        magics.close()
