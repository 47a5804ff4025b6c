"""Notebook variables in a cell: ``{{name}}``, the jupysql syntax. Pure: no I/O.

Single braces are left alone because they are everywhere in JSON and code
(jupyter-ai's ``{var}`` broke both: issues #27 and #967). Only ``{{ name }}``
and ``{{ name | json }}`` with a Python identifier inside are placeholders, so
``{{"a": 1}}``-like text or Handlebars ``{{#each}}`` pass through untouched.
A backslash right before the braces (``\\{{name}}``) keeps them literally, and
``--no-interpolate`` turns the whole thing off.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .exceptions import AgentUsageError

PLACEHOLDER = re.compile(r"(?P<escape>\\?)\{\{\s*(?P<name>[^\W\d]\w*)\s*(?:\|\s*(?P<filter>\w+)\s*)?\}\}")
FILTERS = ("json",)


def _json_default(value: Any) -> Any:
    # numpy and pandas scalars (DataFrame rows) know their Python value; the rest is shown as text.
    item = getattr(value, "item", None)
    if callable(item):
        try:
            return item()
        except (TypeError, ValueError):
            pass
    return str(value)


def as_text(value: Any, filter: str | None = None) -> str:
    """How a value reads in the cell: ``str()``, or JSON with ``| json`` (quoted, escaped strings)."""
    if filter == "json":
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    return value if isinstance(value, str) else str(value)


def placeholders(text: str) -> list[str]:
    """The names the text asks for, in order, without escaped ones."""
    return [m.group("name") for m in PLACEHOLDER.finditer(text) if not m.group("escape")]


def interpolate(text: str, names: Mapping[str, Any], *, where: str = "the cell") -> str:
    """``text`` with each ``{{name}}`` replaced by the value of ``name`` in ``names``.

    An unknown name or filter is a one-line :class:`AgentUsageError` that says how
    to write the braces literally.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group("escape"):
            return match.group(0)[1:]
        name, filter = match.group("name"), match.group("filter")
        if filter is not None and filter not in FILTERS:
            raise AgentUsageError(f"Unknown filter {filter!r} in {match.group(0)} in {where}: the only filter is | json.")
        if name not in names:
            raise AgentUsageError(
                f"{{{{{name}}}}} in {where}: no variable named {name}. Define it, write \\{{{{{name}}}}} "
                "to keep the braces, or pass --no-interpolate."
            )
        try:
            return as_text(names[name], filter)
        except Exception as exc:  # noqa: BLE001 - a value's own __str__ or a circular value: one line
            kind = "as JSON" if filter else "as text"
            raise AgentUsageError(
                f"{match.group(0)} in {where}: {name} cannot be written {kind} ({type(exc).__name__}: {exc})."
            ) from None

    return PLACEHOLDER.sub(replace, text)
