"""Fake chat models that stream exactly what real provider packages stream. No key, no network.

A reply is a :class:`Turn` (reasoning, text, tool calls, images, usage, model); :func:`chunks` writes
it as the chunks one provider package emits, read from their streaming code:

``anthropic``
    ``langchain-anthropic`` 1.7: the first chunk carries the provider's ``msg_…`` id and input tokens,
    then ``thinking`` (+ ``signature``), ``text``, ``tool_use`` followed by ``input_json_delta``
    chunks (with matching ``tool_call_chunks``), each block with its ``index``; output tokens and
    ``chunk_position="last"`` on the final chunk.
``openai``
    ``langchain-openai`` 1.7, Responses API: ``resp_…`` on the first and last chunk only (the ones in
    between get LangChain's ``lc_run--…``), ``reasoning`` blocks with ``summary`` parts, ``text``,
    ``function_call`` with streamed ``arguments``.
``deepseek``
    Chat Completions: string content, ``additional_kwargs.reasoning_content``, parallel
    ``tool_call_chunks`` by ``index``.
``v1``
    LangChain v1 standard blocks (``output_version="v1"``): ``reasoning``, ``text``,
    ``tool_call_chunk``, ``image``.

Used by the ``agent`` demo graph and by the test graphs of ``tests/graphs/agents``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

PROVIDERS = ("anthropic", "openai", "deepseek", "v1")
MODELS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-5-mini", "deepseek": "deepseek-reasoner", "v1": "gpt-5-mini"}


@dataclass
class Turn:
    """One model reply, provider-neutral."""

    text: str = ""
    reasoning: str = ""
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (tool name, args)
    images: list[tuple[str, str]] = field(default_factory=list)  # (mime type, base64)
    input_tokens: int = 0
    output_tokens: int = 0


def _words(text: str) -> list[str]:
    out, word = [], ""
    for ch in text:
        word += ch
        if ch == " ":
            out.append(word)
            word = ""
    return [*out, word] if word else out


def _pieces(text: str, size: int = 7) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _usage(i: int, o: int) -> dict[str, int]:
    return {"input_tokens": i, "output_tokens": o, "total_tokens": i + o}


def chunks(provider: str, turn: Turn, *, call_prefix: str = "call") -> list[dict[str, Any]]:
    """The keyword arguments of each ``AIMessageChunk`` the provider's package would stream for ``turn``."""
    model = MODELS[provider]
    out: list[dict[str, Any]] = []
    calls = [(f"{call_prefix}_{n}", name, json.dumps(args)) for n, (name, args) in enumerate(turn.calls, 1)]
    if provider == "anthropic":
        meta = {"model_name": model, "model_provider": "anthropic"}
        out.append(
            {
                "content": [],
                "id": "msg_01" + call_prefix,
                "usage_metadata": _usage(turn.input_tokens, 0),
                "response_metadata": meta,
            }
        )
        index = 0
        if turn.reasoning:
            out.append({"content": [{"type": "thinking", "thinking": "", "index": index}]})
            out += [{"content": [{"type": "thinking", "thinking": w, "index": index}]} for w in _words(turn.reasoning)]
            out.append({"content": [{"type": "thinking", "signature": "EqQBCkYIBxgC", "index": index}]})
            index += 1
        if turn.text:
            out += [{"content": [{"type": "text", "text": w, "index": index}]} for w in _words(turn.text)]
            index += 1
        for call_id, name, args in calls:
            toolu = "toolu_" + call_id
            out.append(
                {
                    "content": [{"type": "tool_use", "id": toolu, "name": name, "input": {}, "index": index}],
                    "tool_call_chunks": [{"type": "tool_call_chunk", "index": index, "id": toolu, "name": name, "args": ""}],
                }
            )
            for piece in _pieces(args):
                out.append(
                    {
                        "content": [{"type": "input_json_delta", "partial_json": piece, "index": index}],
                        "tool_call_chunks": [
                            {"type": "tool_call_chunk", "index": index, "id": None, "name": None, "args": piece}
                        ],
                    }
                )
            index += 1
        out.append(
            {"content": [], "usage_metadata": _usage(0, turn.output_tokens), "response_metadata": {"stop_reason": "end_turn"}}
        )
    elif provider == "openai":
        resp = "resp_0a1b2c" + call_prefix
        meta = {"id": resp, "model_provider": "openai"}
        out.append({"content": [], "id": resp, "response_metadata": meta})
        index = 0
        if turn.reasoning:
            out.append({"content": [{"type": "reasoning", "id": "rs_1", "summary": [], "index": index}]})
            for n, paragraph in enumerate(turn.reasoning.split("\n\n")):
                for w in _words(paragraph):
                    out.append({"content": [{"type": "reasoning", "id": "rs_1", "summary": [{"index": n, "type": "summary_text", "text": w}], "index": index}]})  # fmt: skip
            index += 1
        if turn.text:
            out += [
                {"content": [{"type": "text", "text": w, "annotations": [], "id": "msg_1", "index": index}]}
                for w in _words(turn.text)
            ]
            index += 1
        for call_id, name, args in calls:
            first = {
                "type": "function_call",
                "name": name,
                "arguments": "",
                "call_id": call_id,
                "id": "fc_" + call_id,
                "index": index,
            }
            out.append({"content": [first], "tool_call_chunks": [{"type": "tool_call_chunk", "name": name, "args": "", "id": call_id, "index": index}]})  # fmt: skip
            for piece in _pieces(args):
                out.append(
                    {
                        "content": [{"type": "function_call", "arguments": piece, "index": index}],
                        "tool_call_chunks": [
                            {"type": "tool_call_chunk", "name": None, "args": piece, "id": None, "index": index}
                        ],
                    }
                )
            index += 1
        for mime, data in turn.images:
            out.append({"content": [{"type": "image_generation_call", "id": "ig_1", "result": data, "output_format": mime.split("/")[-1], "status": "completed", "index": index}]})  # fmt: skip
            index += 1
        out.append({"content": [], "id": resp, "usage_metadata": _usage(turn.input_tokens, turn.output_tokens), "response_metadata": {"model_name": model, "status": "completed"}})  # fmt: skip
    elif provider == "deepseek":
        meta = {"model_name": model, "model_provider": "openai"}
        out.append({"content": "", "response_metadata": meta})
        out += [{"content": "", "additional_kwargs": {"reasoning_content": w}} for w in _words(turn.reasoning)]
        out += [{"content": w} for w in _words(turn.text)]
        # Parallel calls: each call's first chunk has its id and name, the arguments follow by index.
        for n, (call_id, name, _) in enumerate(calls):
            out.append({"content": "", "tool_call_chunks": [{"type": "tool_call_chunk", "index": n, "id": call_id, "name": name, "args": ""}]})  # fmt: skip
        for n, (_, _, args) in enumerate(calls):
            for piece in _pieces(args):
                out.append({"content": "", "tool_call_chunks": [{"type": "tool_call_chunk", "index": n, "id": None, "name": None, "args": piece}]})  # fmt: skip
        out.append({"content": "", "usage_metadata": _usage(turn.input_tokens, turn.output_tokens)})
    elif provider == "v1":
        meta = {"model_name": model, "model_provider": "openai", "output_version": "v1"}
        out.append({"content": [], "response_metadata": meta})
        index = 0
        if turn.reasoning:
            out += [{"content": [{"type": "reasoning", "reasoning": w, "index": index}]} for w in _words(turn.reasoning)]
            index += 1
        if turn.text:
            out += [{"content": [{"type": "text", "text": w, "index": index}]} for w in _words(turn.text)]
            index += 1
        for call_id, name, args in calls:
            for n, piece in enumerate(_pieces(args)):
                block = {"type": "tool_call_chunk", "id": call_id if n == 0 else None, "name": name if n == 0 else None, "args": piece, "index": index}  # fmt: skip
                out.append({"content": [block], "tool_call_chunks": [dict(block)]})
            index += 1
        for mime, data in turn.images:
            out.append({"content": [{"type": "image", "base64": data, "mime_type": mime, "index": index}]})
            index += 1
        out.append({"content": [], "usage_metadata": _usage(turn.input_tokens, turn.output_tokens)})
    else:
        raise ValueError(f"unknown provider {provider!r}; choose from {', '.join(PROVIDERS)}")
    out[-1]["chunk_position"] = "last"
    return out


