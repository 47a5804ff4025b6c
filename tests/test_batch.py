"""%%agent ASSISTANT --map VAR: one stateless run per item, a few at a time, against the real server."""

from __future__ import annotations

import os
import signal
import threading

import pandas as pd
import pytest

from lg_magics.batch import Item, counts_text, items_of, summary_lines
from lg_magics.client import Client
from lg_magics.exceptions import AgentUsageError, Interrupted, RunFailed
from lg_magics.result import RunResult
from lg_magics.transcript import Transcript

from .conftest import wait_for

PEOPLE = [{"name": "Ada", "age": 36}, {"name": "Bo", "age": 3}, {"name": "Cy", "age": 71}]
PROMPT = "My name is {{name}} and I am {{age}} years old."


def result(status: str, error: dict | None = None) -> RunResult:
    transcript = Transcript(assistant="chat")
    transcript.status = status
    transcript.error = error
    return RunResult(transcript)


# -- pure parts ---------------------------------------------------------------------------------
def test_items_of_lists_dicts_and_dataframes() -> None:
    assert items_of(["a", "b"], "xs") == [Item("0", {"item": "a"}), Item("1", {"item": "b"})]
    assert items_of([{"name": "Ada", "not an identifier": 1}], "xs")[0].names == {
        "item": {"name": "Ada", "not an identifier": 1},
        "name": "Ada",
    }
    frame = pd.DataFrame({"name": ["Ada", "Bo"], "age": [36, 3]}, index=["a", "b"])
    rows = items_of(frame, "df")
    assert [r.label for r in rows] == ["a", "b"] and rows[1].names["name"] == "Bo" and rows[1].names["age"] == 3
    assert items_of(range(2), "r")[1].names == {"item": 1}


@pytest.mark.parametrize("value", ["text", {"a": 1}, {1, 2}, 42, b"x"])
def test_items_of_refuses_what_is_not_a_list(value) -> None:
    with pytest.raises(AgentUsageError, match="--map needs a list or a pandas DataFrame, and xs is a"):
        items_of(value, "xs")


def test_other_tables_and_dataframe_subclasses() -> None:
    class Frame(pd.DataFrame):  # a subclass (geopandas and the like) is still a DataFrame
        pass

    assert [i.names["x"] for i in items_of(Frame({"x": [1, 2]}), "f")] == [1, 2]

    class Table:  # another library's table iterates over its columns: refused, not misread
        columns = ["x"]

        def __iter__(self):
            return iter(self.columns)

    with pytest.raises(AgentUsageError, match="--map takes a pandas DataFrame or a list: convert t"):
        items_of(Table(), "t")


def test_a_result_column_would_be_overwritten() -> None:
    with pytest.raises(AgentUsageError, match="already has a 'result' column"):
        items_of(pd.DataFrame({"result": [1]}), "df")


def test_summary_counts_and_lists_failures() -> None:
    results = [result("success")] * 48 + [result("error", {"error": "ValueError", "message": "kaboom"}), result("cancelled")]
    assert counts_text(results) == "48 done, 1 failed, 1 cancelled"
    labels = [str(i) for i in range(50)]
    assert summary_lines(results, labels) == ["50 runs: 48 done, 1 failed, 1 cancelled", "item 48 failed: ValueError: kaboom"]
    many = [result("error", {"error": "E", "message": "m"})] * 12
    lines = summary_lines(many, [str(i) for i in range(12)])
    assert (
        lines[0] == "12 runs: 0 done, 12 failed" and len(lines) == 12 and lines[-1] == "... and 2 more failed: see their .error"
    )


# -- against the server -------------------------------------------------------------------------
def test_map_over_a_list_of_dicts(shell) -> None:
    shell.ns["people"] = PEOPLE
    shell.cell("chat --map people --out replies", PROMPT)
    results = shell.ns["replies"]
    assert results is shell.ns["_agent"] and [type(r) for r in results] == [RunResult] * 3
    assert [r["user_name"] for r in results] == ["Ada", "Bo", "Cy"]  # in the items' order
    assert [r.text for r in results][1] == "Nice to meet you, **Bo**! I will remember that you are 3 years old."
    assert all(r.thread_id is None and r.status == "done" for r in results)
    progress, closed, summary = shell.outputs
    assert list(progress["data"]) == ["application/vnd.jupyter.widget-view+json"]  # no placeholder text
    # The bar's output is marked closed (frontends hide it): the summary line takes its place.
    assert closed["update"] and closed["data"]["application/vnd.jupyter.widget-view+json"]["model_id"] == ""
    assert summary["data"]["text/plain"] == "3 runs: 3 done"
    assert "chat_thread" not in shell.ns


def test_the_progress_bar_closes_when_the_batch_ends(shell, monkeypatch) -> None:
    from lg_magics import batch

    closed: list[bool] = []
    monkeypatch.setattr(batch.Progress, "close", lambda self: closed.append(self.bar.value == 2))
    shell.ns["numbers"] = [1, 2]
    shell.cell("chat --map numbers", "count to {{item}}")
    assert closed == [True]  # once, with every run counted: the frontend then shows only the summary line


