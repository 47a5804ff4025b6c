"""From a cell and its parsed arguments to a run request. Pure: no I/O, no widgets."""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Optional

from .exceptions import AgentUsageError
from .interpolate import interpolate
from .protocol import DEFAULT_STREAM_MODES, MULTITASK_STRATEGIES, STREAM_MODES, run_body
from .settings import check_concurrency
from .variables import DEFAULT_PATTERN, check_name, thread_var_name

ThreadUse = Literal["new", "existing"]


@dataclass(frozen=True)
class CellDefaults:
    """What a cell gets from the settings (AgentMagics) where its flags say nothing."""

    assistant: str = ""
    stream_modes: tuple[str, ...] = DEFAULT_STREAM_MODES
    fail: bool = True
    thread_pattern: str = DEFAULT_PATTERN


@dataclass(frozen=True)
class RunRequest:
    """Everything needed to start one run, and where its outputs go."""

    assistant: str
    input: Any = None
    command: Optional[dict[str, Any]] = None
    shown_input: str = ""
    stream_modes: tuple[str, ...] = DEFAULT_STREAM_MODES
    config: Optional[dict[str, Any]] = None
    context: Optional[dict[str, Any]] = None
    metadata: Optional[dict[str, Any]] = None
    multitask: Optional[str] = None
    stateless: bool = False
    wait: bool = False
    background: bool = False
    thread_var: Optional[str] = None
    new_thread: bool = False
    out: Optional[str] = None
    fail: bool = True

    def body(self, *, thread: Optional[ThreadUse] = None, assistant_id: Optional[str] = None) -> dict[str, Any]:
        """The RunCreate body. ``thread``: the run creates its thread (``new``), continues one
        (``existing``), or has none (stateless).

        A thread run's stream is resumable, so a dropped connection can rejoin without losing or
        repeating events, and it goes on when we hang up (we cancel it by its id). A run without a
        thread has no id to cancel by, and ``--wait`` has no stream to rejoin: the server cancels
        those when we hang up. ``on_disconnect`` is always said: servers differ in their default.
        A stateless stream also carries ``values``: its thread is gone after the run, so the stream
        is the only place for its final state and interrupts."""
        modes = None
        if not self.wait:
            modes = list(self.stream_modes)
            if self.stateless and "values" not in modes:
                modes.append("values")
        body = run_body(
            assistant_id or self.assistant,
            input=self.input,
            command=self.command,
            stream_modes=modes,
            config=self.config,
            context=self.context,
            metadata=self.metadata,
            multitask_strategy=None if self.stateless else self.multitask,
            stream_resumable=thread is not None and not self.wait,
            on_disconnect="cancel" if thread is None or self.wait else "continue",
        )
        if thread == "new":
            body["if_not_exists"] = "create"
        return body


