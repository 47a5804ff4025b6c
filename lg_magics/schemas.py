"""Does an assistant take messages? Asked once per assistant and server, then remembered.

A plain-text cell becomes ``{"messages": [...]}``. Sent to a graph whose
input has no ``messages``, that would run on an empty state and fail in some
node with an error that says nothing about the cell, so we look at the
graph's input schema first (``GET /assistants/{id}/schemas``) and say to use
``--json``. The answer is cached per kernel, so only an assistant's first
plain-text run pays for the look-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .exceptions import AgentUsageError, ServerError

if TYPE_CHECKING:
    from .client import Client


def input_keys(schemas: Any) -> Optional[list[str]]:
    """The top-level keys of ``input_schema``; None when the schema does not say (no schema, no properties)."""
    schema = schemas.get("input_schema") if isinstance(schemas, dict) else None
    if not isinstance(schema, dict):
        return None
    schema = local_schema(schema, schema)
    properties = schema.get("properties") if isinstance(schema, dict) else None
    return list(properties) if isinstance(properties, dict) and properties else None


def local_schema(schema: Any, root: dict[str, Any]) -> Any:
    """A JSON Schema with its local ``$ref`` (``#/$defs/Name``, as pydantic writes them) followed;
    None for a reference to nothing."""
    for _ in range(8):  # a chain of references; never a cycle
        ref = schema.get("$ref") if isinstance(schema, dict) else None
        if not (isinstance(ref, str) and ref.startswith("#/$defs/")):
            return schema
        schema = (root.get("$defs") or {}).get(ref.removeprefix("#/$defs/"))
    return None


def text_input_hint(assistant: str, keys: Optional[list[str]]) -> Optional[str]:
    """The one line to show when a plain-text cell goes to an assistant that does not take messages."""
    if keys is None or "messages" in keys:
        return None
    example = ", ".join(f'"{key}": ...' for key in keys[:2])
    return (
        f"{assistant} does not take messages (its input has {', '.join(keys)}): write the input as JSON "
        f"and add --json, e.g. %%agent {assistant} --json with {{{example}}} in the cell."
    )


class InputSchemas:
    """Input keys per (server URL, assistant), fetched on first use."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, str], Optional[list[str]]] = {}

    def keys(self, client: Client, assistant: str) -> Optional[list[str]]:
        key = (client.url, assistant)
        if key not in self._keys:
            from .runner import assistant_id

            try:
                schemas = client.get_schemas(assistant_id(client, assistant))
            except ServerError:
                return None  # unknown assistant or an old server: the run itself says what is wrong
            self._keys[key] = input_keys(schemas)
        return self._keys[key]

    def check_text_input(self, client: Client, assistant: str) -> None:
        hint = text_input_hint(assistant, self.keys(client, assistant))
        if hint:
            raise AgentUsageError(hint)