def test_map_over_a_list_with_item(shell) -> None:
    shell.ns["numbers"] = [3, 1]
    shell.cell("chat --map numbers --concurrency 1", "count to {{item}}")
    assert [r.text for r in shell.ns["_agent"]] == ["1 2 3", "1"]


def test_map_over_a_dataframe_adds_a_result_column(shell) -> None:
    frame = pd.DataFrame(PEOPLE, index=["x", "y", "z"])
    shell.ns["df"] = frame
    shell.cell("chat --map df", PROMPT)
    out = shell.ns["_agent"]
    assert isinstance(out, pd.DataFrame) and list(out.columns) == ["name", "age", "result"]
    assert list(out.index) == ["x", "y", "z"] and "result" not in frame.columns  # a copy
    assert out.loc["y", "result"] == "Nice to meet you, **Bo**! I will remember that you are 3 years old."
    results = out.attrs["results"]  # the whole results, in the rows' order
    assert [type(r) for r in results] == [RunResult] * 3 and results[2]["user_age"] == 71


def test_failed_items_are_reported_and_kept(shell, wordcount_server) -> None:
    shell.line(f"connect {wordcount_server.url}")
    shell.ns["texts"] = ["two words", 7, "three more words"]  # 7 has no .split(): that run fails
    with pytest.raises(RunFailed, match=r"^1 of 3 runs failed: see the summary and _agent \(pass --no-fail"):
        shell.cell("wordcount --json --map texts", '{"text": {{item|json}}}')
    results = shell.ns["_agent"]
    assert [r.status for r in results] == ["done", "failed", "done"]
    assert results[0].values == {"words": 2} and results[2].values == {"words": 3}
    assert results[1].error["error"] == "AttributeError"
    assert shell.outputs[-1]["data"]["text/plain"].splitlines() == [
        "3 runs: 2 done, 1 failed",
        "item 1 failed: AttributeError: 'int' object has no attribute 'split'",
    ]
    shell.cell("wordcount --json --map texts --no-fail --quiet", '{"text": {{item|json}}}')
    assert shell.outputs == [] and len(shell.ns["_agent"]) == 3


def test_concurrency_is_bounded(shell, client: Client) -> None:
    """Watch the server: stateless runs have busy temporary threads while they run."""
    shell.ns["counts"] = [8] * 6
    seen: list[int] = []
    done = threading.Event()

    def watch() -> None:
        with Client(client.url) as watcher:
            while not done.is_set():
                seen.append(len(watcher.search_threads(status="busy", limit=50)))

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        shell.cell('slow_chat --map counts --concurrency 2 --context {"delay":0.1}', "count to {{item}}")
    finally:
        done.set()
        watcher.join()
    assert [r.text for r in shell.ns["_agent"]] == ["1 2 3 4 5 6 7 8"] * 6
    assert max(seen) == 2


def test_interrupt_cancels_what_is_pending_and_binds_what_finished(shell) -> None:
    shell.ns["counts"] = [30] * 6
    pid = os.getpid()

    def interrupt_once_running() -> None:
        wait_for(lambda: any(t.name.startswith("lg-magics-map") for t in threading.enumerate()), what="the batch to start")
        os.kill(pid, signal.SIGINT)  # what the kernel's interrupt button sends

    helper = threading.Thread(target=interrupt_once_running)
    helper.start()
    try:
        # One line, and the cell ends as interrupted (Interrupted is a KeyboardInterrupt).
        with pytest.raises(Interrupted, match=r"^\d of 6 runs cancelled$"):
            shell.cell('slow_chat --map counts --concurrency 2 --context {"delay":0.05}', "count to {{item}}")
    finally:
        helper.join()
    results = shell.ns["_agent"]
    assert len(results) == 6 and all(isinstance(r, RunResult) for r in results)
    assert [r.status for r in results].count("cancelled") >= 4  # at least the ones still queued
    assert shell.outputs[-1]["data"]["text/plain"].startswith("6 runs: ")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("chat --map people --thread t", "--map runs are stateless and shown as a progress bar: drop --thread"),
        ("chat --map people --wait", "drop --wait"),
        ("chat --map people --concurrency 0", "--concurrency takes a number of runs at once from 1 to 64, not 0"),
        ("chat --concurrency 2", "--concurrency sets how many --map runs go at once"),
        ("chat --map nobody", "--map needs the name of a notebook variable"),
        ("chat --map people", r"\{\{nobody\}\} in the cell: no variable named nobody.*\(item 0 of people\)"),
    ],
)
def test_map_usage_errors(shell, line: str, message: str) -> None:
    shell.ns["people"] = PEOPLE
    body = "{{nobody}}" if line == "chat --map people" else PROMPT
    with pytest.raises(AgentUsageError, match=message) as info:
        shell.cell(line, body)
    assert len(info.value._render_traceback_()) == 1


def test_map_over_an_empty_list(shell) -> None:
    shell.ns["nothing"] = []
    shell.cell("chat --map nothing", PROMPT)
    assert shell.ns["_agent"] == [] and shell.outputs[-1]["data"]["text/plain"] == "0 runs: 0 done"
