"""Notebook variables: where thread IDs live, and where results are bound."""

from __future__ import annotations

import keyword
import re
from collections.abc import MutableMapping
from typing import Any, Optional

from .exceptions import AgentUsageError
from .protocol import is_uuid

DEFAULT_PATTERN = "{assistant}_thread"


def identifier(text: str) -> str:
    """``text`` made into a Python identifier: other characters become ``_``."""
    name = re.sub(r"\W", "_", text)
    if not name or name[0].isdigit() or keyword.iskeyword(name):
        name = "_" + name
    return name


def thread_var_name(assistant: str, pattern: str = DEFAULT_PATTERN) -> str:
    return identifier(pattern.format(assistant=assistant))


def check_name(name: str, flag: str) -> str:
    if not name.isidentifier() or keyword.iskeyword(name):
        raise AgentUsageError(f"{flag} needs a Python variable name, not {name!r}.")
    return name


def thread_in(namespace: MutableMapping[str, Any], var: str) -> Optional[str]:
    """The thread ID held by ``var``, None when it is unset. Anything else is refused, never overwritten."""
    if var not in namespace or namespace[var] is None:
        return None
    value = namespace[var]
    if is_uuid(value):
        return str(value)
    kind = type(value).__name__
    raise AgentUsageError(
        f"Variable {var} holds a {kind}, not a thread ID, and lg_magics will not overwrite it: "
        f"pass --thread OTHER_NAME, or del {var}."
    )
