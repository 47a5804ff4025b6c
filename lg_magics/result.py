"""What a run leaves in the notebook: ``_agent`` and ``--out VAR``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Optional

from .render import status_label
from .transcript import Transcript, compact


class RunResult(Mapping[str, Any]):
    """The outcome of one run. Reads like the final state (``result["messages"]``) and adds:

    ``values`` (final state), ``messages`` (this run's messages, as dicts),
    ``text`` (the last AI text), ``reasoning``, ``usage`` (tokens, summed),
    ``model``, ``status``, ``run_id``, ``thread_id``, ``interrupts``, ``error``
    and ``transcript``.

    ``status`` is in the words the views use (:data:`~lg_magics.render.STATUS_LABELS`): ``queued``,
    ``running``, ``done``, ``waiting for input``, ``paused``, ``failed`` or ``cancelled``.
    """

    def __init__(self, transcript: Transcript) -> None:
        self.transcript = transcript

    @property
    def values(self) -> dict[str, Any]:  # type: ignore[override]
        return self.transcript.values or {}

    @property
    def status(self) -> str:
        return status_label(self.transcript.status)

    @property
    def run_id(self) -> Optional[str]:
        return self.transcript.run_id

    @property
    def thread_id(self) -> Optional[str]:
        return self.transcript.thread_id

    @property
    def interrupts(self) -> list[dict[str, Any]]:
        return self.transcript.interrupts

    @property
    def error(self) -> Optional[dict[str, Any]]:
        return self.transcript.error

    @property
    def text(self) -> Optional[str]:
        return self.transcript.last_ai_text

    @property
    def reasoning(self) -> Optional[str]:
        """The reasoning the run's AI messages carried, in order; None when there was none."""
        return self.transcript.reasoning

    @property
    def usage(self) -> Optional[dict[str, int]]:
        """``{"input_tokens", "output_tokens", "total_tokens"}`` summed over the run's AI messages."""
        return self.transcript.usage

    @property
    def model(self) -> Optional[str]:
        """The model that wrote the last AI message, when the provider named it."""
        return self.transcript.model

    @property
    def messages(self) -> list[dict[str, Any]]:
        """This run's messages: ``content`` is the text, ``blocks`` every content block (LangChain v1 shapes:
        text, reasoning, image, tool_call …), plus ``tool_calls``, ``usage`` and ``model``."""
        out = []
        for e in self.transcript.messages:
            message: dict[str, Any] = {"role": e.role, "content": e.text, "node": e.node, "id": e.id, "tool_calls": e.tool_calls}
            message.update(blocks=e.body.blocks(), reasoning=e.reasoning or None, usage=e.usage, model=e.model or None)
            if e.role == "tool":
                message.update(name=e.name, status=e.status or None)
            out.append(message)
        return out

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def __len__(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        # No IDs or timings: a repr shown in a cell must be stable for nbval.
        parts = [f"assistant={self.transcript.assistant!r}", f"status={self.status!r}"]
        if self.text is not None:
            parts.append(f"text={compact(self.text, 60)!r}")
        if self.interrupts:
            parts.append(f"interrupts={len(self.interrupts)}")
        if self.error:
            parts.append(f"error={self.error.get('error')!r}")
        parts.append(f"keys={sorted(self.values)!r}")
        return f"RunResult({', '.join(parts)})"
