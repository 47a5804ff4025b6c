"""The cassette file: its format, how it is written and read, and the secrets kept out of it.

JSON with a fixed key order: one line per request, per SSE event and per JSON body, so a
re-recording diffs line by line. Payloads keep the server's key order, because the views show fields
in that order. No request headers are stored (so no ``x-api-key``), only the response headers the
client reads, and every key, token and header value found in the environment is redacted before
saving (:func:`lg_magics.protocol.secrets_from_env`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Optional

from .exceptions import CassetteError

FORMAT = "lg_magics cassette 1"
#: The response headers the client reads; nothing else is stored.
KEPT_HEADERS = ("content-location", "content-type", "location", "x-pagination-next", "x-pagination-total")


def _one_line(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def dumps(serve: Optional[dict[str, Any]], interactions: list[dict[str, Any]]) -> str:
    """The cassette text: JSON, one line per request, per event and per JSON body."""
    lines = ["{", f'  "format": {_one_line(FORMAT)},', f'  "serve": {_one_line(serve)},', '  "interactions": [']
    for index, interaction in enumerate(interactions):
        response = interaction["response"]
        head = _one_line({"status": response["status"], "headers": response["headers"]})[:-1]
        lines += ["    {", f'      "request": {_one_line(interaction["request"])},']
        if "events" in response:
            lines.append(f'      "response": {head}, "events": [')
            events = response["events"]
            lines += [f"        {_one_line(event)}" + ("," if i < len(events) - 1 else "") for i, event in enumerate(events)]
            lines.append("      ]}")
        else:
            key = "json" if "json" in response else "text"
            lines.append(f'      "response": {head}, {_one_line(key)}: {_one_line(response.get(key))}}}')
        lines.append("    }" + ("," if index < len(interactions) - 1 else ""))
    lines += ["  ]", "}", ""]
    return "\n".join(lines)


def write(path: Path, text: str) -> None:
    """Replace the file at once: a reader (or a crash) never sees half a cassette."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.partial")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        folder = next((p for p in path.parents if p.exists()), None)
        reason = f"{folder} is not a folder" if folder is not None and not folder.is_dir() else exc.strerror or str(exc)
        raise CassetteError(f"Cannot write the cassette {path}: {reason}.") from None


def _defect(request: Any, response: Any) -> Optional[str]:
    """What is wrong with one recorded interaction, or None: the fields replay reads."""
    if not isinstance(request, dict):
        return '"request" is not an object'
    for key in ("method", "path"):
        if not isinstance(request.get(key), str):
            return f'"request" has no "{key}" text'
    if not isinstance(request.get("query", {}), dict):
        return '"request.query" is not an object'
    if not isinstance(response, dict):
        return '"response" is not an object'
    if not isinstance(response.get("status"), int) or isinstance(response.get("status"), bool):
        return '"response" has no "status" number'
    if not isinstance(response.get("headers", {}), dict):
        return '"response.headers" is not an object'
    events = response.get("events")
    if "events" in response and not (
        isinstance(events, list) and all(isinstance(e, dict) and isinstance(e.get("event"), str) for e in events)
    ):
        return '"response.events" is not a list of events with an "event" name'
    return None


def check_structure(path: Path, document: dict[str, Any]) -> tuple[Optional[dict[str, Any]], list[dict[str, Any]]]:
    serve, interactions = document.get("serve"), document.get("interactions")
    if serve is not None and not (
        isinstance(serve, dict) and isinstance(serve.get("url"), str) and isinstance(serve.get("graphs", []), list)
    ):
        raise CassetteError(f'{path}: "serve" needs a "url" and a list of "graphs"; re-record the cassette.')
    if interactions is None:
        interactions = []
    if not isinstance(interactions, list):
        raise CassetteError(f'{path}: "interactions" is not a list; re-record the cassette.')
    for number, interaction in enumerate(interactions, 1):
        if not isinstance(interaction, dict):
            defect: Optional[str] = "it is not an object"
        else:
            defect = _defect(interaction.get("request"), interaction.get("response"))
        if defect:
            raise CassetteError(f"{path}: interaction {number} cannot be replayed ({defect}); re-record the cassette.")
    return serve, interactions


def load(path: Path) -> tuple[Optional[dict[str, Any]], list[dict[str, Any]]]:
    """(what %agent serve printed, the interactions) of the cassette at ``path``."""
    if not path.is_file():
        raise CassetteError(
            f"No cassette at {path} to replay: record it first (LG_MAGICS_RECORD_MODE=record, "
            "or %agent record PATH --mode record) against a server."
        )
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CassetteError(f"Cannot read the cassette {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise CassetteError(f'{path} is not an lg_magics cassette (expected "format": "{FORMAT}").')
    return check_structure(path, document)
