"""Which recorded request answers a live one: what decides a response, and new thread IDs bound to
recorded ones by position.

Requests match on method, path, query and body; for requests that create a run, only on what decides
its events (:data:`RUN_MATCH_KEYS`) and the run's position on its thread. Thread IDs the client makes
up (``uuid4`` for each new thread) differ on every execution, so a UUID never seen in a recording is
bound to the recorded one at the same place in the first request that matches, and stays bound.
Requests are served in recorded order; a repeated GET or search may reuse its last answer.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any, Optional

import httpx

from .exceptions import CassetteMiss
from .protocol import is_uuid

#: What decides the events of a run. Volatile or cosmetic fields (metadata, on_disconnect,
#: if_not_exists, stream_resumable, multitask_strategy, webhook...) are left out of matching.
RUN_MATCH_KEYS = (
    "assistant_id",
    "input",
    "command",
    "config",
    "context",
    "stream_mode",
    "stream_subgraphs",
    "interrupt_before",
    "interrupt_after",
    "checkpoint_id",
    "checkpoint",
)

_RUN_CREATE = re.compile(r"^(?:/threads/(?P<thread>[^/]+))?/runs(?:/stream|/wait)?$")
_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def describe(request: httpx.Request, content: bytes) -> dict[str, Any]:
    """The parts of a request a cassette keeps: never its headers."""
    body: Any = None
    if content:
        try:
            body = json.loads(content)
        except ValueError:
            body = content.decode("utf-8", "replace")
    query = {key: value for key, value in sorted(request.url.params.multi_items())}
    return {"method": request.method, "path": request.url.path, "query": query, "body": body}


def run_thread(request: dict[str, Any]) -> tuple[bool, Optional[str]]:
    """(creates a run, its thread ID or None for a stateless run)."""
    found = _RUN_CREATE.match(request["path"]) if request["method"] == "POST" else None
    return (found is not None, found.group("thread") if found else None)


def match_key(request: dict[str, Any]) -> dict[str, Any]:
    """What two requests must share to get the same response."""
    body = request.get("body")
    creates_run, _ = run_thread(request)
    if creates_run and isinstance(body, dict):
        body = {key: body[key] for key in RUN_MATCH_KEYS if key in body}
    return {"method": request["method"], "path": request["path"].split("/"), "query": request.get("query") or {}, "body": body}


def unify(live: Any, recorded: Any, ids: dict[str, str], owners: dict[str, str], trial: dict[str, str]) -> bool:
    """Whether ``live`` matches ``recorded``, binding live UUIDs to recorded ones in ``trial``.

    ``ids`` maps live UUIDs to recorded ones (committed bindings), ``owners`` the reverse.
    """
    if isinstance(live, dict):
        return (
            isinstance(recorded, dict)
            and live.keys() == recorded.keys()
            and all(unify(live[key], recorded[key], ids, owners, trial) for key in live)
        )
    if isinstance(live, list):
        return (
            isinstance(recorded, list)
            and len(live) == len(recorded)
            and all(unify(a, b, ids, owners, trial) for a, b in zip(live, recorded))
        )
    if isinstance(live, str) and isinstance(recorded, str) and _UUID_TEXT.fullmatch(live) and is_uuid(recorded):
        bound = ids.get(live) or trial.get(live)
        if bound is not None:
            return bound == recorded
        owner = owners.get(recorded) or next((k for k, v in trial.items() if v == recorded), None)
        if owner is not None and owner != live:
            return False
        trial[live] = recorded
        return True
    return bool(live == recorded and type(live) is type(recorded))


def _short(text: str) -> str:
    # IDs differ on every execution and the mapping is by position: they would only make noise.
    return _UUID_TEXT.sub("…", text)


def _said(value: Any) -> str:
    """The message text of a run input, else the value in one short line."""
    messages = value.get("messages") if isinstance(value, dict) else None
    if isinstance(messages, list) and messages and isinstance(messages[-1], dict) and "content" in messages[-1]:
        value = messages[-1]["content"]
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    text = " ".join(text.split())
    return repr(text if len(text) <= 60 else text[:59] + "…")


def describe_miss(request: dict[str, Any], position: Optional[int]) -> str:
    what = f"{request['method']} {_short(request['path'])}"
    body = request.get("body")
    if isinstance(body, dict):
        details = [f"{key} {_said(body[key])}" for key in ("assistant_id", "input", "command") if key in body]
        if details:
            what += f" ({', '.join(details)})"
    if position:
        what += f", run {position + 1} on its thread"
    return what


def run_positions(requests: list[dict[str, Any]]) -> list[Optional[int]]:
    """For each request that starts a run on a thread, how many runs that thread had before."""
    seen: Counter[str] = Counter()
    positions: list[Optional[int]] = []
    for request in requests:
        creates_run, thread = run_thread(request)
        if creates_run and thread:
            positions.append(seen[thread])
            seen[thread] += 1
        else:
            positions.append(None)
    return positions


class Matcher:
    """Replay's state over the recorded requests: committed UUID bindings (live -> recorded, and
    back), the interactions served, and the runs served so far per recorded thread."""

    def __init__(self, requests: list[dict[str, Any]], name: str) -> None:
        self.requests = requests
        self.name = name
        self._keys = [match_key(r) for r in requests]
        self._positions = run_positions(requests)
        self._ids: dict[str, str] = {}
        self._owners: dict[str, str] = {}
        self._used: set[int] = set()
        self._runs: Counter[Optional[str]] = Counter()

    def find(self, request: dict[str, Any]) -> int:
        """The index of the recording that answers ``request``; :class:`CassetteMiss` if none does."""
        key = match_key(request)
        reusable = request["method"] == "GET" or request["path"].endswith("/search")
        fallback: Optional[tuple[int, dict[str, str]]] = None
        for index, recorded in enumerate(self._keys):
            trial: dict[str, str] = {}
            if not unify(key, recorded, self._ids, self._owners, trial):
                continue
            if index in self._used:
                if reusable:
                    fallback = (index, trial)
                continue
            position = self._positions[index]
            _, thread = run_thread(self.requests[index])
            if position is not None and position != self._runs[thread]:
                continue
            return self._commit(index, trial)
        if fallback is not None:
            return self._commit(*fallback)
        creates_run, thread = run_thread(request)
        position = self._runs[self._ids.get(thread or "", thread)] if creates_run and thread else None
        raise CassetteMiss(
            f"No recording in {self.name} for {describe_miss(request, position)}. Re-record the notebook "
            "(LG_MAGICS_RECORD_MODE=record) or make the cell match the recording."
        )

    def _commit(self, index: int, trial: dict[str, str]) -> int:
        for live, recorded in trial.items():
            self._ids[live] = recorded
            self._owners[recorded] = live
        self._used.add(index)
        creates_run, thread = run_thread(self.requests[index])
        if creates_run and thread:
            self._runs[thread] += 1
        return index
