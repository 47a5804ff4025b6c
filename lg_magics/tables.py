"""Tables and short documents as HTML with a plain-text twin. Pure: no I/O, no widgets.

What the ``%agent`` inspection commands display. The plain text is what a
saved notebook and nbval compare, so it depends only on the data given: no
clock, no terminal width.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Union


@dataclass(frozen=True)
class Table:
    """Rows of strings under a header. ``code`` names the columns shown in monospace (IDs)."""

    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    code: frozenset[str] = field(default_factory=frozenset)
    empty: str = "(none)"


#: A document is a list of paragraphs (plain strings) and tables.
Part = Union[str, Table]


def table_text(table: Table) -> str:
    if not table.rows:
        return table.empty
    widths = [len(c) for c in table.columns]
    for row in table.rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(cell.ljust(w) for cell, w in zip(cells, widths)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(table.columns), rule, *(line(row) for row in table.rows)])


def _cell_html(text: str, code: bool) -> str:
    return f"<code>{html.escape(text)}</code>" if code and text else html.escape(text)


def table_html(table: Table) -> str:
    if not table.rows:
        return f"<p><i>{html.escape(table.empty)}</i></p>"
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    codes = [c in table.code for c in table.columns]
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell_html(cell, code)}</td>" for cell, code in zip(row, codes)) + "</tr>" for row in table.rows
    )
    return f'<table class="lgm-table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def document_text(parts: Sequence[Part]) -> str:
    return "\n".join(table_text(p) if isinstance(p, Table) else p for p in parts)


def document_html(parts: Sequence[Part]) -> str:
    body = "".join(table_html(p) if isinstance(p, Table) else f"<p>{html.escape(p)}</p>" for p in parts)
    return f'<div class="lgm lgm-doc">{body}</div>'


def bundle(*parts: Part) -> dict[str, str]:
    """A mimebundle to display: ``text/html`` and its deterministic ``text/plain`` twin."""
    return {"text/plain": document_text(parts), "text/html": document_html(parts)}
