"""Fuzzing the magics with hypothesis, against the real server: whatever the line and the cell,
the result is a run or one line that says what to do (an AgentError), never an internal traceback.

Cell runs are all stateless (nothing piles up on the server) and the examples are few and
derandomized: each one may be a real run, and CI must see the same examples every time.
"""

from __future__ import annotations

from typing import Any, Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from IPython.core.error import UsageError

from lg_magics.exceptions import AgentError

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

NAMES = st.sampled_from(["item", "who", "items", "nobody", "1x", "_agent", "class", "name"])
WORDS = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
JSONISH = st.one_of(
    st.sampled_from(
        ['{"delay":0}', "{'delay':0}", "{oops", "[1]", "{}", "ctx", "nobody", '{"configurable":{"a":1}}', "{1,2}", "null"]
    ),
    WORDS,
)
# Flags that make sense, three times as likely as the rest, so that many examples really run.
GOOD_FLAG = st.one_of(
    st.sampled_from(["--json", "--no-interpolate", "--quiet", "--wait", "--no-fail", "--map items", "--out result"]),
    st.builds(lambda mode: f"--stream-mode {mode}", st.sampled_from(["values", "updates", "custom", "messages", "debug"])),
    st.sampled_from(["--context ctx", '--context {"delay":0}', "--metadata {'source':'fuzz'}", "--concurrency 3"]),
)
ANY_FLAG = st.one_of(
    st.sampled_from(["--new", "--resume", "-h", "--bogus", "--", "'", '"', "--stream-mode bogus", "--multitask sometimes"]),
    st.builds(lambda v: f"--context {v}", JSONISH),
    st.builds(lambda v: f"--config {v}", JSONISH),
    st.builds(lambda v: f"--metadata {v}", JSONISH),
    st.builds(lambda v: f"--out {v}", NAMES),
    st.builds(lambda v: f"--thread {v}", NAMES),
    st.builds(lambda v: f"--map {v}", NAMES),
    st.builds(lambda v: f"--concurrency {v}", st.sampled_from(["1", "0", "-2", "x", "99"])),
    WORDS,
)
FLAG = st.one_of(GOOD_FLAG, GOOD_FLAG, GOOD_FLAG, ANY_FLAG)
ASSISTANT = st.sampled_from(["chat", "chat", "boom", "approval", "nope", "", "eb6db400-e3c8-5d06-a834-015cb89efe69"])
PIECE = st.one_of(
    st.sampled_from(
        ["Hello {{who}}", "count to 2", '{"request": "x"}', "{'text': 1}", "{{ item }}", "\\{{who}}", "{{who|json}}"]
    ),
    st.sampled_from(["{{nobody}}", "{{who|upper}}", "{", "}}", "\n", " "]),
    WORDS,
)
BODY = st.lists(PIECE, min_size=1, max_size=4).map("".join)


def one_line_or_run(action: Callable[[], Any]) -> None:
    try:
        action()
    except AgentError as exc:
        rendered = exc._render_traceback_()
        assert len(rendered) == 1 and "\n" not in rendered[0], rendered
        assert rendered[0].strip() != f"{type(exc).__name__}:", "an error must say what to do"
    except UsageError as exc:
        # IPython's own check before any magic runs (an empty cell body); it shows as one line too.
        assert "cell body is empty" in str(exc), exc


@FUZZ
@given(assistant=ASSISTANT, flags=st.lists(FLAG, max_size=4), body=BODY)
def test_cell_magic_never_shows_an_internal_traceback(shell, assistant: str, flags: list[str], body: str) -> None:
    shell.ns.update(who="Ada", items=["a", "b"], ctx={"delay": 0}, item="x")
    line = " ".join([assistant, *flags, "--stateless"])
    one_line_or_run(lambda: shell.cell(line, body))


COMMAND = st.sampled_from(["assistants", "threads", "state", "history", "graph", "info", "runs", "frobnicate", ""])
ARG = st.one_of(
    st.sampled_from(
        ["--limit 1", "--limit 0", "--limit x", "--xray", "chat", "tools", "nope", "chat_thread", "who", "--help", "'"]
    ),
    WORDS,
)


@FUZZ
@given(command=COMMAND, args=st.lists(ARG, max_size=3))
def test_line_magic_never_shows_an_internal_traceback(shell, command: str, args: list[str]) -> None:
    shell.ns.update(who="Ada", chat_thread="8b6f0d1e-4a57-4d8c-9a55-0c1b8f8f2a11")
    one_line_or_run(lambda: shell.line(" ".join([command, *args])))
