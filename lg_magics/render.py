"""Turn a transcript into HTML and plain text. Pure functions, no widgets.

The live widget and the saved summary use the same pieces, so a reader of a
saved notebook (GitHub, nbconvert) sees what the live view showed. Nothing
here prints IDs or timings: the plain text must be stable for nbval.
"""

from __future__ import annotations

import html
import json
from functools import lru_cache
from typing import Any, Callable

from .content import IMAGE, Part, ToolCall
from .transcript import CANCELLED, ERROR, PAUSED, PENDING, RUNNING, SUCCESS, WAITING, Entry, Transcript, compact

STATUS_LABELS = {
    PENDING: "queued",
    RUNNING: "running",
    SUCCESS: "done",
    WAITING: "waiting for input",
    ERROR: "failed",
    CANCELLED: "cancelled",
    PAUSED: "paused",
}
_STATUS_COLORS = {
    PENDING: "#6b7280",
    RUNNING: "#2563eb",
    SUCCESS: "#15803d",
    WAITING: "#b45309",
    ERROR: "#b91c1c",
    CANCELLED: "#6b7280",
    PAUSED: "#b45309",
}

#: Scoped styles shared by the widget and the summary. Theme variables keep dark themes readable.
STYLE = """<style>
.lgm{font-family:var(--jp-ui-font-family,sans-serif);font-size:var(--jp-content-font-size1,13px);line-height:1.45}
.lgm-header{color:var(--jp-ui-font-color1,#111);margin-bottom:4px}
.lgm-badge{display:inline-block;padding:0 6px;border-radius:8px;color:#fff;font-size:11px}
.lgm-turn{margin:4px 0;padding:4px 8px;border-left:3px solid var(--jp-border-color2,#ddd)}
.lgm-human{border-left-color:#6366f1;background:var(--jp-layout-color2,#f5f5ff)}
.lgm-ai{border-left-color:#10b981}
.lgm-tool{border-left-color:#f59e0b;font-family:var(--jp-code-font-family,monospace);font-size:12px}
.lgm-role{font-size:11px;color:var(--jp-ui-font-color2,#666);text-transform:uppercase;letter-spacing:.03em}
.lgm-text{white-space:pre-wrap;word-break:break-word}
.lgm-md p{margin:2px 0}
.lgm-call{font-family:var(--jp-code-font-family,monospace);font-size:12px;color:var(--jp-ui-font-color2,#555)}
.lgm-update,.lgm-note,.lgm-custom{font-size:11px;color:var(--jp-ui-font-color2,#777);margin:1px 0 1px 11px}
.lgm-interrupt{border:1px solid #f59e0b;border-radius:4px;padding:4px 8px;margin:4px 0;background:rgba(245,158,11,.08)}
.lgm-error{border:1px solid #dc2626;border-radius:4px;padding:4px 8px;margin:4px 0;color:#b91c1c;background:rgba(220,38,38,.06)}
.lgm pre{margin:2px 0;white-space:pre-wrap}
.lgm-meta{text-transform:none;letter-spacing:0;opacity:.8}
.lgm-tool-error{border-left-color:#dc2626}
.lgm-tool-error .lgm-role{color:#b91c1c}
.lgm-reasoning{margin:2px 0;color:var(--jp-ui-font-color2,#666);font-size:12px}
.lgm-reasoning>summary{cursor:pointer;font-size:11px}
.lgm-reasoning>.lgm-text{border-left:2px solid var(--jp-border-color2,#ddd);padding-left:6px;font-style:italic}
.lgm-img{max-width:320px;max-height:240px;margin:2px 4px 2px 0;border:1px solid var(--jp-border-color2,#ddd)}
.lgm-server-call{opacity:.8}
</style>"""

#: Only images of these types are inlined as ``data:`` URLs (an SVG could carry a script).
_INLINE_IMAGES = ("image/png", "image/jpeg", "image/gif", "image/webp")


@lru_cache(maxsize=1)
def _markdown() -> Callable[[str], str]:
    from markdown_it import MarkdownIt

    # Raw HTML off: model output must not inject markup or scripts into the notebook.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").render


def markdown_html(text: str) -> str:
    return _markdown()(text).strip()


def escape(text: str) -> str:
    return html.escape(text, quote=False)


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def tokens_text(usage: dict[str, int] | None) -> str:
    """``120 in, 45 out``: a message's or a run's token usage."""
    if not usage:
        return ""
    return f"{usage.get('input_tokens', 0):,} in, {usage.get('output_tokens', 0):,} out"


