"""What the Agent Server's HTTP API looks like on the wire, with no I/O.

Shared by the sync and async clients: request bodies, SSE event decoding,
response headers, and the mapping of HTTP errors to our exceptions.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Optional
from urllib.parse import urlsplit, urlunsplit

from .environment import AUTH_TOKEN_ENV, HEADERS_ENV
from .exceptions import AssistantNotFound, AuthenticationFailed, BusyThread, ServerError, ThreadNotFound

#: The official SDK's order of environment variables for the API key.
API_KEY_ENV_VARS = ("LANGGRAPH_API_KEY", "LANGSMITH_API_KEY", "LANGCHAIN_API_KEY")

STREAM_MODES = (
    "values",
    "updates",
    "messages-tuple",
    "messages",
    "events",
    "debug",
    "custom",
    "tasks",
    "checkpoints",
)
DEFAULT_STREAM_MODES = ("messages-tuple", "updates")
MULTITASK_STRATEGIES = ("reject", "interrupt", "rollback", "enqueue")

_LOCATION = re.compile(r"^(?:/threads/(?P<thread_id>[^/]+))?/runs/(?P<run_id>[^/]+)")


@dataclass(frozen=True, init=False)
class Event:
    """One server-sent event: its name (``messages``, ``updates|sub:1``, ...), decoded data and id."""

    event: str
    data: Any
    id: Optional[str] = None

    def __init__(self, event: str, data: Any, id: Optional[str] = None) -> None:
        # One per streamed token: filling the instance dict directly costs half of what the frozen
        # dataclass's generated __init__ (object.__setattr__ per field) does. Still frozen after.
        fields = self.__dict__
        fields["event"] = event
        fields["data"] = data
        fields["id"] = id

    @property
    def mode(self) -> str:
        """The stream mode without a subgraph namespace."""
        return self.event.split("|", 1)[0]

    @property
    def namespace(self) -> tuple[str, ...]:
        return tuple(self.event.split("|")[1:])


class EventCursor:
    """Where a resumable stream stands, so that a rejoin delivers each event exactly once.

    The server's event ids have millisecond resolution and events of the same
    millisecond share an id, and a rejoin with ``Last-Event-ID: X`` replays only
    ids greater than X: resuming from the last id would skip its twins. So we
    rejoin from the id *before* it and skip as many events with the last id as
    were already delivered.
    """

    def __init__(self) -> None:
        self.last_id: Optional[str] = None
        self.previous_id: Optional[str] = None
        self.at_last = 0
        self.skip = 0

    def deliver(self, event: Event) -> bool:
        """True if ``event`` is new; False for a replayed duplicate."""
        if event.id is None:
            return True
        if self.skip and event.id == self.last_id:
            self.skip -= 1
            return False
        self.skip = 0
        if event.id == self.last_id:
            self.at_last += 1
        else:
            self.previous_id, self.last_id, self.at_last = self.last_id, event.id, 1
        return True

    def rejoin_from(self) -> str:
        """The ``Last-Event-ID`` for a rejoin; ``-1`` replays the whole run."""
        self.skip = self.at_last
        return self.previous_id or "-1"


#: What a run stream yields for bytes that bring no event (the server's heartbeat, every 5 s):
#: the server is there, the run is silent.
HEARTBEAT = Event(":heartbeat", None)

#: Seconds to wait before each reconnection attempt (like the official SDK: doubling, capped at 5 s).
RECONNECT_DELAYS = (0.5, 1.0, 2.0, 4.0, 5.0)
#: Run statuses that mean a stream's clean end was a drop, not the run's end.
ACTIVE_STATUSES = ("pending", "running")


def unquote(text: str) -> str:
    """A key or token as pasted: quotes around it (a copy from a .env file) are not part of it."""
    return text.strip().strip("'\"")


def long_secrets(values: Iterable[Optional[str]]) -> list[str]:
    """The values worth redacting: very short ones would redact ordinary text; real keys are long."""
    return [value for value in values if value and len(value) >= 8]


def api_keys_from_env(environ: Optional[Mapping[str, str]] = None) -> list[tuple[str, str]]:
    """(variable, key) for every API-key variable that is set, the one the client sends first.
    Quotes around a value (a copy from a .env file) are not part of the key."""
    env = os.environ if environ is None else environ
    keys = ((name, unquote(env.get(name) or "")) for name in API_KEY_ENV_VARS)
    return [(name, value) for name, value in keys if value]


def api_key_from_env(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The key the client sends as ``x-api-key``, the SDK's way: the first variable that is set."""
    keys = api_keys_from_env(environ)
    return keys[0][1] if keys else None


#: What a secret is replaced with wherever text is shown or saved.
REDACTED = "[redacted]"
#: Where a 401/403 tells the user to look.
AUTH_HINT = (
    f"Set {AUTH_TOKEN_ENV} (sent as Authorization: Bearer) or LANGGRAPH_API_KEY (sent as x-api-key), "
    f"or the headers your server expects in {HEADERS_ENV} (a JSON object)"
)


