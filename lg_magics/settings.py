"""Settings of ``AgentMagics`` from environment variables, and the checks every source shares. Pure.

Precedence, highest first: ``%config`` in the notebook, ``ipython_config.py``,
the environment (read when the extension loads), the built-in default.
``LG_MAGICS_URL`` is the exception: it is read at each use, so that
``%agent stop`` falls back to it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Callable

from .exceptions import AgentUsageError
from .protocol import STREAM_MODES

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
}


def from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings the environment sets (unset or empty variables set nothing)."""
    found = {}
    for trait, (name, parse) in ENVIRONMENT.items():
        text = environ.get(name)
        if text is not None and text.strip():
            found[trait] = parse(text, name)
    return found