def run_status(t: Transcript) -> str:
    """The status as a header says it: a run at a breakpoint says where (``paused before write``), a
    running one which node runs now when the stream tells (``running respond``)."""
    if t.status == RUNNING and t.running:
        return f"running {t.running}"
    return f"paused {t.paused}" if t.status == PAUSED and t.paused else status_label(t.status)


def header_html(t: Transcript) -> str:
    parts = [f"<b>{escape(t.assistant)}</b>"]
    parts.append(f"thread <code>{escape(t.thread_var)}</code>" if t.thread_var else "stateless")
    color = _STATUS_COLORS.get(t.status, "#6b7280")
    parts.append(f'<span class="lgm-badge" style="background:{color}">{escape(run_status(t))}</span>')
    usage = t.usage
    if usage:
        parts.append(f"tokens {escape(tokens_text(usage))}")
    if t.silent and not t.finished:
        parts.append(f"no event for {t.silent} s")
    return '<div class="lgm-header">' + " · ".join(parts) + "</div>"


def _role_label(entry: Entry) -> str:
    if entry.role == "human":
        return "you" if entry.is_input else "human"
    if entry.role == "tool":
        return " · ".join(p for p in (f"tool {entry.name}".strip(), "error" if entry.status == "error" else "") if p)
    return " · ".join(p for p in (entry.role, entry.node) if p)


def _meta_label(entry: Entry) -> str:
    """Model and tokens of an AI message: ``gpt-5 · 120 in, 45 out``."""
    return " · ".join(p for p in (entry.model, tokens_text(entry.usage)) if p)


def _args_text(args: Any) -> str:
    if isinstance(args, dict):
        return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in args.items())
    return "" if args is None else args if isinstance(args, str) else json.dumps(args, ensure_ascii=False, default=str)


def _call_text(call: ToolCall) -> str:
    text = f"{call.name or '?'}({compact(_args_text(call.arguments), 120)})"
    if call.error:
        text += f" ✗ invalid: {compact(call.error, 80)}"
    if call.server:
        text += " [server]"
        if call.result is not None:
            text += f" ← {compact(call.result, 80)}"
    return text


def _json_block(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, default=str, sort_keys=True)
    return f"<pre>{escape(text)}</pre>"


def size_text(size: int) -> str:
    if size < 1000:
        return f"{size} B"
    return f"{size / 1000:.1f} kB" if size < 10_000 else f"{size // 1000:,} kB"


def media_text(part: Part) -> str:
    """``[image: image/png, 12 kB]``: an image or file in plain text, never its base64."""
    kind = "image" if part.kind == IMAGE else "file"
    if part.data:
        return f"[{kind}: {part.mime_type or 'unknown type'}, {size_text(part.size)}]"
    return f"[{kind}: {compact(part.url, 80)}]"


def media_html(part: Part) -> str:
    if part.kind == IMAGE and part.data and part.mime_type in _INLINE_IMAGES and _is_base64(part.data):
        return f'<img class="lgm-img" alt="{html.escape(media_text(part), quote=True)}" src="data:{part.mime_type};base64,{part.data}">'
    if part.kind == IMAGE and part.url.startswith(("https://", "http://")):
        return f'<img class="lgm-img" alt="image" src="{html.escape(part.url, quote=True)}">'
    return f'<div class="lgm-call">{escape(media_text(part))}</div>'


def _is_base64(data: str) -> bool:
    return data.replace("+", "").replace("/", "").replace("=", "").isalnum()


def reasoning_html(entry: Entry) -> str:
    """The reasoning as a quiet block, collapsed, with its length."""
    reasoning = entry.reasoning
    if not reasoning:
        return ""
    summary = f"reasoning · {len(reasoning):,} characters"
    return f'<details class="lgm-reasoning"><summary>{summary}</summary><div class="lgm-text">{escape(reasoning)}</div></details>'


def message_body_html(entry: Entry) -> str:
    """The text part of a message. Streaming text is escaped plain text; finished AI text is Markdown."""
    text = entry.text
    if not text:
        return ""
    if entry.role == "ai" and not entry.streaming:
        return f'<div class="lgm-md">{markdown_html(text)}</div>'
    return f'<div class="lgm-text">{escape(text)}</div>'


def message_head_html(entry: Entry) -> str:
    meta = _meta_label(entry)
    meta_html = f' <span class="lgm-meta">· {escape(meta)}</span>' if meta else ""
    return f'<div class="lgm-role">{escape(_role_label(entry))}{meta_html}</div>'


