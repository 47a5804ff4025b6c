"""Answers to interrupts that say what they expect: ``interrupt(value, response_schema=...)`` puts a
JSON Schema on the wire. From it come the fields of the live view's resume form, the value a filled
form makes, and one line saying what an answer looks like (in the summaries, for ``--resume``).

Pure: the live view builds its widgets from :class:`Field` (``lg_magics.view``). A schema a form
cannot express (no properties, a union of objects) gets no form: the view keeps its text field.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Optional

from .exceptions import AgentUsageError
from .schemas import local_schema

#: Field kinds and how :func:`answer_hint` names what each takes.
KIND_WORDS = {"boolean": "true/false", "integer": "a whole number", "number": "a number", "string": "text", "json": "JSON"}


@dataclasses.dataclass(frozen=True)
class Field:
    """One input of a resume form."""

    name: Optional[str]  # None: the answer is this one value, not an object of fields
    kind: str  # boolean | integer | number | string | choice | json
    title: str
    required: bool
    default: Any = None
    choices: tuple[Any, ...] = ()  # kind "choice": the schema's enum
    description: str = ""

    @property
    def words(self) -> str:
        if self.kind == "choice":
            return "one of " + " | ".join(json.dumps(c, ensure_ascii=False) for c in self.choices)
        return KIND_WORDS[self.kind]


@dataclasses.dataclass(frozen=True)
class Form:
    """The form for one pending interrupt."""

    interrupt_id: Optional[str]
    fields: tuple[Field, ...]


def form_fields(schema: Any) -> Optional[tuple[Field, ...]]:
    """The fields of a form for a JSON Schema; None when no form can express it."""
    if not isinstance(schema, dict) or not schema:
        return None  # no schema, or "any value": the text field takes text or JSON
    top, _ = _unwrap(schema, schema)
    if top is None:
        return None
    if _kind(top) != "object":
        return (_field(None, top, schema, required=True),)
    properties = top.get("properties")
    if not isinstance(properties, dict) or not properties:
        return None
    required = set(top.get("required") or ())
    return tuple(_field(str(name), prop, schema, required=name in required) for name, prop in properties.items())


def resume_forms(interrupts: list[dict[str, Any]]) -> Optional[tuple[Form, ...]]:
    """Forms for a run's pending interrupts, when at least one carries a schema a form can express.
    Several interrupts are answered together, in a map keyed by interrupt id (an interrupt with no
    usable schema gets a JSON field)."""
    found = [(interrupt.get("id"), form_fields(interrupt.get("response_schema"))) for interrupt in interrupts]
    if not any(fields for _, fields in found):
        return None
    forms = [Form(id_, fields or (Field(None, "json", "answer", True),)) for id_, fields in found]
    if len(forms) > 1 and not all(form.interrupt_id for form in forms):
        return None  # several answers need the ids to be told apart
    return tuple(forms)


def form_value(forms: tuple[Form, ...], entered: list[dict[Optional[str], Any]]) -> Any:
    """The resume value of filled forms (``entered``: per form, field name to what its input holds,
    None or "" for nothing). One :class:`AgentUsageError` line names the field to fix."""
    values = [_value(form.fields, got) for form, got in zip(forms, entered)]
    if len(forms) == 1:
        return values[0]
    return {form.interrupt_id: value for form, value in zip(forms, values)}


def answer_hint(schema: Any) -> str:
    """What an answer to an interrupt with this schema looks like, in one line ("" for none)."""
    fields = form_fields(schema)
    if not fields:
        return ""
    if fields[0].name is None:
        return f"answer: {fields[0].words}"
    parts = [f"{f.name}: {f.words}" + ("" if f.required else " (optional)") for f in fields]
    return "answer: {" + ", ".join(parts) + "}"


def _value(fields: tuple[Field, ...], entered: dict[Optional[str], Any]) -> Any:
    value: dict[Optional[str], Any] = {}
    for field in fields:
        got = entered.get(field.name)
        if got is None or (isinstance(got, str) and not got.strip()):
            if field.required:
                raise AgentUsageError(f"Fill in {field.title}: the interrupt needs it ({field.words}).")
            continue
        value[field.name] = _parse(field, got)
    return value[None] if fields[0].name is None else value


def _parse(field: Field, got: Any) -> Any:
    if field.kind in ("boolean", "choice") or not isinstance(got, str):
        return got  # the widget holds the value itself (a checkbox, a choice)
    try:
        if field.kind == "integer":
            return int(got.strip())
        if field.kind == "number":
            return float(got.strip())
        if field.kind == "json":
            return json.loads(got)
    except ValueError:
        raise AgentUsageError(f"{field.title} must be {field.words}, not {got.strip()[:40]!r}.") from None
    return got


def _field(name: Optional[str], prop: Any, root: dict[str, Any], *, required: bool) -> Field:
    schema, optional = _unwrap(prop, root)
    schema = schema or {}
    kind = _kind(schema)
    return Field(
        name,
        "json" if kind == "object" else kind,
        title=str(schema.get("title") or (prop.get("title") if isinstance(prop, dict) else None) or name or "answer"),
        required=required and not optional,
        default=schema.get("default"),
        choices=tuple(schema.get("enum") or ((schema["const"],) if "const" in schema else ())),
        description=str(schema.get("description") or ""),
    )


def _unwrap(schema: Any, root: dict[str, Any]) -> tuple[Optional[dict[str, Any]], bool]:
    """A schema with its local ``$ref`` followed and an optional (``anyOf`` with ``null``) taken
    apart; and whether null was allowed."""
    optional = False
    for _ in range(8):  # optionals nested in references; never a cycle
        schema = local_schema(schema, root)
        if not isinstance(schema, dict):
            return None, optional
        union = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(union, list):
            members = [m for m in union if not (isinstance(m, dict) and m.get("type") == "null")]
            optional = optional or len(members) < len(union)
            if len(members) != 1:
                return ({"type": "json"} if members else None), optional
            schema = {**{k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}, **members[0]}
            continue
        types = schema.get("type")
        if isinstance(types, list):
            optional = optional or "null" in types
            rest = [t for t in types if t != "null"]
            schema = {**schema, "type": rest[0] if len(rest) == 1 else "json"}
        return schema, optional
    return None, optional


def _kind(schema: dict[str, Any]) -> str:
    if "enum" in schema or "const" in schema:
        return "choice"
    kind = schema.get("type")
    if kind in ("boolean", "integer", "number", "string", "object"):
        return str(kind)
    if kind is None and isinstance(schema.get("properties"), dict):
        return "object"
    return "json"