def secrets_from_env(environ: Optional[Mapping[str, str]] = None) -> list[str]:
    """Every key, token and header value the client could send from the environment, so none is shown or saved."""
    env = os.environ if environ is None else environ
    values = [value for _, value in api_keys_from_env(env)] + [unquote(env.get(AUTH_TOKEN_ENV) or "")]
    try:
        headers = json.loads(env.get(HEADERS_ENV) or "{}")
    except ValueError:
        headers = {}
    if isinstance(headers, dict):
        values += [str(value) for value in headers.values()]
    return long_secrets(values)


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret (as written, or escaped inside JSON) replaced by :data:`REDACTED`."""
    for secret in secrets:
        if secret:
            for form in {secret, json.dumps(secret)[1:-1]}:
                text = text.replace(form, REDACTED)
    return text


def display_url(url: str) -> str:
    """``url`` as it may be shown: a password in it becomes ``***`` (in a URL that does not parse too)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//([^/@:]*):[^/@]*@", r"//\1:***@", url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


def is_loopback(url: str) -> bool:
    """True for a URL on this machine (127.0.0.0/8, ::1, localhost): never reached through a proxy."""
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def run_location(headers: Any) -> tuple[Optional[str], Optional[str]]:
    """(thread_id, run_id) from a run response's ``Content-Location``."""
    found = _LOCATION.match(headers.get("content-location") or "")
    if not found:
        return None, None
    return found.group("thread_id"), found.group("run_id")


def run_body(
    assistant_id: str,
    *,
    input: Any = None,
    command: Optional[dict[str, Any]] = None,
    stream_modes: Optional[list[str]] = None,
    config: Optional[dict[str, Any]] = None,
    context: Optional[dict[str, Any]] = None,
    metadata: Optional[dict[str, Any]] = None,
    multitask_strategy: Optional[str] = None,
    stream_resumable: bool = False,
    stream_subgraphs: bool = False,
    on_disconnect: Optional[str] = None,
) -> dict[str, Any]:
    """A RunCreate body. ``command`` wins over ``input`` on the server, so only one is sent."""
    body: dict[str, Any] = {"assistant_id": assistant_id}
    if command is not None:
        body["command"] = command
    elif input is not None:
        body["input"] = input
    if stream_modes is not None:
        body["stream_mode"] = list(stream_modes)
    for key, value in (
        ("config", config),
        ("context", context),
        ("metadata", metadata),
        ("multitask_strategy", multitask_strategy),
        ("on_disconnect", on_disconnect),
    ):
        if value:
            body[key] = value
    if stream_resumable:
        body["stream_resumable"] = True
    if stream_subgraphs:
        body["stream_subgraphs"] = True
    return body


def error_detail(status_code: int, body: bytes) -> str:
    """The message of an error body: ``{"detail"}`` (langgraph-api) or ``{"error", "message", "details"}`` (Aegra)."""
    try:
        decoded = json.loads(body)
    except ValueError:
        decoded = None
    detail = None
    if isinstance(decoded, dict):
        detail = decoded.get("detail")
        if isinstance(detail, list) and detail and isinstance(detail[0], dict) and detail[0].get("msg"):
            # A validation error: where and what, from its first complaint.
            where = ".".join(str(part) for part in detail[0].get("loc") or [] if part != "body")
            detail = f"{where}: {detail[0]['msg']}" if where else str(detail[0]["msg"])
        if not isinstance(detail, str) or not detail:
            detail = decoded.get("message")
        if not isinstance(detail, str) or not detail:
            detail = decoded.get("error")
    if not isinstance(detail, str) or not detail:
        text = body.decode("utf-8", "replace").strip()
        if text.startswith("<"):
            # An HTML error page, from a reverse proxy or gateway: its markup says nothing useful.
            try:
                reason = HTTPStatus(status_code).phrase
            except ValueError:
                reason = "an error"
            return f"{reason} (an HTML page: a proxy or gateway between you and the Agent Server answered)"
        detail = text[:200] or f"HTTP {status_code}"
    # Validation errors carry a multi-line schema dump; the first line says what is wrong.
    return detail.strip().splitlines()[0]


def http_error(status_code: int, body: bytes, what: str) -> ServerError:
    """The exception for an HTTP error answering ``what`` (e.g. "POST /threads/.../runs/stream")."""
    detail = error_detail(status_code, body)
    lowered = detail.lower()
    if status_code in (401, 403):
        return AuthenticationFailed(
            f"{what} was refused with HTTP {status_code} ({detail.rstrip('.')}): authentication failed. {AUTH_HINT}.",
            status_code,
            detail,
        )
    if status_code == 409 and "already running" in detail:
        return BusyThread(
            f"The thread is busy with another run ({detail.rstrip('.')}). Wait for it, or pass "
            "--multitask interrupt|rollback|enqueue.",
            status_code,
            detail,
        )
    # Run bodies name the assistant; our runs check or create their thread first, so a run's
    # "Thread or assistant not found." is about the assistant.
    # Servers word these differently ("Thread or assistant not found.", "Assistant 'x' not found"):
    # read the words, not one server's sentence.
    if "assistant" in lowered and ("not found" in lowered or "invalid" in lowered) and status_code in (400, 404, 422):
        return AssistantNotFound(detail, status_code, detail)
    if status_code == 404 and "thread" in lowered:
        return ThreadNotFound(detail, status_code, detail)
    return ServerError(f"{what} failed with HTTP {status_code}: {detail}", status_code, detail)