def json_argument(text: Optional[str], flag: str, namespace: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """A JSON object (or Python literal) given inline, or the name of a notebook variable holding a dict."""
    if text is None:
        return None
    text = text.strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        # IPython splits magic arguments keeping the quotes: --context '{"delay": 0.2}'.
        text = text[1:-1]
    if text.isidentifier() and text in namespace:
        value = namespace[text]
    else:
        try:
            value = parse_literal(text)
        except ValueError:
            raise AgentUsageError(
                f"{flag} takes a JSON object such as '{{\"key\": 1}}' or the name of a dict variable, not {text!r}."
            ) from None
    if not isinstance(value, dict):
        raise AgentUsageError(f"{flag} needs a JSON object (a dict), got {type(value).__name__}.")
    return value


def parse_literal(text: str) -> Any:
    """JSON, else a Python literal (single quotes, True/None, a trailing comma); ValueError if neither
    or if the value cannot travel as JSON (a set, bytes)."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    except ValueError:
        try:
            value = ast.literal_eval(text)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
            raise ValueError(str(exc)) from None
        try:
            json.dumps(value)
        except (TypeError, ValueError, RecursionError) as exc:
            raise ValueError(str(exc)) from None
    return value


def json_input(text: str) -> Any:
    """The cell of ``--json``: the graph's input as JSON or a Python literal."""
    try:
        return parse_literal(text)
    except ValueError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "not JSON"
        raise AgentUsageError(
            f'--json: the cell is not a JSON value or Python literal ({reason}); write the input like {{"text": "hello"}}.'
        ) from None


def cell_input(text: str, *, as_json: bool = False) -> Any:
    """The run input for a cell: one human message, or with ``--json`` the value the cell spells."""
    return json_input(text) if as_json else {"messages": [{"role": "human", "content": text}]}


def resume_value(text: str) -> Any:
    """The cell as a resume value: JSON when it parses as JSON (``true``, ``{"approved": false}``), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text.strip()


#: Flags that make no sense for ``--map``'s stateless runs shown only as a progress bar.
_NOT_WITH_MAP = (
    ("thread", "--thread"),
    ("new", "--new"),
    ("multitask", "--multitask"),
    ("resume", "--resume"),
    ("background", "--background"),
    ("wait", "--wait"),
)


def check_flags(args: Any) -> None:
    """Every rule about which flags of ``%%agent`` go together, in one place."""
    if getattr(args, "map", None):
        if args.concurrency is not None:
            check_concurrency(args.concurrency, "--concurrency")
        for attribute, flag in _NOT_WITH_MAP:
            if getattr(args, attribute, None):
                raise AgentUsageError(f"--map runs are stateless and shown as a progress bar: drop {flag}.")
    elif getattr(args, "concurrency", None) is not None:
        raise AgentUsageError("--concurrency sets how many --map runs go at once: add --map VAR, or drop it.")
    if getattr(args, "quiet", False) and args.background:
        raise AgentUsageError("--quiet shows nothing and --background shows the run while you work: choose one.")
    for mode in args.stream_mode or ():
        if mode not in STREAM_MODES:
            raise AgentUsageError(f"Unknown stream mode {mode!r}; choose from: {', '.join(STREAM_MODES)}.")
    if args.multitask and args.multitask not in MULTITASK_STRATEGIES:
        raise AgentUsageError(f"--multitask takes one of: {', '.join(MULTITASK_STRATEGIES)}.")
    if args.stateless and (args.thread or args.new):
        raise AgentUsageError("--stateless runs without a thread: drop --thread/--new, or drop --stateless.")
    if args.stateless and args.multitask:
        raise AgentUsageError("--multitask applies to thread runs only: drop it or drop --stateless.")
    if args.resume and (args.stateless or args.new):
        raise AgentUsageError("--resume continues the interrupted run on the thread variable's thread: drop --stateless/--new.")
    if args.background and args.wait:
        raise AgentUsageError("--background streams while you work and --wait blocks: choose one (then %agent wait).")


def build_request(args: Any, cell: str, namespace: Mapping[str, Any], defaults: CellDefaults = CellDefaults()) -> RunRequest:
    """Build the request of a cell whose flags passed :func:`check_flags` (``--map``: one item's)."""
    assistant = (args.assistant or defaults.assistant or "").strip()
    if not assistant:
        raise AgentUsageError(
            "Name the assistant: %%agent ASSISTANT (a graph name such as chat, or an assistant ID), "
            "or set %config AgentMagics.default_assistant."
        )
    text = cell.strip("\n")
    if not text.strip():
        raise AgentUsageError(f"The cell is empty: write the message to send below %%agent {assistant}.")
    if not getattr(args, "no_interpolate", False):
        text = interpolate(text, namespace)
    config = json_argument(args.config, "--config", namespace)
    context = json_argument(args.context, "--context", namespace)
    if config and config.get("configurable") and context:
        raise AgentUsageError("The server refuses config.configurable together with --context: pass only one of them.")
    stateless = bool(args.stateless or getattr(args, "map", None))
    thread_var = None
    if not stateless:
        thread_var = check_name(args.thread, "--thread") if args.thread else thread_var_name(assistant, defaults.thread_pattern)
    command = {"resume": resume_value(text)} if args.resume else None
    return RunRequest(
        assistant=assistant,
        input=None if command else cell_input(text, as_json=getattr(args, "json", False)),
        command=command,
        shown_input=text,
        stream_modes=tuple(args.stream_mode or defaults.stream_modes),
        config=config,
        context=context,
        metadata=json_argument(args.metadata, "--metadata", namespace),
        multitask=args.multitask,
        stateless=stateless,
        wait=args.wait,
        background=args.background,
        thread_var=thread_var,
        new_thread=args.new,
        out=check_name(args.out, "--out") if args.out else None,
        fail=defaults.fail and not args.no_fail,
    )
