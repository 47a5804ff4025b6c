"""Every error lg_magics raises.

Each class renders in a notebook as one line that says what to do
(``_render_traceback_``), never as an internal traceback.
"""

from __future__ import annotations

from IPython.core.error import UsageError
from traitlets import TraitError

#: The longest error line: an error that quotes a value (an 18 kB argument, a server's echo of it)
#: keeps its start and its end, where the advice is.
MAX_MESSAGE = 600


def abbreviate(text: str, limit: int = MAX_MESSAGE) -> str:
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    return f"{text[:head]} … [{len(text) - limit:,} characters left out] … {text[head - limit :]}"


class AgentError(Exception):
    """Base class: a problem the user can act on, shown as one (short) line."""

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(abbreviate(str(message)), *args)

    def _render_traceback_(self) -> list[str]:
        # One line even when a server's message has several (LangGraph appends a troubleshooting URL).
        return [f"{type(self).__name__}: {' '.join(str(self).split())}"]


class AgentUsageError(UsageError, AgentError):
    """Bad arguments or input to a magic.

    A plain ``UsageError`` reaches the notebook only as stderr text; the
    one-line traceback makes it a real error output that fails the cell.
    """


class BadSetting(AgentUsageError, TraitError):
    """A bad value for a setting (``%config AgentMagics.X = ...``). A ``TraitError``, so traitlets
    rolls the assignment back and the setting keeps its good value."""


class ServerUnreachable(AgentError):
    """No Agent Server answers at the configured URL."""


class CertificateError(ServerUnreachable):
    """The server's TLS certificate is not trusted (self-signed, or signed by a private CA)."""


class ServerError(AgentError):
    """The server answered with an HTTP error (``{"detail": ...}`` or ``{"error", "message"}``)."""

    def __init__(self, message: str, status_code: int = 0, detail: str = "") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.detail = detail


class AuthenticationFailed(ServerError):
    """The server refused the request (HTTP 401 or 403): a missing or wrong token, key or header."""


class AssistantNotFound(ServerError):
    """No assistant or graph has that name or ID."""


class ThreadNotFound(ServerError):
    """The thread does not exist on the server (an in-memory server forgets threads on restart)."""


class BusyThread(ServerError):
    """The thread is running another run and the multitask strategy rejects a second one."""


class RunFailed(AgentError):
    """The run ended with an error inside the graph."""

    def __init__(self, message: str, error: str = "", result: object = None) -> None:
        super().__init__(message)
        self.error = error
        self.result = result


class StreamInterrupted(AgentError):
    """The connection to a running stream dropped and could not be resumed."""


class StreamStalled(StreamInterrupted):
    """The run stream brought nothing for a while, not even the server's heartbeat."""


class Interrupted(AgentError, KeyboardInterrupt):
    """The kernel was interrupted: one line says what became of the run, and the cell ends
    as interrupted (it is a ``KeyboardInterrupt``) without an internal traceback."""


class EmbeddedServerError(AgentError):
    """The embedded Agent Server could not start or is not installed."""


class CassetteError(AgentError):
    """A cassette file cannot be used (missing, unreadable, or another format)."""


class CassetteMiss(CassetteError):
    """Replay met a request that the cassette has no recording of."""
