"""Settings of ``AgentMagics`` from environment variables, and the checks every source shares. Pure.

Precedence, highest first: ``%config`` in the notebook, ``ipython_config.py``,
the environment (read when the extension loads), the built-in default.
``LG_MAGICS_URL`` is the exception: it is read at each use, so that
``%agent stop`` falls back to it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Union

from .environment import AUTH_TOKEN_ENV, HEADERS_ENV, VERIFY_ENV
from .exceptions import AgentUsageError
from .protocol import STREAM_MODES, unquote

MAX_CONCURRENCY = 64
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def check_stream_modes(modes: Iterable[str], where: str) -> list[str]:
    modes = list(modes)
    if not modes:
        raise AgentUsageError(f"{where} needs at least one stream mode: {', '.join(STREAM_MODES)}.")
    for mode in modes:
        if mode not in STREAM_MODES:
            raise AgentUsageError(f"{where}: unknown stream mode {mode!r}; choose from: {', '.join(STREAM_MODES)}.")
    return modes


def check_concurrency(value: int, where: str) -> int:
    if not 1 <= value <= MAX_CONCURRENCY:
        raise AgentUsageError(f"{where} takes a number of runs at once from 1 to {MAX_CONCURRENCY}, not {value}.")
    return value


def check_interval(value: float, where: str) -> float:
    if not 0 <= value <= 60:
        raise AgentUsageError(f"{where} takes seconds between redraws, from 0 to 60, not {value}.")
    return value


def check_pattern(pattern: str, where: str) -> str:
    try:
        pattern.format(assistant="chat")
    except (KeyError, IndexError, ValueError, AttributeError):
        raise AgentUsageError(
            f"{where} is a variable name with {{assistant}} in it, such as '{{assistant}}_thread', not {pattern!r}."
        ) from None
    return pattern


def check_headers(value: Any, where: str) -> dict[str, str]:
    """Extra request headers: names and values are strings. Values are never echoed (they are secrets)."""
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise AgentUsageError(f'{where} is a JSON object of header names and string values, such as {{"X-Tenant": "acme"}}.')
    for name in value:
        if not name.strip() or any(c in name for c in ":\r\n ") or name.lower() in ("content-type", "content-length", "host"):
            raise AgentUsageError(f"{where}: {name!r} is not a header we can send on every request.")
    return dict(value)


def check_verify(value: Union[bool, str], where: str) -> Union[bool, str]:
    """TLS verification: True (on), False (off), or the path of a CA bundle file that exists."""
    if isinstance(value, bool):
        return value
    text = value.strip()
    if text.lower() in _TRUE or not text:
        return True
    if text.lower() in _FALSE:
        return False
    path = os.path.expanduser(text)
    if not os.path.isfile(path):
        raise AgentUsageError(f"{where} is on, off, or the path of a CA bundle file; there is no file {text!r}.")
    return path


def _headers(text: str, name: str) -> dict[str, str]:
    try:
        value = json.loads(text)
    except ValueError:
        # The text itself may hold a secret: say where the problem is, not what it is.
        raise AgentUsageError(f'{name} is not valid JSON: it should be an object such as {{"X-Tenant": "acme"}}.') from None
    return check_headers(value, name)


def _bool(text: str, name: str) -> bool:
    if text.strip().lower() in _TRUE:
        return True
    if text.strip().lower() in _FALSE:
        return False
    raise AgentUsageError(f"{name} is true or false (1/0, yes/no), not {text!r}.")


def _number(kind: Callable[[str], Any]) -> Callable[[str, str], Any]:
    def parse(text: str, name: str) -> Any:
        try:
            return kind(text.strip())
        except ValueError:
            raise AgentUsageError(f"{name} must be a number, not {text!r}.") from None

    return parse


def _modes(text: str, name: str) -> list[str]:
    return check_stream_modes(text.replace(",", " ").split(), name)


#: trait name -> (environment variable, parser). ``url`` is read at each use (see above).
ENVIRONMENT: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "default_assistant": ("LG_MAGICS_ASSISTANT", lambda text, name: text.strip()),
    "stream_modes": ("LG_MAGICS_STREAM_MODES", _modes),
    "thread_pattern": ("LG_MAGICS_THREAD_PATTERN", lambda text, name: check_pattern(text.strip(), name)),
    "update_interval": ("LG_MAGICS_UPDATE_INTERVAL", lambda text, name: check_interval(_number(float)(text, name), name)),
    "fail_on_error": ("LG_MAGICS_FAIL_ON_ERROR", _bool),
    "concurrency": ("LG_MAGICS_CONCURRENCY", lambda text, name: check_concurrency(_number(int)(text, name), name)),
    "auth_token": (AUTH_TOKEN_ENV, lambda text, name: unquote(text)),
    "headers": (HEADERS_ENV, _headers),
    "verify": (VERIFY_ENV, check_verify),
}


def from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings the environment sets (unset or empty variables set nothing)."""
    found = {}
    for trait, (name, parse) in ENVIRONMENT.items():
        text = environ.get(name)
        if text is not None and text.strip():
            found[trait] = parse(text, name)
    return found
