"""``%agent store``: the server's long-term memory store (``/store/items``, ``/store/namespaces``).

Namespaces are written ``a/b/c`` in the magics and travel as lists. Tables have no timestamps, so
saved notebooks stay stable.
"""

from __future__ import annotations

import json
from typing import Any, Optional

from .client import Client
from .exceptions import AgentUsageError
from .tables import Table, bundle
from .transcript import compact
from .words import plural


def namespace(text: str) -> list[str]:
    """``users/ada`` as ``["users", "ada"]``."""
    parts = text.strip().strip("/").split("/")
    if not text.strip() or any(not p for p in parts):
        raise AgentUsageError(f"A namespace is written a/b/c, with no empty part: not {text!r}.")
    if any("." in p for p in parts):
        raise AgentUsageError(f"A namespace part cannot contain a dot (the API joins parts with dots): {text!r}.")
    return parts


def label(parts: list[str]) -> str:
    return "/".join(parts)


def namespaces_bundle(client: Client, prefix: Optional[str]) -> dict[str, str]:
    found = sorted(client.store_namespaces(namespace(prefix) if prefix else None))
    rows = [[label(ns)] for ns in found]
    where = f" under {label(namespace(prefix))}" if prefix else ""
    return bundle(f"{plural(len(rows), 'namespace')}{where}", Table(["namespace"], rows, empty="No namespaces."))


def search_bundle(client: Client, text: str, *, query: Optional[str] = None, limit: int = 10) -> dict[str, str]:
    parts = namespace(text)
    items = client.search_store(parts, query=query, limit=limit)
    rows = [[label(i.get("namespace") or []), str(i.get("key")), compact(i.get("value"), 80)] for i in items]
    if not query:
        rows.sort()
    more = f" (pass --limit N for more than {limit})" if len(rows) >= limit else ""
    matching = f" matching {query!r}" if query else ""
    intro = f"{plural(len(rows), 'item')} in {label(parts)}{matching}{more}"
    return bundle(intro, Table(["namespace", "key", "value"], rows, empty="No items."))


def item(client: Client, text: str, key: str) -> dict[str, Any]:
    parts = namespace(text)
    found = client.get_store_item(parts, key)
    if not found:
        raise AgentUsageError(f"No key {key!r} in namespace {label(parts)}: %agent store search {label(parts)} lists its keys.")
    return found


def get_bundle(client: Client, text: str, key: str) -> dict[str, Any]:
    found = item(client, text, key)
    value = json.dumps(found.get("value"), ensure_ascii=False, indent=2)
    return {"text/plain": f"{label(found.get('namespace') or [])} {key}:\n{value}", "application/json": found.get("value")}


def put(client: Client, text: str, key: str, value: dict[str, Any]) -> str:
    parts = namespace(text)
    client.put_store_item(parts, key, value)
    return f"Stored {key} in {label(parts)}."


def delete(client: Client, text: str, key: str) -> str:
    item(client, text, key)  # deleting a missing key would succeed silently
    parts = namespace(text)
    client.delete_store_item(parts, key)
    return f"Deleted {key} from {label(parts)}."
