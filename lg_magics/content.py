"""Message content in every shape real agents send, folded into what we show. Pure: no I/O, no imports
of LangChain (a message on the wire is a dict and that is all we need).

The Agent Server serializes messages with ``model_dump()``, so ``content`` is whatever the provider
package produced (``response_metadata.model_provider`` says which):

* a plain string (OpenAI Chat Completions, most fakes), with DeepSeek-style reasoning in
  ``additional_kwargs.reasoning_content``;
* Anthropic blocks: ``thinking`` / ``redacted_thinking`` / ``text`` / ``tool_use`` followed by
  ``input_json_delta`` chunks / ``server_tool_use`` + ``web_search_tool_result`` / ``image``;
* OpenAI Responses blocks: ``reasoning`` with ``summary`` parts / ``text`` / ``function_call`` /
  ``web_search_call`` / ``image_generation_call`` / ``refusal``;
* LangChain v1 standard blocks (``output_version="v1"``, and multimodal input): ``text`` /
  ``reasoning`` / ``tool_call`` / ``tool_call_chunk`` / ``invalid_tool_call`` / ``server_tool_call``
  (``_chunk``) / ``server_tool_result`` / ``image`` / ``audio`` / ``video`` / ``file`` / ``non_standard``;
* OpenAI Chat Completions multimodal input: ``image_url``.

:class:`Content` folds either streamed chunks (:meth:`Content.add`: blocks merged by ``index``,
tool-call arguments concatenated per call, usage summed) or whole messages (:meth:`Content.replace`)
into ordered :class:`Part`\\ s (text, reasoning, images, files) and :class:`ToolCall`\\ s. Text is kept
as a list of pieces joined on demand, so folding a long reply stays linear.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional

TEXT, REASONING, IMAGE, FILE, REFUSAL = "text", "reasoning", "image", "file", "refusal"

#: Block types that are tool calls (shown from ``tool_calls``/``tool_call_chunks`` when a message has them).
_CALL_TYPES = {"tool_use", "function_call", "tool_call", "tool_call_chunk", "input_json_delta", "invalid_tool_call"}
#: Tool calls that the provider runs itself; they never appear in ``tool_calls``.
_SERVER_CALL_TYPES = {"server_tool_use", "server_tool_call", "server_tool_call_chunk", "web_search_call", "code_interpreter_call",
                      "file_search_call", "computer_call", "mcp_call"}  # fmt: skip
_SERVER_RESULT_TYPES = {"server_tool_result", "web_search_tool_result", "code_execution_tool_result", "web_fetch_tool_result"}
_MEDIA_TYPES = {"image": IMAGE, "audio": FILE, "video": FILE, "file": FILE, "input_image": IMAGE, "input_file": FILE}
_USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens")


@dataclass
class Part:
    """One shown block: text or reasoning (``pieces`` joined on demand), or an image or file."""

    kind: str
    pieces: list[str] = field(default_factory=list)
    mime_type: str = ""
    data: str = ""  # base64, for images and files sent inline
    url: str = ""
    sub: Any = None  # the last reasoning-summary index, to separate summary parts
    _joined: str = ""
    _count: int = 0

    @property
    def text(self) -> str:
        if self._count != len(self.pieces):
            self._joined = "".join(self.pieces)
            if len(self.pieces) > 1:  # keep it one piece, so the next join copies once
                self.pieces[:] = [self._joined]
            self._count = len(self.pieces)
        return self._joined

    @property
    def size(self) -> int:
        """Bytes of an inline image or file (from its base64 length)."""
        data = self.data.rstrip("=")
        return len(data) * 3 // 4


@dataclass
class ToolCall:
    """One tool call: name and arguments (streamed JSON text until it parses, then a dict)."""

    name: str = ""
    id: Optional[str] = None
    args: Any = None  # a dict once known; None while only text has arrived
    pieces: list[str] = field(default_factory=list)
    error: Optional[str] = None  # an invalid tool call's parse error
    server: bool = False  # run by the provider (web search …), not by the graph
    result: Any = None  # a server tool's result
    raw: Optional[dict[str, Any]] = None  # the call as a whole message listed it

    @property
    def args_text(self) -> str:
        return "".join(self.pieces)

    @property
    def arguments(self) -> Any:
        """The arguments as far as known: a dict when complete JSON, else the text so far."""
        if isinstance(self.args, dict) and (self.args or not self.pieces):
            return self.args
        text = self.args_text
        if text:
            try:
                value = json.loads(text)
            except ValueError:
                return text
            return value
        return self.args if self.args is not None else {}

    def as_dict(self) -> dict[str, Any]:
        if self.raw is not None:
            return self.raw
        # Streamed arguments are JSON text until they parse, as LangChain parses its own chunks.
        args = self.args_text if self.error else self.arguments
        call: dict[str, Any] = {"name": self.name, "args": args, "id": self.id}
        if self.error:
            call["error"] = self.error
        if self.server:
            call["server"] = True
        return call


def _index(block: dict[str, Any]) -> Any:
    index = block.get("index")
    return index if isinstance(index, (int, str)) and not isinstance(index, bool) else None


def _data_url(url: str) -> tuple[str, str]:
    """(mime type, base64) of a ``data:`` URL, else ("", "")."""
    if not url.startswith("data:") or ";base64," not in url:
        return "", ""
    head, _, data = url.partition(";base64,")
    return head[5:], data


class Content:
    """The content of one message, folded from chunks or replaced by a whole message."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.parts: dict[Any, Part] = {}
        self.calls: dict[Any, ToolCall] = {}
        self.usage: Optional[dict[str, int]] = None
        self.model: str = ""
        self._n = 0  # keys for blocks without an index
        self._named = False  # whether a message named the model (else it is the metadata's guess)

    # -- reading ----------------------------------------------------------------------------------
    def _joined(self, kind: str, sep: str = "") -> str:
        return sep.join(p.text for p in self.parts.values() if p.kind == kind and p.pieces)

    @property
    def text(self) -> str:
        return self._joined(TEXT)

    @property
    def reasoning(self) -> str:
        return self._joined(REASONING, "\n\n")

    @property
    def media(self) -> list[Part]:
        return [p for p in self.parts.values() if p.kind in (IMAGE, FILE)]

    @property
    def tool_calls(self) -> list[dict[str, Any]]:
        return [c.as_dict() for c in self.calls.values() if not c.server]

    def blocks(self) -> list[dict[str, Any]]:
        """The content as LangChain v1 standard blocks, whatever shape it arrived in."""
        out: list[dict[str, Any]] = []
        for part in self.parts.values():
            if part.kind == TEXT:
                out.append({"type": "text", "text": part.text})
            elif part.kind == REASONING:
                out.append({"type": "reasoning", "reasoning": part.text})
            elif part.kind == REFUSAL:
                out.append({"type": "text", "text": part.text, "refusal": True})
            else:
                block: dict[str, Any] = {"type": "image" if part.kind == IMAGE else "file", "mime_type": part.mime_type}
                block.update({"base64": part.data} if part.data else {"url": part.url})
                out.append(block)
        for call in self.calls.values():
            kind = "server_tool_call" if call.server else "invalid_tool_call" if call.error else "tool_call"
            out.append({"type": kind, "name": call.name, "args": call.arguments, "id": call.id})
        return out

    # -- folding ----------------------------------------------------------------------------------
    def replace(self, message: dict[str, Any], meta: Optional[dict[str, Any]] = None) -> None:
        """Take a whole message (``updates``, ``values``, a legacy ``messages/partial``)."""
        self.replace_many([message], meta)

    def replace_many(self, messages: list[dict[str, Any]], meta: Optional[dict[str, Any]] = None) -> None:
        """Take a message sent in parts under several ids (legacy ``messages/partial`` when the id changes)."""
        model, named, usage = self.model, self._named, self.usage
        self._reset()
        self.model, self._named = model, named  # a final message may lack what its chunks said
        total = None
        for message in messages:
            self.usage = None
            self._fold(message, meta, whole=True)
            total = add_usage(total, self.usage)
        self.usage = total if total is not None else usage

    def add(self, message: dict[str, Any], meta: Optional[dict[str, Any]] = None) -> None:
        """Merge one streamed chunk (``messages`` tuple, ``events``)."""
        self._fold(message, meta, whole=False)

    def _fold(self, message: dict[str, Any], meta: Optional[dict[str, Any]], *, whole: bool) -> None:
        extra = message.get("additional_kwargs") or {}
        if isinstance(extra, dict):
            reasoning = extra.get("reasoning_content")
            if isinstance(reasoning, str) and reasoning:
                self._text(REASONING, ("kw", "reasoning_content"), reasoning)
            summary = extra.get("reasoning")  # langchain-openai 0.3: the Responses reasoning item
            if isinstance(summary, dict):
                self._reasoning_summary(("kw", "reasoning"), summary.get("summary"))
        covered = self._calls(message, whole)
        content = message.get("content")
        if isinstance(content, str):
            if content:
                self._text(TEXT, None, content)
        elif isinstance(content, list):
            for block in content:
                self._block(block, covered, whole)
        self._meta(message, meta, whole)

    def _calls(self, message: dict[str, Any], whole: bool) -> set[Any]:
        """Tool calls from ``tool_calls``/``invalid_tool_calls`` (whole) or ``tool_call_chunks`` (chunk).
        Returns the keys and ids they cover, so call blocks in ``content`` are not counted twice."""
        covered: set[Any] = set()
        if whole:
            for key in ("tool_calls", "invalid_tool_calls"):
                for raw in message.get(key) or []:
                    if not isinstance(raw, dict):
                        continue
                    call = self._call(("id", raw.get("id") or len(self.calls)))
                    call.name, call.id = str(raw.get("name") or ""), raw.get("id")
                    if key == "tool_calls":
                        call.args, call.raw = raw.get("args") if isinstance(raw.get("args"), dict) else {}, raw
                    else:
                        call.pieces, call.error = [str(raw.get("args") or "")], str(raw.get("error") or "invalid")
                    covered.add(raw.get("id"))
            return covered
        for chunk in message.get("tool_call_chunks") or []:
            if isinstance(chunk, dict):
                covered.add(self._call_chunk(chunk.get("index"), chunk.get("id"), chunk.get("name"), chunk.get("args")))
        return covered

    def _call(self, key: Any) -> ToolCall:
        call = self.calls.get(key)
        if call is None:
            call = self.calls[key] = ToolCall()
        return call

    def _call_chunk(self, index: Any, call_id: Any, name: Any, args: Any, *, server: bool = False) -> Any:
        if index is None:
            # No index: its id names it, else it continues the last call.
            key = ("id", call_id) if call_id else (next(reversed(self.calls)) if self.calls else ("n", 0))
        else:
            key = ("i", index)
        call = self._call(key)
        call.server = call.server or server
        if name and not call.name:
            call.name = str(name)
        if call_id and not call.id:
            call.id = str(call_id)
        if isinstance(args, str):
            if args:
                call.pieces.append(args)
        elif isinstance(args, dict) and args:
            call.args = args
        return key

    def _text(self, kind: str, index: Any, text: str) -> Part:
        if index is None:
            # No index (string content, reasoning_content): it continues the last part of its kind.
            last = next(reversed(self.parts.values()), None) if self.parts else None
            if last is not None and last.kind == kind:
                last.pieces.append(text)
                return last
            self._n += 1
            index = ("n", self._n)
        key: Any = ("i", index)
        part = self.parts.get(key)
        if part is not None and part.kind != kind:
            key = ("i", index, kind)
            part = self.parts.get(key)
        if part is None:
            part = self.parts[key] = Part(kind)
        if text:
            part.pieces.append(text)
        return part

    def _reasoning_summary(self, key: Any, summary: Any) -> None:
        part = self._text(REASONING, key, "")
        for item in summary if isinstance(summary, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                continue
            sub = item.get("index")
            if part.pieces and sub is not None and part.sub is not None and sub != part.sub:
                part.pieces.append("\n\n")
            part.sub = sub if sub is not None else part.sub
            part.pieces.append(item["text"])

    def _block(self, block: Any, covered: set[Any], whole: bool) -> None:
        if isinstance(block, str):
            self._text(TEXT, None, block)
            return
        if not isinstance(block, dict):
            return
        kind, index = block.get("type"), _index(block)
        if kind == "text" or (kind is None and isinstance(block.get("text"), str)):
            self._text(TEXT, index, str(block.get("text") or ""))
        elif kind == "thinking":
            self._text(REASONING, index, str(block.get("thinking") or ""))
        elif kind == "redacted_thinking":
            part = self._text(REASONING, index, "")
            if not part.pieces:
                part.pieces.append("[redacted thinking]")
        elif kind == "reasoning":
            if isinstance(block.get("reasoning"), str):
                self._text(REASONING, index, block["reasoning"])
            else:
                self._reasoning_summary(index if index is not None else ("rs", block.get("id")), block.get("summary"))
        elif kind == "refusal":
            self._text(REFUSAL, index, str(block.get("refusal") or ""))
        elif kind in _CALL_TYPES:
            self._call_block(block, kind, index, covered, whole)
        elif kind in _SERVER_CALL_TYPES:
            args = block.get("input", block.get("args", block.get("action")))
            if kind == "server_tool_call_chunk" or (kind == "server_tool_use" and not whole):
                self._call_chunk(index, block.get("id"), block.get("name"), args, server=True)
            else:
                name = block.get("name") or str(kind).removesuffix("_call")
                self._call_chunk(
                    index if index is not None else ("id", block.get("id")), block.get("id"), name, args, server=True
                )
        elif kind in _SERVER_RESULT_TYPES:
            target = block.get("tool_use_id") or block.get("tool_call_id")
            for call in self.calls.values():
                if call.id == target:
                    call.result = block.get("content", block.get("output"))
        elif kind == "image_generation_call":
            if block.get("result"):
                self._media(IMAGE, index, f"image/{block.get('output_format') or 'png'}", str(block["result"]), "")
        elif kind == "image_url":
            image = block.get("image_url")
            url = image.get("url") if isinstance(image, dict) else image
            self._url_media(IMAGE, index, str(url or ""))
        elif kind in _MEDIA_TYPES:
            self._media_block(_MEDIA_TYPES[kind], kind, index, block)
        # non_standard, citations and unknown blocks carry nothing to show

    def _call_block(self, block: dict[str, Any], kind: str, index: Any, covered: set[Any], whole: bool) -> None:
        call_id = block.get("call_id") or block.get("id") if kind == "function_call" else block.get("id")
        key = ("i", index) if index is not None else None
        if (key is not None and key in covered) or (call_id and call_id in covered):
            return  # already counted from tool_calls / tool_call_chunks
        if kind == "input_json_delta":
            self._call_chunk(index, None, None, block.get("partial_json") or "")
            return
        args = block.get("input", block.get("arguments", block.get("args")))
        if whole and kind in ("tool_use", "function_call", "tool_call"):
            key = self._call_chunk(index if index is not None else ("id", call_id), call_id, block.get("name"), None)
            call = self.calls[key]
            if isinstance(args, dict):
                call.args = args
            elif isinstance(args, str):
                call.pieces = [args] if args else []
            if isinstance(block.get("partial_json"), str) and not call.args:  # a merged Anthropic chunk
                call.pieces = [block["partial_json"]]
            return
        key = self._call_chunk(index, call_id, block.get("name"), args)
        if kind == "invalid_tool_call":
            self.calls[key].error = str(block.get("error") or "invalid")

    def _media_block(self, kind: str, block_type: str, index: Any, block: dict[str, Any]) -> None:
        source = block.get("source")
        if isinstance(source, dict):  # Anthropic: {"type": "base64", "media_type", "data"} or {"type": "url", "url"}
            self._media(
                kind, index, str(source.get("media_type") or ""), str(source.get("data") or ""), str(source.get("url") or "")
            )
            return
        if block_type.startswith("input_"):  # OpenAI Responses input
            self._url_media(kind, index, str(block.get("image_url") or block.get("file_url") or ""))
            return
        data = block.get("base64") or (block.get("data") if block.get("source_type", "base64") == "base64" else None)
        url = block.get("url") or (block.get("data") if block.get("source_type") == "url" else None)
        mime = str(block.get("mime_type") or "")
        if isinstance(url, str) and url.startswith("data:"):
            self._url_media(kind, index, url)
            return
        self._media(kind, index, mime or (f"{block_type}/*" if block_type != "file" else ""), str(data or ""), str(url or ""))

    def _url_media(self, kind: str, index: Any, url: str) -> None:
        mime, data = _data_url(url)
        self._media(kind, index, mime, data, "" if data else url)

    def _media(self, kind: str, index: Any, mime: str, data: str, url: str) -> None:
        self._n += 1
        key = ("i", index) if index is not None else ("n", self._n)
        part = self.parts.get(key)
        if part is None:
            part = self.parts[key] = Part(kind, mime_type=mime)
        part.pieces = part.pieces or [""]
        part.mime_type = part.mime_type or mime
        part.data += data
        part.url = part.url or url

    def _meta(self, message: dict[str, Any], meta: Optional[dict[str, Any]], whole: bool) -> None:
        response = message.get("response_metadata") or {}
        named = (response.get("model_name") or response.get("model")) if isinstance(response, dict) else None
        if isinstance(named, str) and named and not self._named:
            self.model, self._named = named, True  # what the provider answered with wins
        elif not self.model and isinstance((meta or {}).get("ls_model_name"), str):
            self.model = (meta or {})["ls_model_name"]  # what the graph asked for, until the provider says
        usage = message.get("usage_metadata")
        if isinstance(usage, dict):
            counts = {k: int(usage.get(k) or 0) for k in _USAGE_KEYS}
            self.usage = counts if whole else add_usage(self.usage, counts)


def add_usage(total: Optional[dict[str, int]], usage: Optional[dict[str, int]]) -> Optional[dict[str, int]]:
    if not usage:
        return total
    if total is None:
        return dict(usage)
    return {k: total.get(k, 0) + usage.get(k, 0) for k in _USAGE_KEYS}


def content_of(message: dict[str, Any]) -> Content:
    """The shown content of one whole message."""
    content = Content()
    content.replace(message)
    return content


def plain_text(content: Any) -> str:
    """The text blocks of a message's ``content`` (a string or a list of blocks), joined."""
    if isinstance(content, str):
        return content
    return content_of({"content": content}).text if content else ""