def message(provider: str, turn: Turn, **kwargs: Any) -> AIMessage:
    """The whole message the chunks add up to (what a node returns, and ``invoke`` gives)."""
    total: Optional[AIMessageChunk] = None
    for kw in chunks(provider, turn, **kwargs):
        chunk = AIMessageChunk(**kw)
        total = chunk if total is None else total + chunk
    assert total is not None
    whole = AIMessage(
        content=total.content,
        additional_kwargs=total.additional_kwargs,
        response_metadata=total.response_metadata,
        tool_calls=total.tool_calls,
        invalid_tool_calls=total.invalid_tool_calls,
        usage_metadata=total.usage_metadata,
        id=total.id,
    )
    return whole


class ProviderChatModel(BaseChatModel):
    """A scripted chat model: ``script(messages)`` decides the :class:`Turn`; it streams as ``provider`` does."""

    provider: str = "anthropic"
    script: Callable[[Sequence[BaseMessage]], Turn]
    delay: float = 0.0

    @property
    def _llm_type(self) -> str:
        return f"lg-magics-{self.provider}"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ProviderChatModel:
        return self  # the script knows its tools

    def _prefix(self, messages: Sequence[BaseMessage]) -> str:
        return f"c{len(messages)}"  # tool-call ids unique per turn, stable across runs

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        whole = message(self.provider, self.script(messages), call_prefix=self._prefix(messages))
        return ChatResult(generations=[ChatGeneration(message=whole)])

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        for kw in chunks(self.provider, self.script(messages), call_prefix=self._prefix(messages)):
            yield ChatGenerationChunk(message=AIMessageChunk(**kw))

    async def _astream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        for kw in chunks(self.provider, self.script(messages), call_prefix=self._prefix(messages)):
            if self.delay:
                await asyncio.sleep(self.delay)
            # BaseChatModel reports each chunk to the callbacks (the server's messages stream) itself.
            yield ChatGenerationChunk(message=AIMessageChunk(**kw))
