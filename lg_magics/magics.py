"""The ``%agent`` line magic and ``%%agent`` cell magic: glue, nothing else.

Arguments are declared with IPython's ``magic_arguments`` so ``%%agent?``
prints usage. Parsing, protocol, rendering, the server and variables each
live in their own module.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Optional

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Dict, Float, Int, List, Unicode, Union, validate

from .environment import AUTH_TOKEN_ENV, HEADERS_ENV, URL_ENV, VERIFY_ENV
from .exceptions import AgentUsageError
from .protocol import DEFAULT_STREAM_MODES, MULTITASK_STRATEGIES, STREAM_MODES, api_key_from_env, api_keys_from_env
from .variables import DEFAULT_PATTERN

#: Settings whose values are secrets: `%config AgentMagics` does not print them.
SECRET_SETTINGS = ("auth_token", "headers")

COMMANDS = (
    "serve",
    "stop",
    "connect",
    "info",
    "runs",
    "wait",
    "cancel",
    "record",
    "assistants",
    "threads",
    "state",
    "history",
    "graph",
    "rerun",
    "continue",
    "store",
)
ASSISTANT_ACTIONS = ("create", "update", "versions", "use", "delete")
STORE_ACTIONS = ("namespaces", "search", "get", "put", "delete")
#: Commands whose method has another name (``continue`` is a Python keyword).
METHODS = {"continue": "continue_"}


def parse(func: Callable[..., Any], line: str) -> Any:
    """Parse ``line`` with ``func``'s magic arguments; None after ``--help`` was printed."""
    if {"-h", "--help"} & set(line.split()):
        print(func.parser.format_help().rstrip())  # type: ignore[attr-defined]  # set by @magic_arguments
        return None
    try:
        return parse_argstring(func, line)
    except UsageError as exc:
        hint = " Quote JSON that has spaces: --context '{\"delay\": 0.1}'." if "{" in line and "unrecognized" in str(exc) else ""
        raise AgentUsageError(f"{exc}.{hint} See %agent? for usage.") from None
    except ValueError as exc:  # shlex: an unclosed quote
        raise AgentUsageError(f"{exc} in {line.strip()!r}: close the quote, or escape it with a backslash.") from None


def _loop_running() -> bool:
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def display(obj: Any) -> None:
    from IPython.display import display as ipython_display

    if isinstance(obj, dict):
        ipython_display(obj, raw=True)
    else:
        ipython_display(obj)


