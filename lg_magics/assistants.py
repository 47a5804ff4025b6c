"""``%agent assistants create/update/versions/use/delete``: assistants and their versions.

Each function asks the server what it needs and returns what the magic displays: a mimebundle
(a table with its plain-text twin, IDs in the last column) or one line.
"""

from __future__ import annotations

from typing import Any

from .client import Client
from .exceptions import AgentUsageError
from .runner import resolve_assistant
from .server import served_graphs
from .tables import Table, bundle
from .transcript import compact
from .words import plural

COLUMNS = ["name", "graph", "version", "config", "context", "assistant ID"]


def row(assistant: dict[str, Any]) -> list[str]:
    return [
        str(assistant.get("name") or ""),
        str(assistant.get("graph_id") or ""),
        str(assistant.get("version") or ""),
        compact(assistant.get("config") or {}, 40),
        compact(assistant.get("context") or {}, 40),
        str(assistant.get("assistant_id") or ""),
    ]


def _table(assistant: dict[str, Any]) -> Table:
    return Table(COLUMNS, [row(assistant)], code=frozenset({"assistant ID"}))


def find(client: Client, name: str) -> dict[str, Any]:
    """The assistant by name or ID; an unknown one lists the available names."""
    return client.get_assistant(resolve_assistant(client, name))


def create(client: Client, name: str, graph: str, fields: dict[str, Any]) -> dict[str, str]:
    """A new assistant; ``fields``: its config, context and metadata (those given)."""
    # The server would create a second assistant with the same name, which %%agent NAME cannot tell apart.
    same = [a for a in client.all_assistants() if a.get("name") == name]
    if same:
        raise AgentUsageError(
            f"An assistant named {name} exists already (version {same[0].get('version')}): "
            f"%agent assistants update {name} makes a new version, %agent assistants delete {name} removes it."
        )
    graphs = sorted(set(served_graphs(client)))
    if graphs and graph not in graphs:
        raise AgentUsageError(f"--graph: no graph {graph} on this server; its graphs are {', '.join(graphs)}.")
    created = client.create_assistant(graph, name=name, if_exists="raise", **fields)
    return bundle(f"Created assistant {name} on graph {graph}: %%agent {name} runs it.", _table(created))


def update(client: Client, name: str, fields: dict[str, Any]) -> dict[str, str]:
    """A new version of the assistant with ``fields`` (config, context, metadata) changed."""
    if not fields:
        raise AgentUsageError(
            f"Say what changes: %agent assistants update {name} --config JSON, --context JSON or --metadata JSON."
        )
    updated = client.update_assistant(find(client, name)["assistant_id"], **fields)
    return bundle(f"{name} is now version {updated.get('version')}.", _table(updated))


def versions(client: Client, name: str) -> dict[str, str]:
    assistant = find(client, name)
    found = client.assistant_versions(assistant["assistant_id"])
    latest = assistant.get("version")
    rows = [
        [
            str(v.get("version")),
            "latest" if v.get("version") == latest else "",
            compact(v.get("config") or {}, 40),
            compact(v.get("context") or {}, 40),
            compact(v.get("metadata") or {}, 40),
        ]
        for v in found
    ]
    table = Table(["version", "", "config", "context", "metadata"], rows, empty="No versions.")
    return bundle(f"{name}: {plural(len(rows), 'version')}, newest first", table)


def use(client: Client, name: str, version: int) -> dict[str, str]:
    assistant = find(client, name)
    known = sorted(int(v["version"]) for v in client.assistant_versions(assistant["assistant_id"]))
    if version not in known:
        raise AgentUsageError(
            f"{name} has no version {version} (versions: {', '.join(map(str, known))}): %agent assistants versions {name}."
        )
    latest = client.set_latest_version(assistant["assistant_id"], version)
    return bundle(f"{name} runs version {version} now.", _table(latest))


def delete(client: Client, name: str) -> str:
    assistant = find(client, name)
    if (assistant.get("metadata") or {}).get("created_by") == "system":
        raise AgentUsageError(f"{name} is the default assistant of graph {assistant.get('graph_id')}: the server keeps it.")
    client.delete_assistant(assistant["assistant_id"])
    return f"Deleted assistant {name}."
