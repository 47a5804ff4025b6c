"""The live view of one run: one small custom widget that the kernel feeds with deltas.

Stock ipywidgets can only replace a value, so streaming text through them resends
what the frontend already has. Here the run is one ``anywidget`` whose state is
the whole run (header, clock, entries); after it is displayed the kernel never
resends that state but sends, once per redraw, one custom message with the
changes: new or changed entries as HTML, and streamed text as appended
characters. The frontend applies them to its copy of the state (so a view
opened later, or a reloaded page asking for the state, draws the same thing).

Entries are drawn by :mod:`lg_magics.render` (``entry_html``, ``header_html``);
a streaming message is its head (``message_head_html``) and a text that grows
by appending (``streaming_text``: reasoning, answer and call arguments so far),
drawn whole by ``entry_html`` when it finishes.

The view redraws at most once per ``interval`` seconds plus a final time, sends
nothing when nothing changed, is displayed once without any ``text/plain`` (saved
notebooks show the run's summary instead, see :func:`lg_magics.runner.show_summary`),
and a view closes its widgets when its run ends and marks its output as closed
(an empty model ID, which frontends hide), so a reopened notebook shows the
summary and no "model not found".
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from functools import lru_cache
from typing import Any, Callable, Optional

from .forms import Field, form_value, resume_forms
from .render import STYLE, compact, entry_html, escape, header_html, message_head_html, streaming_text
from .transcript import PAUSED, WAITING, Entry, Transcript

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"

#: Ends a summary slot's HTML; lg_magics/nbval-sanitize.cfg masks a slot up to it (when a slot fills
#: depends on timing, and nbval never sees the update).
LATE_END = "<!--lgm-late-->"

#: Styles of the live view. The run's summary, saved after it, is hidden while a
#: live view sits in the same output area (a run waiting for an answer keeps its view).
LIVE_STYLE = """
.jp-OutputArea:has(.lgm-live) .jp-OutputArea-child:has(.lgm-summary),
.output:has(.lgm-live) .output_area:has(.lgm-summary){display:none}
.lgm-live .lgm-clock{color:var(--jp-ui-font-color2,#666);font-size:11px;margin-left:6px}
"""

#: The frontend half. ``o`` ops, applied to the state and to every view of it:
#: ["h", html] header; ["t", seconds, running] clock; ["e", i, html] or
#: ["e", i, before, text, after] entry i (a streaming one has its text apart);
#: ["a", i, text] text appended to entry i; ["f", i, before, start, end, after]
#: entry i becomes static: before + its text[start:end], escaped, + after.
_ESM = """
const esc = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const html = (e) => e.length === 1 ? e[0] : e[0] + '<span class="lgm-s">' + esc(e[1]) + "</span>" + e[2];
function apply(st, ops) {
  for (const op of ops) {
    const [k, i] = op;
    if (k === "h") st.h = op[1];
    else if (k === "t") { st.t = [op[1], op[2]]; st.at = Date.now(); }
    else if (k === "e") st.e[i] = op.slice(2);
    else if (k === "a" && st.e[i] && st.e[i].length === 3) st.e[i][1] += op[2];
    else if (k === "f" && st.e[i]) st.e[i] = [op[2] + esc(st.e[i].length === 3 ? st.e[i][1].slice(op[3], op[4]) : "") + op[5]];
  }
}
function entryNode(e) { const d = document.createElement("div"); d.innerHTML = html(e); return d; }
export default {
  initialize({ model }) {
    model.on("msg:custom", (msg) => { if (msg.o) apply(model.get("run"), msg.o); });
  },
  render({ model, el }) {
    el.classList.add("lgm", "lgm-live");
    const head = document.createElement("div"), clock = document.createElement("span"), body = document.createElement("div");
    clock.className = "lgm-clock";
    el.append(head, body);
    // The clock ends the header's first line (the header is drawn by the kernel, the clock ticks here).
    const setHead = (h) => { head.innerHTML = h || ""; (head.querySelector(".lgm-header") || head).append(clock); };
    const tick = () => {
      const st = model.get("run");
      if (!st.t) return;
      const s = st.t[0] + (st.t[1] ? (Date.now() - (st.at || Date.now())) / 1000 : 0);
      clock.textContent = s.toFixed(1) + " s";
    };
    const draw = () => {
      const st = model.get("run");
      setHead(st.h);
      body.replaceChildren(...st.e.map(entryNode));
      tick();
    };
    const update = (msg) => {
      if (!msg.o) return;
      const st = model.get("run");
      for (const op of msg.o) {
        const [k, i] = op;
        if (k === "h") setHead(st.h);
        else if (k === "t") tick();
        else if (k === "a") {
          const span = body.children[i] && body.children[i].querySelector(".lgm-s");
          if (span) span.append(op[2]); else draw();
        } else if (k === "e" || k === "f") {
          const node = entryNode(st.e[i]);
          if (i < body.children.length) body.children[i].replaceWith(node);
          else body.append(node);
        }
      }
    };
    if (!model.get("run").at) model.get("run").at = Date.now();
    draw();
    model.on("msg:custom", update);
    model.on("change:run", draw);
    const timer = setInterval(() => { const st = model.get("run"); if (st.t && st.t[1]) tick(); }, 100);
    return () => { clearInterval(timer); model.off("msg:custom", update); model.off("change:run", draw); };
  },
};
"""


@lru_cache(maxsize=1)
def _live_class() -> type:
    import anywidget
    import traitlets

    css = LIVE_STYLE + STYLE.replace("<style>", "").replace("</style>", "")

    class LiveRun(anywidget.AnyWidget):
        """The run's header, clock and entries. ``run`` is synced once, then changed by custom messages."""

        _esm = _ESM
        _css = css
        run = traitlets.Dict().tag(sync=True)

    return LiveRun


def show_widget(widget: Any) -> str:
    """Display a widget with nothing but its widget view (no ``text/plain`` placeholder in saved
    notebooks); returns the display id that :func:`hide_widget` takes."""
    from IPython.display import display

    display_id = uuid.uuid4().hex
    display({WIDGET_MIME: widget._repr_mimebundle_()[WIDGET_MIME]}, raw=True, display_id=display_id)
    return display_id


def close_widgets(*widgets: Any) -> None:
    """Close widgets and the ``layout`` and ``style`` models ipywidgets made for each: closing a widget
    leaves those alive in the kernel and the frontend."""
    for widget in widgets:
        for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
            if part is not None and hasattr(part, "close"):
                part.close()
        widget.close()


def _tree(widgets: Any) -> Any:
    """Widgets and, first, the widgets inside them (a form in the controls)."""
    for widget in widgets:
        yield from _tree(getattr(widget, "children", ()))
        yield widget


def _form_input(field: Field) -> Any:
    """The input for one field of a resume form; its ``value`` is what :func:`forms.form_value` reads."""
    import ipywidgets as widgets

    common = {
        "description": field.title,
        "tooltip": field.description or None,
        "style": {"description_width": "initial"},
    }
    if field.kind == "boolean" and field.required:
        widget = widgets.Checkbox(value=bool(field.default), indent=False, **common)
    elif field.kind in ("boolean", "choice"):
        choices = (True, False) if field.kind == "boolean" else field.choices
        options = ([] if field.required else [("", None)]) + [(json.dumps(c, ensure_ascii=False).strip('"'), c) for c in choices]
        value = field.default if field.default in choices else options[0][1]
        widget = widgets.Dropdown(options=options, value=value, **common)
    else:
        default = "" if field.default is None else field.default if field.kind == "string" else json.dumps(field.default)
        widget = widgets.Text(
            value=default, placeholder=field.description or field.words, layout=widgets.Layout(width="420px"), **common
        )
    widget.add_class(f"lgm-field-{field.name or 'answer'}")
    return widget


def hide_widget(display_id: str) -> None:
    """Make a closed widget's output say so: an empty model ID, which JupyterLab and Notebook 7 hide,
    so a saved notebook reopened without the widget shows no "Error displaying widget: model not
    found". The output stays a bare widget view, which nbval skips."""
    from IPython.display import update_display

    update_display({WIDGET_MIME: {"model_id": "", "version_major": 2, "version_minor": 0}}, raw=True, display_id=display_id)


class SummarySlot:
    """An output for the summaries of runs that end after their cell did: a background run, a run
    resumed from a view's controls. Displayed (empty) while the cell runs, then filled in place
    through its display id; what a saved notebook shows of those runs, as a foreground run's
    summary is."""

    def __init__(self) -> None:
        self.display_id = uuid.uuid4().hex
        self.parts: list[str] = []

    def bundle(self) -> dict[str, str]:
        return {"text/html": f'<div class="lgm-late">{"".join(self.parts)}</div>{LATE_END}'}

    def show(self) -> None:
        from IPython.display import display

        display(self.bundle(), raw=True, display_id=self.display_id)

    def add(self, transcript: Transcript) -> None:
        from IPython.display import update_display

        from .styles import summary_html

        self.parts.append(summary_html(transcript))
        update_display(self.bundle(), raw=True, display_id=self.display_id)


@dataclasses.dataclass
class _Sent:
    """What the frontend has of one entry."""

    version: int
    html: Optional[str] = None  # a static entry's HTML (None: nothing sent yet)
    before: str = ""  # a streaming entry: its HTML around the text, and the text so far
    text: Optional[str] = None
    after: str = ""


def _split(entry: Entry) -> Optional[tuple[str, str]]:
    """A streaming message's HTML before and after its growing text (:func:`render.streaming_text`:
    reasoning, answer and call arguments so far), or None for an entry drawn whole."""
    if entry.kind != "message" or not entry.streaming or entry.removed:
        return None
    return f'<div class="lgm-turn lgm-{escape(entry.role)}">{message_head_html(entry)}<div class="lgm-text">', "</div></div>"


class RunView:
    """A live widget for one run. Call :meth:`refresh` after each event and :meth:`flush` at the end."""

    def __init__(
        self,
        transcript: Transcript,
        *,
        interval: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        on_stop: Optional[Callable[[], None]] = None,
        on_resume: Optional[Callable[[str], None]] = None,
        on_continue: Optional[Callable[[], None]] = None,
        later: Optional[Callable[[float, Callable[[], None]], Any]] = None,
        close_when_done: bool = False,
        slot: Optional[SummarySlot] = None,
    ) -> None:
        import ipywidgets as widgets

        self.transcript = transcript
        self.on_stop = on_stop
        self.on_resume = on_resume
        self.on_continue = on_continue  # a run paused at a breakpoint: the Continue button
        self.interval = interval
        self.clock = clock
        self.close_when_done = close_when_done  # a summary follows the run (or fills its slot): the view goes
        self.slot = slot  # where this run's summary goes when it ends (a run that ends after its cell)
        self.followup_slot: Optional[SummarySlot] = slot  # where runs resumed from this view report
        self.parent: Optional[RunView] = None
        self.children: list[RunView] = []
        self.display_id: Optional[str] = None  # set when displayed (a view resumed from another is not)
        self._reported = False
        self.started = clock()
        self.ended: Optional[float] = None
        self.flushes = 0
        self.closed = False
        self.hint = ""  # a line under the run while it goes on (a background run: how to wait or stop it)
        self._last = float("-inf")
        self.later = later  # e.g. loop.call_later: redraw what a skipped refresh left, even if no event follows
        self._trailing = False
        self._sent: list[_Sent] = []
        self._header = ""
        self._running: Optional[bool] = None
        self.live = _live_class()(run={"h": "", "t": None, "e": []})
        self.controls = widgets.HBox()
        self.followups = widgets.VBox()  # runs started from this view's controls (resume)
        self.root = widgets.VBox([self.live, self.controls, self.followups], _dom_classes=["lgm"])  # no update after
        self._controls_for: Optional[str] = None
        self.flush()

    def _ipython_display_(self) -> None:
        self.display_id = show_widget(self.root)
        if self.slot is not None:
            self.slot.show()

    @property
    def elapsed(self) -> float:
        return (self.ended if self.ended is not None else self.clock()) - self.started

    def refresh(self) -> bool:
        """Redraw if the last redraw is at least ``interval`` old. True when it redrew."""
        wait = self.interval - (self.clock() - self._last)
        if wait <= 0:
            self.flush()
            return True
        if self.later is not None and not self._trailing:
            self._trailing = True
            self.later(wait, self._flush_trailing)
        return False

    def _flush_trailing(self) -> None:
        self._trailing = False
        self.flush()

    def flush(self) -> None:
        """Redraw now, whatever the interval: at most one message to the frontend."""
        if self.closed:
            return
        t = self.transcript
        if t.finished and self.ended is None:
            self.ended = self.clock()
        self._last = self.clock()
        self.flushes += 1
        state = self.live.run  # changed in place: the frontend gets the same changes as ops
        ops: list[list[Any]] = []
        for index, entry in enumerate(t.entries):
            if index == len(self._sent):
                self._sent.append(_Sent(version=-1))
                state["e"].append([""])
            sent = self._sent[index]
            if entry.version != sent.version:
                sent.version = entry.version
                op = self._entry_op(index, entry, sent)
                if op is not None:
                    ops.append(op)
                    state["e"][index] = [sent.before, sent.text, sent.after] if sent.text is not None else [sent.html]
        # The header after the entries: a frontend that shows "done" has already received the final text.
        header = header_html(t) + (f'<div class="lgm-note">{self.hint}</div>' if self.hint and not t.finished else "")
        if header != self._header:
            self._header = state["h"] = header
            ops.append(["h", header])
        running = not t.finished
        if running != self._running:
            self._running = running
            state["t"] = [round(self.elapsed, 1), running]
            ops.append(["t", *state["t"]])
        if ops:
            self.live.send({"o": ops})
        self._sync_controls()
        if t.finished:
            self._finished()

    def _finished(self) -> None:
        if self.slot is not None and not self._reported:
            self._reported = True
            self.slot.add(self.transcript)
        if self.close_when_done and self._controls_for is None and not any(not c.closed for c in self.children):
            self.close()

    def _entry_op(self, index: int, entry: Entry, sent: _Sent) -> Optional[list[Any]]:
        """The op that brings the frontend's copy of an entry up to date, and the record of it."""
        split = _split(entry)
        if split is not None:
            before, after = split
            text = streaming_text(entry)
            if sent.text is not None and (before, after) == (sent.before, sent.after) and text.startswith(sent.text):
                delta = text[len(sent.text) :]
                sent.text = text
                return ["a", index, delta] if delta else None
            sent.html, sent.before, sent.text, sent.after = None, before, text, after
            return ["e", index, before, text, after]
        html = entry_html(entry)
        streamed = sent.text
        sent.text, sent.before, sent.after = None, "", ""
        if html == sent.html:
            return None
        sent.html = html
        if streamed:
            # A finished stream: the final HTML usually holds the streamed text as it was, so only
            # what surrounds it is sent (Markdown makes a paragraph of plain prose).
            needle = streamed.strip()
            at = html.find(escape(needle)) if needle else -1
            if at >= 0:
                start = len(streamed) - len(streamed.lstrip())
                return ["f", index, html[:at], start, start + len(needle), html[at + len(escape(needle)) :]]
        return ["e", index, html]

    def summary_shown(self) -> None:
        """The run's summary was displayed, in its cell: a run waiting for an answer gets a place under
        it for the summary of what answering from the view starts."""
        if self._controls_for == "resume" and self.followup_slot is None:
            self.followup_slot = SummarySlot()
            self.followup_slot.show()

    def retire(self) -> None:
        """Another run on this run's thread started: a waiting view's Resume field is stale, so the
        view goes (once its run and the runs answered from it have ended)."""
        if self.transcript.finished and not self.closed:
            self.on_resume = None
            self.flush()

    def show_hint(self, hint: str) -> None:
        """A line under the header while the run goes on; it goes when the run ends."""
        self.hint = escape(hint)
        self.flush()

    def _sync_controls(self) -> None:
        """A Stop button while a background run goes on; a resume field when it waits at an interrupt;
        a Continue button when it is paused at a breakpoint."""
        status = self.transcript.status
        wanted = (
            "stop"
            if self.on_stop and not self.transcript.finished
            else "resume"
            if self.on_resume and status == WAITING
            else "continue"
            if self.on_continue and status == PAUSED
            else None
        )
        if wanted == self._controls_for:
            return
        self._controls_for = wanted
        close_widgets(*_tree(self.controls.children))
        controls = {"stop": self._stop_controls, "resume": self._resume_controls, "continue": self._continue_controls}
        self.controls.children = controls[wanted]() if wanted else ()

    def _continue_controls(self) -> tuple[Any, ...]:
        import ipywidgets as widgets

        button = widgets.Button(description="Continue", icon="play", button_style="warning", tooltip="%agent continue")
        button.add_class("lgm-continue-button")

        def go_on(_: Any) -> None:
            button.disabled = True
            if self._call(self.on_continue):
                self.on_continue = None  # the continued run shows below, with its own controls
                self._sync_controls()
            else:
                button.disabled = False

        button.on_click(go_on)
        return (button,)

    def _stop_controls(self) -> tuple[Any, ...]:
        import ipywidgets as widgets

        button = widgets.Button(description="Stop", icon="stop", button_style="danger", tooltip="Cancel this run on the server")
        button.add_class("lgm-stop")
        button.on_click(lambda _: self._call(self.on_stop))
        return (button,)

    def _resume_controls(self) -> tuple[Any, ...]:
        import ipywidgets as widgets

        forms = resume_forms(self.transcript.interrupts)
        button = widgets.Button(description="Resume", icon="play", button_style="warning")
        button.add_class("lgm-resume-button")
        read: Callable[[], str]
        shown: tuple[Any, ...]
        if forms is None:
            field = widgets.Text(placeholder="resume value: text or JSON", layout=widgets.Layout(width="320px"))
            field.add_class("lgm-resume-value")
            read, shown = (lambda: field.value), (field, button)
        else:
            # The interrupt says what it expects: a form, whose value goes as JSON (as --resume would send it).
            inputs = [{f.name: _form_input(f) for f in form.fields} for form in forms]
            read = lambda: json.dumps(  # noqa: E731
                form_value(forms, [{name: w.value for name, w in got.items()} for got in inputs]), ensure_ascii=False
            )
            rows: list[Any] = []
            for interrupt, got in zip(self.transcript.interrupts, inputs):
                if len(inputs) > 1:  # several answers at once: each under what it answers
                    rows.append(widgets.Label(compact(interrupt.get("value"), 80)))
                rows += got.values()
            box = widgets.VBox([*rows, button])
            box.add_class("lgm-resume-form")
            shown = (box,)

        def resume(_: Any) -> None:
            handler = self.on_resume
            button.disabled = True
            if self._call(handler and (lambda: handler(read()))):
                self.on_resume = None  # answered: the resumed run shows below, with its own controls
                self._sync_controls()
            else:
                button.disabled = False

        button.on_click(resume)
        return shown

    def _call(self, handler: Optional[Callable[..., None]], *args: Any) -> bool:
        # Runs in the kernel when a button is clicked; no cell to report to, so errors go in the view.
        if handler is None:
            return False
        try:
            handler(*args)
        except Exception as exc:  # noqa: BLE001
            self.transcript.note(f"{type(exc).__name__}: {exc}")
            self.flush()
            return False
        return True

    def attach(self, view: RunView) -> None:
        """Show another run's view under this one (a run resumed from this view's controls); its
        summary goes to this view's slot when it ends."""
        view.parent, view.slot, view.followup_slot = self, self.followup_slot, self.followup_slot
        view.close_when_done = view.slot is not None
        self.children.append(view)
        self.followups.children = (*self.followups.children, view.root)

    def close(self) -> None:
        """Close every widget of the view; the frontend hides it (and saves it as closed)."""
        if self.closed:
            return
        self.closed = True
        close_widgets(*_tree(self.controls.children), self.live, self.controls, self.followups, self.root)
        if self.display_id is not None:
            hide_widget(self.display_id)
        if self.parent is not None and not self.parent.closed and self.parent.transcript.finished:
            self.parent._finished()  # the last answer ended: the view it came from may go too