@magics_class
class AgentMagics(Magics):
    """Run assistants on a LangGraph Agent Server from notebook cells."""

    url = Unicode(
        "",
        help=f"Agent Server URL. Empty: ${URL_ENV}, else the embedded server (started on first use).",
    ).tag(config=True)
    thread_pattern = Unicode(
        DEFAULT_PATTERN, help="Name of the variable holding an assistant's thread ID ($LG_MAGICS_THREAD_PATTERN)."
    ).tag(config=True)
    update_interval = Float(0.05, help="Seconds between redraws of a live view, coalesced ($LG_MAGICS_UPDATE_INTERVAL).").tag(
        config=True
    )
    fail_on_error = Bool(
        True, help="A failed run fails the cell; --no-fail overrides it per cell ($LG_MAGICS_FAIL_ON_ERROR)."
    ).tag(config=True)
    default_assistant = Unicode("", help="Assistant of a %%agent cell that names none ($LG_MAGICS_ASSISTANT).").tag(config=True)
    stream_modes = List(
        Unicode(), list(DEFAULT_STREAM_MODES), help="Stream modes of a cell without --stream-mode ($LG_MAGICS_STREAM_MODES)."
    ).tag(config=True)
    concurrency = Int(4, help="Runs at once for --map without --concurrency ($LG_MAGICS_CONCURRENCY).").tag(config=True)
    auth_token = Unicode("", help=f"Sent as Authorization: Bearer; never shown (${AUTH_TOKEN_ENV}).").tag(config=True)
    headers = Dict(
        value_trait=Unicode(), help=f"Headers added to every request; values never shown (${HEADERS_ENV}, a JSON object)."
    ).tag(config=True)
    verify = Union(
        [Bool(), Unicode()], default_value=True, help=f"TLS verification: True, False, or a CA bundle path (${VERIFY_ENV})."
    ).tag(config=True)

    @classmethod
    def class_get_trait_help(cls, trait: Any, inst: Any = None, helptext: Optional[str] = None) -> str:
        # `%config AgentMagics` prints each setting's current value: never a token's or a header's.
        return super().class_get_trait_help(trait, None if trait.name in SECRET_SETTINGS else inst, helptext)

    @validate("stream_modes", "concurrency", "update_interval", "thread_pattern", "headers", "verify")
    def _check_setting(self, proposal: Any) -> Any:
        from . import settings

        checks: dict[str, Callable[[Any, str], Any]] = {
            "stream_modes": settings.check_stream_modes,
            "concurrency": settings.check_concurrency,
            "update_interval": settings.check_interval,
            "thread_pattern": settings.check_pattern,
            "headers": settings.check_headers,
            "verify": settings.check_verify,
        }
        from .exceptions import BadSetting

        try:
            return checks[proposal.trait.name](proposal.value, f"AgentMagics.{proposal.trait.name}")
        except AgentUsageError as exc:
            raise BadSetting(f"{str(exc).rstrip('.')}; the setting is unchanged.") from None

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        from .settings import from_env

        for name, value in from_env(os.environ).items():
            if name not in self.config.AgentMagics:  # ipython_config.py and %config win over the environment
                setattr(self, name, value)
        from .schemas import InputSchemas

        self.input_schemas = InputSchemas()
        from .background import BackgroundRuns
        from .connection import Connection

        self.connection = Connection(self.access)
        self.background = BackgroundRuns()
        self.views: dict[str, Any] = {}  # the latest view of each thread variable, retired by the next run
        self.server_flags: dict[str, dict[str, Any]] = {}  # /info "flags" by server URL, read on the first resume
        # Thread ID -> (run ID, interrupt_before, interrupt_after) of the last run this kernel started on
        # it: %agent continue keeps a run's breakpoints, and a server that keeps no run arguments says none.
        self.sent_breakpoints: dict[str, tuple[Optional[str], Any, Any]] = {}

    @property
    def user_ns(self) -> dict[str, Any]:
        assert self.shell is not None, "AgentMagics needs a shell"
        return self.shell.user_ns

    @property
    def hidden_names(self) -> dict[str, Any]:
        assert self.shell is not None, "AgentMagics needs a shell"
        return self.shell.user_ns_hidden

    # -- connection ------------------------------------------------------------------------------
    def current_url(self) -> str:
        return self.url or os.environ.get(URL_ENV, "")

    def access(self) -> Any:
        """How requests authenticate, from the settings and the SDK's API key variables (read at each use)."""
        from .client import Access

        headers = tuple(sorted(self.headers.items()))
        return Access(api_key_from_env(), self.auth_token.strip() or None, headers, self.verify)

    def client(self) -> Any:
        """The client for the current connection; starts the embedded server if there is none."""
        url = self.current_url()
        if not url:
            url = self.url = self.connection.serve(None, None)
            print(f"Started the embedded Agent Server with the demo graphs ({', '.join(self.connection.graphs)}).")
        return self.connection.client(url)

    def async_client(self) -> Any:
        return self.connection.async_client(self.client().base_url)

    def _stop_server(self) -> bool:
        url = self.connection.stop()
        if url is not None and self.url == url:
            self.url = ""
        return url is not None

    def close(self) -> None:
        """Stop what this kernel started: background tasks, the embedded server and open connections."""
        self.background.stop_all()
        self._stop_server()
        self.connection.close()

    # -- the magic -------------------------------------------------------------------------------
    @magic_arguments(name="%agent")  # usage reads %%agent
    @argument("assistant", nargs="?", help="Assistant: a graph name (e.g. chat), an assistant name or an assistant ID.")
    @argument("--thread", metavar="VAR", help="Variable holding the thread ID (default: ASSISTANT_thread).")
    @argument("--new", action="store_true", help="Start a new thread and store its ID in the thread variable.")
    @argument("--stateless", action="store_true", help="Run without a thread (POST /runs/stream); nothing is stored.")
    @argument(
        "--stream-mode",
        nargs="+",
        metavar="MODE",
        help=f"Stream modes: {', '.join(STREAM_MODES)} (default: {' '.join(DEFAULT_STREAM_MODES)}).",
    )
    @argument("--wait", action="store_true", help="Do not stream: wait for the run and show its final state.")
    @argument("--subgraphs", action="store_true", help="Also stream the events of subgraphs (inner nodes as parent/inner).")
    @argument("--out", metavar="VAR", help="Also bind the result to VAR (it is always bound to _agent).")
    @argument("--config", metavar="JSON", help="Run config: a JSON object or the name of a dict variable.")
    @argument("--context", metavar="JSON", help="Run context: a JSON object or the name of a dict variable.")
    @argument("--metadata", metavar="JSON", help="Run metadata: a JSON object or the name of a dict variable.")
    @argument("--multitask", metavar="STRATEGY", help=f"If the thread is busy: {', '.join(MULTITASK_STRATEGIES)}.")
    @argument("--no-fail", action="store_true", help="A failed run does not fail the cell.")
    @argument(
        "--resume",
        action="store_true",
        help="Resume the thread's pending interrupt with the cell as the value (JSON if it parses, else text).",
    )
    @argument(
        "--background",
        action="store_true",
        help="Return at once; the run streams into its view while you work (see %%agent runs/wait/cancel).",
    )
    @argument("--json", action="store_true", help="The cell is the graph's input as JSON or a Python literal, not a message.")
    @argument("--no-interpolate", action="store_true", help="Send {{name}} as written instead of the value of variable name.")
    @argument("--quiet", action="store_true", help="Show nothing (no live view, no summary); still bind the result.")
    @argument("--map", metavar="VAR", help="Run the cell once per item of VAR (a list or a DataFrame), as stateless runs.")
    @argument("--concurrency", type=int, metavar="N", help="With --map: runs at once (default: AgentMagics.concurrency, 4).")
    @argument(
        "--checkpoint",
        metavar="STEP_OR_ID",
        help="Fork: send the cell from this checkpoint of the thread (a step number from %%agent history, or an ID).",
    )
    @argument("--interrupt-before", nargs="+", metavar="NODE", help="Breakpoints: pause before these nodes (* for every node).")
    @argument("--interrupt-after", nargs="+", metavar="NODE", help="Breakpoints: pause after these nodes (* for every node).")
    @line_cell_magic
    def agent(self, line: str, cell: Optional[str] = None) -> None:
        """Talk to a LangGraph Agent Server.

        Cell magic: send the cell to an assistant and stream the run into a live view::

            %%agent chat
            Hello! My name is Bagatur and I am 26 years old.

        The thread ID is kept in the variable ``chat_thread``, so the next
        ``%%agent chat`` cell continues the conversation. The result is bound
        to ``_agent``. ``{{name}}`` in the cell is replaced by the value of the
        notebook variable ``name`` (``{{name | json}}`` as JSON; ``\\{{name}}``
        keeps the braces). ``--map VAR`` runs the cell once per item of VAR,
        where ``{{item}}``, a dict item's keys and a DataFrame's columns are
        names too. Without ASSISTANT, AgentMagics.default_assistant is used.

        Line magic commands (each takes ``--help``)::

            %agent serve [PATH/langgraph.json] [--port N]   start the embedded server
            %agent stop                                    stop it
            %agent connect URL                             use another Agent Server
            %agent info                                    where the magics are connected, server version
            %agent assistants                              the server's assistants
            %agent threads [--limit N]                     thread variables, then the server's threads
            %agent state [VAR] [--checkpoint STEP]         a thread's values, conversation, next nodes
            %agent state [VAR] --set JSON [--as-node NODE] write values as a new checkpoint
            %agent history [VAR] [--limit N]               a thread's checkpoints by step, with what each changed
            %agent rerun [VAR] --checkpoint STEP           re-run from a checkpoint with no new input
            %agent continue [VAR]                          go on from a breakpoint
            %agent assistants create|update|versions|use|delete NAME ...
            %agent store namespaces|search|get|put|delete ...
            %agent graph ASSISTANT [--xray] [--thread VAR] draw the assistant's graph (and a run's path)
            %agent record CASSETTE [--mode MODE]           record runs, or replay them with no server
            %agent runs                                    background runs of this kernel
            %agent wait [VAR]                              block until a background run ends; bind it
            %agent cancel [VAR]                            cancel a background run on the server
        """
        from .exceptions import Interrupted

        try:
            if cell is None:
                return self._command(line)
            args = parse(self.agent, line)
            if args is None:
                return None
            self._run_cell(args, cell)
        except Interrupted:
            raise
        except KeyboardInterrupt:
            # Wherever else an interrupt lands (a command, a check before the run): one line.
            raise Interrupted("stopped before it finished") from None
        return None

    def _defaults(self) -> Any:
        from .request import CellDefaults

        return CellDefaults(
            assistant=self.default_assistant,
            stream_modes=tuple(self.stream_modes),
            fail=self.fail_on_error,
            thread_pattern=self.thread_pattern,
        )

    def _run_cell(self, args: Any, cell: str) -> Any:
        from .batch import map_cell
        from .request import build_request, check_flags
        from .runner import RunSession

        check_flags(args)
        shown = None if args.quiet else display
        if args.map:
            return map_cell(
                args, cell, self.user_ns, client=self.client(), schemas=self.input_schemas, defaults=self._defaults(),
                concurrency=self.concurrency, display=shown, interval=self.update_interval,
            )  # fmt: skip
        request = self._strict(build_request(args, cell, self.user_ns, self._defaults()))
        if request.command is None and not args.json:
            self.input_schemas.check_text_input(self.client(), request.assistant)
        if args.quiet:
            session = RunSession(self.client(), request, self.user_ns, display=None, quiet=True, forgetful=self._forgetful())
        else:
            session = self._session(request, display)
        return self._launch(session)

    def _strict(self, request: Any) -> Any:
        """A resume asks the server to refuse answering no waiting interrupt, where /info says it can."""
        import dataclasses

        if request.command is None:
            return request
        url = self.client().url
        if url not in self.server_flags:
            self.server_flags[url] = dict((self.client().info() or {}).get("flags") or {})
        return dataclasses.replace(request, strict_resume=bool(self.server_flags[url].get("strict_resume")))

    def _launch(self, session: Any) -> Any:
        """Run a session in the foreground, or start it in the background and return."""
        request = session.request
        if not request.background:
            try:
                return session.run()
            finally:
                self._sent(session)
        run = self._start_background(session)
        # In the view, not printed: it goes when the run ends.
        session.view.show_hint(
            f"Running in the background: %agent wait {run.name} waits for it, %agent cancel {run.name} stops it."
        )
        return None

    def _start_background(self, session: Any) -> Any:
        """Start a run and follow it on the kernel's loop (a task: it goes on once the cell or click returns)."""
        session.start()
        self._sent(session)
        run = self.background.add(session)
        run.follow_in_background(self.async_client())
        return run

    def _sent(self, session: Any) -> None:
        """Remember the breakpoints of a run the server took, for %agent continue."""
        if session.thread_id and session.run_id:
            request = session.request
            self.sent_breakpoints[session.thread_id] = (session.run_id, request.interrupt_before, request.interrupt_after)

    def _session(self, request: Any, show: Callable[[Any], None]) -> Any:
        """A run session whose view can stop a background run and resume an interrupt."""
        from .runner import RunSession
        from .view import RunView, SummarySlot

        session: Any = None

        def stop() -> None:
            self.background.find(request.out or request.thread_var).cancel()

        def make_view(transcript: Any) -> Any:
            import asyncio

            # A background view is drawn by a task: a timer on the same loop draws the last changes
            # of a burst when no event follows. A foreground cell blocks the loop; it flushes at the end.
            later = asyncio.get_running_loop().call_later if request.background and _loop_running() else None
            if request.thread_var and request.thread_var in self.views:
                self.views.pop(request.thread_var).retire()
            view = RunView(
                transcript,
                interval=self.update_interval,
                later=later,
                on_stop=stop if request.background else None,
                on_resume=(lambda value: self._resume_from(session, value)) if request.thread_var else None,
                # The view goes when the run ends: a foreground run's summary follows it, a background
                # run's fills the slot displayed under its view.
                close_when_done=True,
                slot=SummarySlot() if request.background else None,
                on_continue=(lambda: self._continue_from(session)) if request.thread_var else None,
            )
            if request.thread_var:
                self.views[request.thread_var] = view
            return view

        def shown(obj: Any) -> None:
            show(obj)
            if isinstance(obj, dict) and session.view is not None:
                session.view.summary_shown()

        session = RunSession(
            self.client(), request, self.user_ns, display=shown, make_view=make_view, forgetful=self._forgetful(), say=print
        )
        return session

    def _forgetful(self) -> bool:
        """Whether runs go to the in-memory embedded server this kernel started."""
        server = self.connection.server
        return server is not None and self.client().url == server.url

    def _resume_from(self, parent: Any, value: str) -> None:
        """The view's Resume button: resume the thread in the background, shown under the parent's view."""
        import dataclasses

        from .request import resume_value

        request = dataclasses.replace(
            parent.request,
            command={"resume": resume_value(value)},
            input=None,
            shown_input=value,
            background=True,
            new_thread=False,
            out=None,
        )
        if request.thread_var and self.views.get(request.thread_var) is parent.view:
            del self.views[request.thread_var]  # answered from this view: it stays until the answer's run ends
        self._start_under(parent, self._strict(request))

    def _start_under(self, parent: Any, request: Any) -> None:
        """Start a run from a view's button in the background, its view under the parent's."""
        session = self._session(request, lambda _: None)
        self._start_background(session)
        parent.view.attach(session.view)

    def _continue_from(self, parent: Any) -> None:
        """The view's Continue button: go on from the breakpoint in the background, under the parent's view."""
        from .request import thread_request

        request = parent.request
        follow = thread_request(
            request.assistant, request.thread_var, "Continue", self._defaults(),
            interrupt_before=request.interrupt_before, interrupt_after=request.interrupt_after, background=True,
        )  # fmt: skip
        self._start_under(parent, follow)

    def _command(self, line: str) -> None:
        name, _, rest = line.strip().partition(" ")
        if name in ("", "-h", "--help", "help"):
            print(self.command_list())
            return
        handler = getattr(self, METHODS.get(name, name)) if name in COMMANDS else None
        if handler is None:
            raise AgentUsageError(
                f"{name!r} is not an %agent command ({', '.join(COMMANDS)}). To send a message, "
                f"use the cell magic: %%agent {name} with the message on the lines below."
            )
        handler(rest)

    def command_list(self) -> str:
        """Every command with its usage and what it does, one line each, from the commands' own parsers."""
        rows = []
        for name in COMMANDS:
            parser = getattr(self, METHODS.get(name, name)).parser
            usage = " ".join(parser.format_usage().strip(": \n").split())
            what = " ".join((parser.description or "").split())
            rows.append((usage, what.split(". ")[0].rstrip(".") + "."))
        width = min(max(len(usage) for usage, _ in rows), 48)
        lines = ["%agent COMMAND (each takes --help):"]
        lines += [f"  {usage:<{width}}  {what}" for usage, what in rows]
        lines.append("%%agent ASSISTANT sends the cell to an assistant and streams the run; %%agent? shows its flags.")
        return "\n".join(lines)

    # -- commands --------------------------------------------------------------------------------
    @magic_arguments(name="agent serve")
    @argument("path", nargs="?", help="A langgraph.json; default: the bundled demo graphs.")
    @argument("--port", type=int, help="Port on 127.0.0.1 (default: a free one).")
    def serve(self, line: str) -> None:
        """Start the embedded Agent Server (langgraph dev, in memory) and connect to it."""
        args = parse(self.serve, line)
        if args is None:
            return
        before = self.connection.current()
        try:
            url = self.url = self.connection.serve(args.path, args.port)
        except BaseException:
            if before is not None and self.connection.current() is None and self.url == before:
                self.url = ""  # the old server was stopped and the new one did not start
            raise
        from .protocol import display_url

        shown = display_url(url)  # LG_MAGICS_URL may carry a password
        print(f"Agent Server ready at {shown} with graphs: {', '.join(self.connection.graphs)}. Stop it with %agent stop.")

    @magic_arguments(name="agent stop")
    def stop(self, line: str) -> None:
        """Stop the embedded Agent Server that this kernel started."""
        if parse(self.stop, line) is None:
            return
        print("Stopped the embedded Agent Server." if self._stop_server() else "No embedded Agent Server is running.")

    @magic_arguments(name="agent connect")
    @argument("url", help="Base URL of an Agent Server, e.g. http://127.0.0.1:2024")
    def connect(self, line: str) -> None:
        """Point the magics at an Agent Server. Keys, tokens and headers come from the settings."""
        from .client import base_url
        from .protocol import display_url

        args = parse(self.connect, line)
        if args is None:
            return
        url = args.url.strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise AgentUsageError(f"%agent connect needs an http:// or https:// URL, not {display_url(url)!r}.")
        url = base_url(url)  # one line for a URL that does not parse, before anything uses it
        with self.connection.new_client(url) as client:
            client.ok()
            client.check_access()  # readiness paths may skip authentication; this one does not
        self.url = url
        print(f"Connected to {display_url(url)}.")

    @magic_arguments(name="agent info")
    @argument("--log", action="store_true", help="Also print where the embedded server writes its log.")
    def info(self, line: str) -> None:
        """Where the magics are connected. Never shows the API key."""
        args = parse(self.info, line)
        if args is None:
            return
        url = self.current_url()
        if not url:
            print("Not connected: %agent serve starts the embedded server, %agent connect URL uses another.")
            return
        from .inspection import info_lines

        key_from = next((name for name, _ in api_keys_from_env()), None)
        settings = {"Default assistant": self.default_assistant or "none", "Stream modes": " ".join(self.stream_modes)}
        if self.auth_token.strip():
            settings = {"Bearer token": f"from {AUTH_TOKEN_ENV} or AgentMagics.auth_token (never shown)", **settings}
        if self.headers:
            settings = {"Extra headers": f"{', '.join(sorted(self.headers))} (values never shown)", **settings}
        connection = self.connection
        served = connection.graphs if (connection.server or connection.borrowed) else None
        log = (
            (str(connection.server.log_path) if connection.server else "none: this kernel did not start the server")
            if args.log
            else None
        )
        print("\n".join(info_lines(self.client(), graphs=served, log=log, key_from=key_from, settings=settings)))
        if connection.cassette is not None:
            print(f"Cassette: {connection.cassette.path} ({'replaying' if connection.cassette.replaying else 'recording'})")

    @magic_arguments(name="agent assistants")
    @argument("action", nargs="?", help="create, update, versions, use or delete (each takes --help); none: the table.")
    def assistants(self, line: str) -> None:
        """The server's assistants: name, graph, version and ID. With an action, manage them:

        %agent assistants create NAME --graph GRAPH [--config JSON] [--context JSON] [--metadata JSON]
        %agent assistants update NAME [--config JSON] [--context JSON] [--metadata JSON]   (a new version)
        %agent assistants versions NAME
        %agent assistants use NAME --version N   (make version N the latest)
        %agent assistants delete NAME
        """
        from .inspection import assistants_bundle

        action, _, rest = line.strip().partition(" ")
        if action in ASSISTANT_ACTIONS:
            getattr(self, f"_assistants_{action}")(rest)
        elif action and not action.startswith("-"):
            raise AgentUsageError(f"%agent assistants takes one of {', '.join(ASSISTANT_ACTIONS)}, not {action!r}.")
        elif parse(self.assistants, line) is not None:
            display(assistants_bundle(self.client()))

    @magic_arguments(name="agent assistants create")
    @argument("name", help="The new assistant's name (%%agent NAME runs it).")
    @argument("--graph", required=True, help="The graph it runs, e.g. essay.")
    @argument("--config", metavar="JSON", help="Its config: a JSON object or a dict variable.")
    @argument("--context", metavar="JSON", help="Its context: a JSON object or a dict variable.")
    @argument("--metadata", metavar="JSON", help="Its metadata: a JSON object or a dict variable.")
    def _assistants_create(self, line: str) -> None:
        """Create an assistant: a graph with its own config, context and metadata."""
        from . import assistants

        args = parse(self._assistants_create, line)
        if args is not None:
            display(assistants.create(self.client(), args.name, args.graph, self._assistant_fields(args)))

    @magic_arguments(name="agent assistants update")
    @argument("name", help="The assistant's name or ID.")
    @argument("--config", metavar="JSON", help="Its new config: a JSON object or a dict variable.")
    @argument("--context", metavar="JSON", help="Its new context: a JSON object or a dict variable.")
    @argument("--metadata", metavar="JSON", help="Its new metadata: a JSON object or a dict variable.")
    def _assistants_update(self, line: str) -> None:
        """Make a new version of an assistant (it becomes the latest, the one runs use)."""
        from . import assistants

        args = parse(self._assistants_update, line)
        if args is not None:
            display(assistants.update(self.client(), args.name, self._assistant_fields(args)))

    def _assistant_fields(self, args: Any) -> dict[str, Any]:
        from .request import json_argument

        given = {
            name: json_argument(getattr(args, name), f"--{name}", self.user_ns) for name in ("config", "context", "metadata")
        }
        return {name: value for name, value in given.items() if value is not None}

    @magic_arguments(name="agent assistants versions")
    @argument("name", help="The assistant's name or ID.")
    def _assistants_versions(self, line: str) -> None:
        """An assistant's versions, newest first, with the latest marked."""
        from . import assistants

        args = parse(self._assistants_versions, line)
        if args is not None:
            display(assistants.versions(self.client(), args.name))

    @magic_arguments(name="agent assistants use")
    @argument("name", help="The assistant's name or ID.")
    @argument("--version", type=int, required=True, help="The version to make the latest.")
    def _assistants_use(self, line: str) -> None:
        """Make an earlier version the latest: runs of the assistant use it from now on."""
        from . import assistants

        args = parse(self._assistants_use, line)
        if args is not None:
            display(assistants.use(self.client(), args.name, args.version))

    @magic_arguments(name="agent assistants delete")
    @argument("name", help="The assistant's name or ID.")
    def _assistants_delete(self, line: str) -> None:
        """Delete an assistant and all its versions."""
        from . import assistants

        args = parse(self._assistants_delete, line)
        if args is not None:
            print(assistants.delete(self.client(), args.name))

    @magic_arguments(name="agent store")
    @argument("action", help="namespaces, search, get, put or delete (each takes --help).")
    def store(self, line: str) -> None:
        """The server's long-term memory store. A namespace is written a/b/c.

        %agent store namespaces [PREFIX]
        %agent store search NAMESPACE [--query TEXT] [--limit N]
        %agent store get NAMESPACE KEY
        %agent store put NAMESPACE KEY JSON
        %agent store delete NAMESPACE KEY
        """
        action, _, rest = line.strip().partition(" ")
        if action in STORE_ACTIONS:
            getattr(self, f"_store_{action}")(rest)
        elif parse(self.store, line) is not None:
            raise AgentUsageError(f"%agent store takes one of {', '.join(STORE_ACTIONS)}, not {action!r}.")

    @magic_arguments(name="agent store namespaces")
    @argument("prefix", nargs="?", help="Only namespaces under this one, e.g. users.")
    def _store_namespaces(self, line: str) -> None:
        """The store's namespaces."""
        from .store import namespaces_bundle

        args = parse(self._store_namespaces, line)
        if args is not None:
            display(namespaces_bundle(self.client(), args.prefix))

    @magic_arguments(name="agent store search")
    @argument("namespace", help="A namespace or a prefix of namespaces, e.g. users/ada.")
    @argument("--query", metavar="TEXT", help="Natural-language search (needs the server's store index; else ignored).")
    @argument("--limit", type=int, default=10, help="How many items (default: 10).")
    def _store_search(self, line: str) -> None:
        """Items in a namespace and the namespaces under it: namespace, key, value."""
        from .inspection import check_limit
        from .store import search_bundle

        args = parse(self._store_search, line)
        if args is not None:
            display(search_bundle(self.client(), args.namespace, query=args.query, limit=check_limit(args.limit)))

    @magic_arguments(name="agent store get")
    @argument("namespace", help="The item's namespace, e.g. users/ada.")
    @argument("key", help="The item's key.")
    def _store_get(self, line: str) -> None:
        """One item's value, in full."""
        from .store import get_bundle

        args = parse(self._store_get, line)
        if args is not None:
            display(get_bundle(self.client(), args.namespace, args.key))

    @magic_arguments(name="agent store put")
    @argument("namespace", help="The item's namespace, e.g. users/ada.")
    @argument("key", help="The item's key.")
    @argument("value", help="A JSON object (or a dict variable).")
    def _store_put(self, line: str) -> None:
        """Store a value (a JSON object) under a key, replacing what was there."""
        from .request import json_argument
        from .store import put

        args = parse(self._store_put, line)
        if args is not None:
            value = json_argument(args.value, "The value", self.user_ns)
            assert value is not None
            print(put(self.client(), args.namespace, args.key, value))

    @magic_arguments(name="agent store delete")
    @argument("namespace", help="The item's namespace, e.g. users/ada.")
    @argument("key", help="The item's key.")
    def _store_delete(self, line: str) -> None:
        """Delete an item."""
        from .store import delete

        args = parse(self._store_delete, line)
        if args is not None:
            print(delete(self.client(), args.namespace, args.key))

    @magic_arguments(name="agent threads")
    @argument("--limit", type=int, default=10, help="How many of the server's threads to list (default: 10).")
    def threads(self, line: str) -> None:
        """This notebook's thread variables, then the server's most recently updated threads."""
        from .inspection import check_limit, threads_bundle

        args = parse(self.threads, line)
        if args is not None:
            ns = self.user_ns
            display(threads_bundle(self.client(), ns, limit=check_limit(args.limit), hidden=self.hidden_names))

    @magic_arguments(name="agent state")
    @argument("var", nargs="?", help="A variable holding a thread ID (default: the thread of the last run).")
    @argument(
        "--set", dest="values", metavar="JSON", help="Write these values as a new checkpoint (a JSON object or a dict variable)."
    )
    @argument("--as-node", metavar="NODE", help="With --set: write as if NODE returned the values (it decides what runs next).")
    @argument(
        "--checkpoint",
        metavar="STEP_OR_ID",
        help="Show the state at this checkpoint; with --set, write on top of it (a fork).",
    )
    def state(self, line: str) -> None:
        """A thread's values, next nodes, conversation and pending interrupts; --set edits them."""
        from .inspection import resolve_thread, state_bundle

        args = parse(self.state, line)
        if args is None:
            return
        label, thread_id = resolve_thread(self.user_ns, args.var, self.hidden_names)
        if args.values is None:
            if args.as_node:
                raise AgentUsageError("--as-node says who writes the values of --set: add --set JSON.")
            display(state_bundle(self.client(), label, thread_id, checkpoint=args.checkpoint))
            return
        from .checkpoints import edit_state
        from .request import json_argument

        values = json_argument(args.values, "--set", self.user_ns)
        assert values is not None
        display(edit_state(self.client(), label, thread_id, values, as_node=args.as_node, checkpoint=args.checkpoint))

    @magic_arguments(name="agent history")
    @argument("var", nargs="?", help="A variable holding a thread ID (default: the thread of the last run).")
    @argument("--limit", type=int, default=10, help="How many checkpoints (default: 10).")
    def history(self, line: str) -> None:
        """A thread's checkpoints, newest first."""
        from .inspection import check_limit, history_bundle, resolve_thread

        args = parse(self.history, line)
        if args is not None:
            limit = check_limit(args.limit)
            label, thread_id = resolve_thread(self.user_ns, args.var, self.hidden_names)
            display(history_bundle(self.client(), label, thread_id, limit=limit))

    def _thread_var(self, var: Optional[str]) -> tuple[str, str]:
        """(variable, thread ID) for a command that runs on a thread: it binds the variable as a cell would."""
        from .inspection import resolve_thread

        label, thread_id = resolve_thread(self.user_ns, var, self.hidden_names)
        if not label.isidentifier() or self.user_ns.get(label) != thread_id:
            raise AgentUsageError(f"Name the variable that holds the thread (such as essay_thread), not {label!r}.")
        return label, thread_id

    @magic_arguments(name="agent rerun")
    @argument("var", nargs="?", help="A variable holding a thread ID (default: the thread of the last run).")
    @argument(
        "--checkpoint", required=True, metavar="STEP_OR_ID", help="Where to re-run from: a step from %%agent history, or an ID."
    )
    @argument("--assistant", help="Run this assistant (default: the assistant of the thread's last run).")
    @argument("--interrupt-before", nargs="+", metavar="NODE", help="Pause before these nodes (* for every node).")
    @argument("--interrupt-after", nargs="+", metavar="NODE", help="Pause after these nodes (* for every node).")
    @argument("--background", action="store_true", help="Return at once; the run streams into its view.")
    @argument("--out", metavar="VAR", help="Also bind the result to VAR.")
    def rerun(self, line: str) -> Any:
        """Re-run a thread from one of its checkpoints with no new input ("Re-run from here"): the nodes
        next after that checkpoint run again, on a new branch; the thread variable still names the thread."""
        from .checkpoints import last_run_defaults, parse_breakpoints
        from .request import thread_request

        args = parse(self.rerun, line)
        if args is None:
            return None
        var, thread_id = self._thread_var(args.var)
        client = self.client()
        assistant = args.assistant or last_run_defaults(client, thread_id, var, self.user_ns, {})[0]
        where = f"step {args.checkpoint}" if args.checkpoint.lstrip("-").isdigit() else f"checkpoint {args.checkpoint}"
        request = thread_request(
            assistant, var, f"Re-run from {where}", self._defaults(), checkpoint=args.checkpoint,
            interrupt_before=parse_breakpoints(args.interrupt_before),
            interrupt_after=parse_breakpoints(args.interrupt_after), background=args.background, out=args.out,
        )  # fmt: skip
        return self._launch(self._session(request, display))

    @magic_arguments(name="agent continue")
    @argument("var", nargs="?", help="A variable holding a thread ID (default: the thread of the last run).")
    @argument(
        "--interrupt-before", nargs="+", metavar="NODE", help="New breakpoints before these nodes (default: the last run's)."
    )
    @argument("--interrupt-after", nargs="+", metavar="NODE", help="New breakpoints after these nodes (default: the last run's).")
    @argument("--background", action="store_true", help="Return at once; the run streams into its view.")
    @argument("--out", metavar="VAR", help="Also bind the result to VAR.")
    def continue_(self, line: str) -> Any:
        """Go on from a breakpoint with no new input, with the same assistant and breakpoints as the
        thread's last run unless new ones are given."""
        from .checkpoints import check_paused, last_run_defaults, parse_breakpoints
        from .request import thread_request
        from .runner import thread_state

        args = parse(self.continue_, line)
        if args is None:
            return None
        var, thread_id = self._thread_var(args.var)
        client = self.client()
        check_paused(thread_state(client, thread_id, var), var)
        assistant, before, after = last_run_defaults(client, thread_id, var, self.user_ns, self.sent_breakpoints)
        if args.interrupt_before or args.interrupt_after:
            before, after = parse_breakpoints(args.interrupt_before), parse_breakpoints(args.interrupt_after)
        request = thread_request(
            assistant, var, "Continue", self._defaults(), interrupt_before=before, interrupt_after=after,
            background=args.background, out=args.out,
        )  # fmt: skip
        return self._launch(self._session(request, display))

    @magic_arguments(name="agent graph")
    @argument("assistant", help="A graph name (e.g. chat), an assistant name or an assistant ID.")
    @argument("--xray", action="store_true", help="Draw the nodes inside subgraphs too.")
    @argument("--thread", metavar="VAR", help="Highlight the nodes and edges the last run on this thread went through.")
    def graph(self, line: str) -> None:
        """Draw an assistant's graph: nodes and edges (dashed: conditional); --thread highlights a run's path."""
        from .inspection import graph_bundle, resolve_thread

        args = parse(self.graph, line)
        if args is not None:
            thread = resolve_thread(self.user_ns, args.thread, self.hidden_names) if args.thread else None
            display(graph_bundle(self.client(), args.assistant, xray=args.xray, thread=thread))

    @magic_arguments(name="agent record")
    @argument("path", nargs="?", help="The cassette file, e.g. my_notebook.cassette.json next to the notebook.")
    @argument(
        "--mode",
        help="record, replay or auto (default: $LG_MAGICS_RECORD_MODE, else auto: replay if the file exists, else record).",
    )
    @argument("--off", action="store_true", help="Stop using a cassette: runs go to the server again.")
    def record(self, line: str) -> None:
        """Record every request and its response stream to a cassette, or replay them with no server.

        Put it before %agent serve or %agent connect. When replaying, %agent serve starts nothing: it
        prints the line it printed when recorded.
        """
        args = parse(self.record, line)
        if args is None:
            return
        if args.off:
            self.connection.use_cassette(None)
            print("Runs go to the server, without a cassette.")
            return
        if not args.path:
            raise AgentUsageError("%agent record needs a cassette file, e.g. %agent record my_notebook.cassette.json (or --off).")
        self.connection.use_cassette(args.path, args.mode)
        # The same line whether recording or replaying, so a saved notebook passes nbval in both.
        print(f"Runs go through the cassette {self.connection.cassette.name}.")

    @magic_arguments(name="agent runs")
    def runs(self, line: str) -> None:
        """List this kernel's background runs and how far each has got."""
        if parse(self.runs, line) is None:
            return
        from .render import status_label
        from .words import plural

        if not self.background.runs:
            print("No background runs in this kernel.")
            return
        for run in self.background.runs:
            t = run.session.transcript
            print(f"{run.name}: {t.assistant} · {status_label(t.status)} · {plural(t.events, 'event')}")

    @magic_arguments(name="agent wait")
    @argument("var", nargs="?", help="The run's --out or thread variable (default: the latest background run).")
    def wait(self, line: str) -> None:
        """Block until a background run ends, show it, and bind its result to _agent (and its --out)."""
        from .runner import show_summary

        args = parse(self.wait, line)
        if args is None:
            return
        run = self.background.find(args.var)
        try:
            run.wait(resume=lambda: run.follow_in_background(self.async_client()))
        finally:
            if run.done:
                show_summary(run.session.transcript, display)
                if run.session.view is not None:
                    run.session.view.close()  # the summary shows the run now: its view goes, as a foreground one does

    @magic_arguments(name="agent cancel")
    @argument("var", nargs="?", help="The run's --out or thread variable (default: the latest background run).")
    def cancel(self, line: str) -> None:
        """Cancel a background run on the server."""
        from .render import status_label

        args = parse(self.cancel, line)
        if args is None:
            return
        run = self.background.find(args.var)
        if run.done:
            print(f"{run.name} already ended: {status_label(run.session.transcript.status)}.")
            return
        run.cancel()
        print(f"Cancelled {run.name}.")
