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

from .transcript import CANCELLED, ERROR, PENDING, RUNNING, SUCCESS, WAITING, Entry, Transcript, compact

STATUS_LABELS = {
    PENDING: "queued",
    RUNNING: "running",
    SUCCESS: "done",
    WAITING: "waiting for input",
    ERROR: "failed",
    CANCELLED: "cancelled",
}
_STATUS_COLORS = {
    PENDING: "#6b7280",
    RUNNING: "#2563eb",
    SUCCESS: "#15803d",
    WAITING: "#b45309",
    ERROR: "#b91c1c",
    CANCELLED: "#6b7280",
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
</style>"""


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


def header_html(t: Transcript, elapsed: float | None = None) -> str:
    parts = [f"<b>{escape(t.assistant)}</b>"]
    parts.append(f"thread <code>{escape(t.thread_var)}</code>" if t.thread_var else "stateless")
    color = _STATUS_COLORS.get(t.status, "#6b7280")
    parts.append(f'<span class="lgm-badge" style="background:{color}">{escape(status_label(t.status))}</span>')
    if elapsed is not None:
        parts.append(f"{elapsed:.1f} s")
    if t.silent and not t.finished:
        parts.append(f"no event for {t.silent} s")
    return '<div class="lgm-header">' + " · ".join(parts) + "</div>"


def _role_label(entry: Entry) -> str:
    if entry.role == "human":
        return "you" if entry.is_input else "human"
    if entry.role == "tool":
        return f"tool {entry.name}".strip()
    return " · ".join(p for p in (entry.role, entry.node) if p)


def _call_text(call: dict[str, Any]) -> str:
    args = call.get("args")
    if isinstance(args, dict):
        args = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False, default=str)}" for k, v in args.items())
    return f"{call.get('name') or '?'}({compact(args or '', 120)})"


def _json_block(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, indent=2, default=str, sort_keys=True)
    return f"<pre>{escape(text)}</pre>"


def message_body_html(entry: Entry) -> str:
    """The text part of a message. Streaming text is escaped plain text; finished AI text is Markdown."""
    if not entry.text:
        return ""
    if entry.role == "ai" and not entry.streaming:
        return f'<div class="lgm-md">{markdown_html(entry.text)}</div>'
    return f'<div class="lgm-text">{escape(entry.text)}</div>'


def message_head_html(entry: Entry) -> str:
    return f'<div class="lgm-role">{escape(_role_label(entry))}</div>'


def calls_html(entry: Entry) -> str:
    return "".join(f'<div class="lgm-call">→ {escape(_call_text(c))}</div>' for c in entry.tool_calls)


def entry_html(entry: Entry) -> str:
    if entry.kind == "message":
        inner = message_head_html(entry) + message_body_html(entry) + calls_html(entry)
        return f'<div class="lgm-turn lgm-{escape(entry.role)}">{inner}</div>'
    if entry.kind == "update":
        return f'<div class="lgm-update">{escape(_update_text(entry))}</div>'
    if entry.kind == "interrupt":
        return f'<div class="lgm-interrupt"><b>Interrupt: waiting for input</b>{_json_block(entry.data)}</div>'
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
    return f"✓ {entry.node}" + (f" → {fields}" if fields else "")


def transcript_html(t: Transcript) -> str:
    """The whole run as static HTML, for the saved notebook."""
    body = "".join(entry_html(e) for e in t.entries)
    return f'{STYLE}<div class="lgm lgm-summary">{header_html(t)}{body}</div>'


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")


def entry_text(entry: Entry) -> str:
    if entry.kind == "message":
        lines = [f"[{_role_label(entry)}] {_indent(entry.text)}".rstrip()]
        lines += [f"    → {_call_text(c)}" for c in entry.tool_calls]
        return "\n".join(lines)
    if entry.kind == "update":
        return _update_text(entry)
    if entry.kind == "interrupt":
        return f"[interrupt] waiting for input: {compact(entry.data, 200)}"
    if entry.kind == "error":
        error = entry.data or {}
        return f"[error] {error.get('error', 'Error')}: {error.get('message', '')}"
    if entry.kind == "custom":
        return f"[custom {entry.node}]".replace(" ]", "]") + f" {compact(entry.data, 200)}"
    return f"· {entry.text}"


def transcript_text(t: Transcript) -> str:
    """The whole run as plain text: deterministic for a deterministic graph (no IDs, no timings)."""
    where = f"thread {t.thread_var}" if t.thread_var else "stateless"
    lines = [f"{t.assistant} · {where} · {status_label(t.status)}"]
    lines += [entry_text(e) for e in t.entries]
    return "\n".join(lines)