def calls_html(entry: Entry) -> str:
    return "".join(
        f'<div class="lgm-call{" lgm-server-call" if c.server else ""}">→ {escape(_call_text(c))}</div>'
        for c in entry.body.calls.values()
    )


def streaming_text(entry: Entry) -> str:
    """What a live view shows of a message while it streams, as text that grows at its end:
    the reasoning so far, the answer so far, then the tool calls with their arguments so far."""
    parts = []
    if entry.reasoning:
        parts.append(f"(reasoning) {entry.reasoning}\n\n")
    parts.append(entry.text)
    parts += [f"\n→ {_call_text(c)}" for c in entry.body.calls.values()]
    return "".join(parts)


def entry_html(entry: Entry) -> str:
    """One entry as HTML: the live view draws each entry with it (a streaming message is drawn as
    it grows by :func:`streaming_text`), the summary all of them."""
    if entry.kind == "message":
        if entry.removed:
            return ""
        inner = (
            message_head_html(entry)
            + reasoning_html(entry)
            + message_body_html(entry)
            + "".join(media_html(p) for p in entry.body.media)
            + calls_html(entry)
        )
        marked = " lgm-tool-error" if entry.role == "tool" and entry.status == "error" else ""
        return f'<div class="lgm-turn lgm-{escape(entry.role)}{marked}">{inner}</div>'
    if entry.kind in ("update", "state"):
        return f'<div class="lgm-update">{escape(_update_text(entry))}</div>'
    if entry.kind == "interrupt":
        hint = f'<div class="lgm-note">{escape(entry.text)}</div>' if entry.text else ""
        return f'<div class="lgm-interrupt"><b>Interrupt: waiting for input</b>{_json_block(entry.data)}{hint}</div>'
    if entry.kind == "error":
        error = entry.data or {}
        return f'<div class="lgm-error"><b>{escape(error.get("error", "Error"))}</b>: {escape(error.get("message", ""))}</div>'
    if entry.kind == "custom":
        label = f"custom {entry.node}".strip()
        return f'<div class="lgm-custom">{escape(label)}: {escape(compact(entry.data, 200))}</div>'
    return f'<div class="lgm-note">{escape(entry.text)}</div>'


def _update_text(entry: Entry) -> str:
    data = entry.data or {}
    fields = ", ".join(f"{k}: {compact(v, 60)}" for k, v in data.items())
    if entry.kind == "state":
        return f"state → {fields}"
    return f"✓ {entry.node}" + (f" → {fields}" if fields else "")


def transcript_html(t: Transcript) -> str:
    """The whole run as static HTML, for the saved notebook."""
    body = "".join(entry_html(e) for e in t.entries)
    return f'{STYLE}<div class="lgm lgm-summary">{header_html(t)}{body}</div>'


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")


def entry_text(entry: Entry) -> str:
    if entry.kind == "message":
        meta = _meta_label(entry)
        label = f"{_role_label(entry)} · {meta}" if meta else _role_label(entry)
        lines = []
        if entry.reasoning:
            lines.append(f"    (reasoning, {len(entry.reasoning):,} characters) {compact(entry.reasoning, 160)}")
        lines += [f"    {media_text(p)}" for p in entry.body.media]
        lines += [f"    → {_call_text(c)}" for c in entry.body.calls.values()]
        return "\n".join([f"[{label}] {_indent(entry.text)}".rstrip(), *lines])
    if entry.kind in ("update", "state"):
        return _update_text(entry)
    if entry.kind == "interrupt":
        return f"[interrupt] waiting for input: {compact(entry.data, 200)}" + (f"\n    {entry.text}" if entry.text else "")
    if entry.kind == "error":
        error = entry.data or {}
        return f"[error] {error.get('error', 'Error')}: {error.get('message', '')}"
    if entry.kind == "custom":
        return f"[custom {entry.node}]".replace(" ]", "]") + f" {compact(entry.data, 200)}"
    return f"· {entry.text}"


def transcript_text(t: Transcript) -> str:
    """The whole run as plain text: deterministic for a deterministic graph (no IDs, no timings)."""
    where = f"thread {t.thread_var}" if t.thread_var else "stateless"
    usage = t.usage
    lines = [f"{t.assistant} · {where} · {run_status(t)}" + (f" · tokens {tokens_text(usage)}" if usage else "")]
    lines += [entry_text(e) for e in t.entries if not (e.kind == "message" and e.removed)]
    return "\n".join(lines)
