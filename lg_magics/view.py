"""The live ipywidgets view of one run.

It redraws from a :class:`~lg_magics.transcript.Transcript`, at most once per
``interval`` seconds plus a final time, and only what changed (each entry has
a version). Streaming text grows by appending: the text goes into a short tail
widget; a full tail is frozen and a new one started, so each update resends at
most one segment instead of the whole message.

The view is displayed once with a fixed ``text/plain`` (no IDs, no timings),
and never prints, so saved notebooks stay stable under nbval.
"""

from __future__ import annotations

import time
from functools import lru_cache
from typing import Any, Callable, Optional

from .render import STYLE, entry_html, escape, header_html, message_head_html
from .transcript import PAUSED, WAITING, Entry, Transcript

#: Characters per frozen segment of a streaming message.
SEGMENT = 2048

#: Extra styles for the live view. The summary saved after a run is hidden
#: where a live view sits in the same output area, so JupyterLab shows the run
#: once; without a widget manager (GitHub, nbconvert) the summary shows.
LIVE_STYLE = """<style>
.jp-OutputArea:has(.lgm-live) .jp-OutputArea-child:has(.lgm-summary),
.output:has(.lgm-live) .output_area:has(.lgm-summary){display:none}
.lgm-stream{display:block!important}
.lgm-stream>.widget-html,.lgm-stream>.jupyter-widget-html{display:inline!important;height:auto!important;margin:0!important;padding:0!important}
.lgm-stream .widget-html-content{display:inline!important;line-height:inherit!important}
.lgm-live .widget-html-content{line-height:1.45}
.lgm-seg{white-space:pre-wrap;word-break:break-word}
</style>"""


@lru_cache(maxsize=1)
def _box_class() -> type:
    import ipywidgets as widgets

    class RunBox(widgets.VBox):
        """A VBox whose ``text/plain`` is fixed, so the saved output never changes."""

        plain = "<lg_magics run>"

        def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
            data = super()._repr_mimebundle_(**kwargs)
            data["text/plain"] = self.plain
            return data

    return RunBox


class _EntryView:
    """The widgets of one entry. Messages that stream get a box of text segments."""

    def __init__(self, entry: Entry) -> None:
        import ipywidgets as widgets

        self._widgets = widgets
        self.version = -1
        self.streaming = False
        self.segments: list[Any] = []
        self.tail_start = 0
        self.widget: Any = widgets.HTML()

    def sync(self, entry: Entry) -> bool:
        """Redraw if the entry changed. True when the top-level widget was replaced."""
        if entry.version == self.version:
            return False
        self.version = entry.version
        if entry.kind == "message" and entry.streaming:
            replaced = not self.streaming
            if replaced:
                self._start_stream(entry)
            self._append(entry.text)
            return replaced
        if self.streaming:
            self.close()
            self.streaming = False
            self.segments = []
            self.widget = self._widgets.HTML(entry_html(entry))
            return True
        self.widget.value = entry_html(entry)
        return False

    def _start_stream(self, entry: Entry) -> None:
        widgets = self._widgets
        self.streaming = True
        self.tail_start = 0
        self.segments = [widgets.HTML()]
        stream = widgets.Box(self.segments)
        stream.add_class("lgm-stream")
        old = self.widget
        self.widget = widgets.VBox([widgets.HTML(message_head_html(entry)), stream])
        self.widget.add_class("lgm-turn")
        self.widget.add_class(f"lgm-{entry.role}")
        self._stream_box = stream
        old.close()

    def _append(self, text: str) -> None:
        tail = text[self.tail_start :]
        frozen = len(self.segments)
        while len(tail) > SEGMENT:
            cut = max(tail.rfind("\n", 0, SEGMENT), tail.rfind(" ", 0, SEGMENT)) + 1 or SEGMENT
            self.segments[-1].value = _segment(tail[:cut])
            self.tail_start += cut
            tail = tail[cut:]
            self.segments.append(self._widgets.HTML())
        if len(self.segments) != frozen:
            self._stream_box.children = tuple(self.segments)
        self.segments[-1].value = _segment(tail)

    def close(self) -> None:
        for segment in self.segments:
            segment.close()
        for child in getattr(self.widget, "children", ()):
            child.close()  # the role line and the segments' box
        self.widget.close()


def _segment(text: str) -> str:
    return f'<span class="lgm-seg">{escape(text)}</span>'


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
        later: Optional[Callable[[float, Callable[[], None]], Any]] = None,
        on_continue: Optional[Callable[[], None]] = None,
    ) -> None:
        import ipywidgets as widgets

        self.transcript = transcript
        self.on_stop = on_stop
        self.on_resume = on_resume
        self.on_continue = on_continue  # a run paused at a breakpoint: the Continue button
        self.interval = interval
        self.clock = clock
        self.started = clock()
        self.ended: Optional[float] = None
        self.flushes = 0
        self._last = float("-inf")
        self.later = later  # e.g. loop.call_later: redraw what a skipped refresh left, even if no event follows
        self._trailing = False
        self._views: list[_EntryView] = []
        self.style = widgets.HTML(LIVE_STYLE + STYLE)  # sent once, not with every header update
        self.header = widgets.HTML()
        self.body = widgets.VBox()
        self.controls = widgets.HBox()
        self.followups = widgets.VBox()  # runs started from this view's controls (resume)
        self.root = _box_class()([self.style, self.header, self.body, self.controls, self.followups])
        self._controls_for: Optional[str] = None
        self.root.plain = f"<lg_magics run: {transcript.assistant}>"
        self.root.add_class("lgm")
        self.root.add_class("lgm-live")
        self.flush()

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        return self.root._repr_mimebundle_(**kwargs)

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
        """Redraw now, whatever the interval."""
        t = self.transcript
        if t.finished and self.ended is None:
            self.ended = self.clock()
        self._last = self.clock()
        self.flushes += 1
        changed = False
        for index, entry in enumerate(t.entries):
            if index == len(self._views):
                self._views.append(_EntryView(entry))
                changed = True
            changed |= self._views[index].sync(entry)
        if changed:
            self.body.children = tuple(v.widget for v in self._views)
        # The header last: a frontend that shows "done" has already received the final text.
        self.header.value = header_html(t, self.elapsed)
        self._sync_controls()

    def _sync_controls(self) -> None:
        """A Stop button while a background run goes on; a resume field when it waits at an interrupt."""
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
        for child in self.controls.children:
            child.close()
        if wanted == "continue":
            self.controls.children = self._continue_controls()
            return
        self.controls.children = (
            self._stop_controls() if wanted == "stop" else self._resume_controls() if wanted == "resume" else ()
        )

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

        field = widgets.Text(placeholder="resume value: text or JSON", layout=widgets.Layout(width="320px"))
        field.add_class("lgm-resume-value")
        button = widgets.Button(description="Resume", icon="play", button_style="warning")
        button.add_class("lgm-resume-button")

        def resume(_: Any) -> None:
            button.disabled = True
            if self._call(self.on_resume, field.value):
                self.on_resume = None  # answered: the resumed run shows below, with its own controls
                self._sync_controls()
            else:
                button.disabled = False

        button.on_click(resume)
        return (field, button)

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
        """Show another run's view under this one (a run resumed from this view's controls)."""
        self.followups.children = (*self.followups.children, view.root)

    def close(self) -> None:
        for view in self._views:
            view.close()
        for widget in (*self.controls.children, self.style, self.header, self.body, self.controls, self.followups):
            widget.close()
        self.root.close()
