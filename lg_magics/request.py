"""From a cell and its parsed arguments to a run request. Pure: no I/O, no widgets."""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, Optional

from .checkpoints import parse_breakpoints
from .exceptions import AgentUsageError
from .interpolate import interpolate
from .protocol import DEFAULT_STREAM_MODES, MULTITASK_STRATEGIES, STREAM_MODES, run_body
from .settings import check_concurrency
from .variables import DEFAULT_PATTERN, check_name, thread_var_name

ThreadUse = Literal["new", "existing"]
#: Where a thread run's metadata carries the id of the request that created it.
REQUEST_KEY = "lg_magics_request"


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
    shown_input: Any = ""  # the cell's text, or the content of a --json input's last human message
    stream_modes: tuple[str, ...] = DEFAULT_STREAM_MODES
    config: Optional[dict[str, Any]] = None
    context: Optional[dict[str, Any]] = None
    metadata: Optional[dict[str, Any]] = None
    multitask: Optional[str] = None
    stateless: bool = False
    wait: bool = False
    subgraphs: bool = False
    background: bool = False
    thread_var: Optional[str] = None
    new_thread: bool = False
    out: Optional[str] = None
    fail: bool = True
    #: Start from this checkpoint (a step number on the thread's current branch, or an ID): a fork.
    checkpoint: Optional[str] = None
    #: Breakpoints: a list of nodes, or "*".
    interrupt_before: Any = None
    interrupt_after: Any = None
    #: Refuse a resume that answers no waiting interrupt (only where the server's /info says it can).
    strict_resume: bool = False

    def body(
        self,
        *,
        thread: Optional[ThreadUse] = None,
        assistant_id: Optional[str] = None,
        checkpoint_id: Optional[str] = None,
        request_id: Optional[str] = None,
    ) -> dict[str, Any]:
        """The RunCreate body. ``thread``: the run creates its thread (``new``), continues one
        (``existing``), or has none (stateless).

        A thread run's stream is resumable, so a dropped connection can rejoin without losing or
        repeating events, and it goes on when we hang up (we cancel it by its id). A run without a
        thread has no id to cancel by, and ``--wait`` has no stream to rejoin: the server cancels
        those when we hang up. ``on_disconnect`` is always said: servers differ in their default.
        A stateless stream also carries ``values``: its thread is gone after the run, so the stream
        is the only place for its final state and interrupts. Every stream carries ``tasks``, the one
        mode that says when a node starts (tokens tell only for nodes that call a model), so the live
        view names the node running now; the transcript shows those events only when asked for. A thread run's metadata carries
        ``request_id``, which finds the run when an interrupt came before the server answered."""
        modes = None
        if not self.wait:
            modes = list(self.stream_modes)
            if self.stateless and "values" not in modes:
                modes.append("values")
            if "tasks" not in modes and "debug" not in modes:
                modes.append("tasks")  # when each node starts: the view says which runs now (not shown otherwise)
        body = run_body(
            assistant_id or self.assistant,
            input=self.input,
            command=self.command,
            stream_modes=modes,
            config=self.config,
            context=self.context,
            metadata={**(self.metadata or {}), REQUEST_KEY: request_id} if thread and request_id else self.metadata,
            multitask_strategy=None if self.stateless else self.multitask,
            stream_resumable=thread is not None and not self.wait,
            on_disconnect="cancel" if thread is None or self.wait else "continue",
            stream_subgraphs=self.subgraphs and not self.wait,
        )
        if thread == "new":
            body["if_not_exists"] = "create"
        if thread == "existing" and self.input is None and self.command is None and not checkpoint_id:
            # Going on from where the thread stands (%agent continue). Aegra refuses a run with neither
            # input, command nor checkpoint (and fails on an empty command); an empty checkpoint is the
            # current one to both.
            body["checkpoint"] = {}
        if checkpoint_id:
            # The session resolves ``checkpoint`` to an ID. langgraph-api takes ``checkpoint_id`` or
            # ``checkpoint``; Aegra only ``checkpoint``.
            body["checkpoint"] = {"checkpoint_id": checkpoint_id}
        for key in ("interrupt_before", "interrupt_after"):
            if getattr(self, key):
                body[key] = getattr(self, key)
        if self.command and self.strict_resume:
            body["strict_resume"] = True
        return body


