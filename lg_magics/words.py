"""Counted nouns in what the magics print: "1 checkpoint", "2 checkpoints". Pure."""

from __future__ import annotations

from typing import Optional


def plural(count: int, noun: str, many: Optional[str] = None) -> str:
    """``count`` and ``noun``, in the plural unless ``count`` is 1 (``many`` for irregular plurals)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"