def check_sendable(value: Any, where: str) -> Any:
    """``value`` if a request can carry it as JSON; else one line saying what is in the way
    (a datetime, NaN, a circular reference, a lone surrogate in a text)."""
    found: list[str] = []

    def refuse(obj: Any) -> Any:
        found.append(type(obj).__name__)
        raise TypeError

    try:
        json.dumps(value, allow_nan=False, ensure_ascii=False, default=refuse).encode("utf-8")
    except TypeError:
        kind = found[0] if found else "value"
        raise AgentUsageError(
            f"{where} holds a {kind}, which JSON cannot carry: convert it first (e.g. str(value), or .isoformat() for a date)."
        ) from None
    except UnicodeEncodeError as exc:
        char = exc.object[exc.start : exc.end] if isinstance(exc.object, str) else ""
        raise AgentUsageError(
            f"{where} has a character that is not valid text ({char!a}, a lone surrogate): remove it, or decode the text properly."
        ) from None
    except (ValueError, RecursionError) as exc:
        reason = "NaN or Infinity" if "float" in str(exc) else "a value that contains itself"
        raise AgentUsageError(f"{where} holds {reason}, which JSON cannot carry.") from None
    return value


def json_argument(text: Optional[str], flag: str, namespace: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """A JSON object (or Python literal) given inline, or the name of a notebook variable holding a dict."""
    if text is None:
        return None
    text = text.strip()
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"":
        # IPython splits magic arguments keeping the quotes: --context '{"delay": 0.2}'.
        text = text[1:-1]
    named = text.isidentifier() and text in namespace
    if named:
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
    return check_sendable(value, f"{flag} {text}" if named else flag)


def parse_literal(text: str) -> Any:
    """JSON, else a Python literal (single quotes, True/None, a trailing comma); ValueError if neither
    or if the value cannot travel as JSON (a set, bytes)."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
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


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


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


def shown_input(value: Any, text: str) -> Any:
    """What the view shows of a ``--json`` input: the content of its last human message (text and
    images, never base64 as text), else the cell as written."""
    messages = value.get("messages") if isinstance(value, dict) else value if isinstance(value, list) else None
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict):
        last = messages[-1]
        if str(last.get("role") or last.get("type")) in ("human", "user") and "content" in last:
            return last["content"]
    return text


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
    ("checkpoint", "--checkpoint"),
    ("interrupt_before", "--interrupt-before"),
    ("interrupt_after", "--interrupt-after"),
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
    checkpoint = getattr(args, "checkpoint", None)
    if args.stateless and (checkpoint or getattr(args, "interrupt_before", None) or getattr(args, "interrupt_after", None)):
        raise AgentUsageError(
            "--checkpoint and breakpoints need the thread's checkpoints: drop --stateless (the thread variable keeps the thread)."
        )
    if args.wait and (getattr(args, "interrupt_before", None) or getattr(args, "interrupt_after", None)):
        raise AgentUsageError("--wait shows only the final values, not where a breakpoint paused the run: drop --wait.")
    if checkpoint and args.new:
        raise AgentUsageError("--checkpoint forks the thread in the thread variable, and --new starts another: choose one.")
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
    run_input = None if command else cell_input(text, as_json=getattr(args, "json", False))
    check_sendable(command or run_input, "The cell")
    return RunRequest(
        assistant=assistant,
        input=run_input,
        command=command,
        shown_input=shown_input(run_input, text) if getattr(args, "json", False) and not command else text,
        stream_modes=tuple(args.stream_mode or defaults.stream_modes),
        config=config,
        context=context,
        metadata=json_argument(args.metadata, "--metadata", namespace),
        multitask=args.multitask,
        stateless=stateless,
        wait=args.wait,
        subgraphs=getattr(args, "subgraphs", False),
        background=args.background,
        thread_var=thread_var,
        new_thread=args.new,
        out=check_name(args.out, "--out") if args.out else None,
        fail=defaults.fail and not args.no_fail,
        checkpoint=getattr(args, "checkpoint", None),
        interrupt_before=parse_breakpoints(getattr(args, "interrupt_before", None)),
        interrupt_after=parse_breakpoints(getattr(args, "interrupt_after", None)),
    )


def thread_request(
    assistant: str,
    thread_var: str,
    shown: str,
    defaults: CellDefaults = CellDefaults(),
    *,
    checkpoint: Optional[str] = None,
    interrupt_before: Any = None,
    interrupt_after: Any = None,
    background: bool = False,
    out: Optional[str] = None,
) -> RunRequest:
    """A run with no new input on a thread (``%agent rerun``, ``%agent continue``): it goes on from
    the thread's current checkpoint, or from ``checkpoint``. ``shown`` is what its view says it is."""
    return RunRequest(
        assistant=assistant,
        shown_input=shown,
        stream_modes=defaults.stream_modes,
        background=background,
        thread_var=thread_var,
        out=check_name(out, "--out") if out else None,
        fail=defaults.fail,
        checkpoint=checkpoint,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
    )
