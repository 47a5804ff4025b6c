"""Resume forms from an interrupt's response_schema: the fields, the value, the hint (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from lg_magics.exceptions import AgentUsageError
from lg_magics.forms import Field, answer_hint, form_fields, form_value, resume_forms

REVIEW = {
    "type": "object",
    "title": "Review",
    "properties": {
        "approved": {"type": "boolean", "title": "Approved"},
        "comment": {"type": "string", "title": "Comment"},
    },
    "required": ["approved"],
}

#: What pydantic's TypeAdapter(Model).json_schema() gives (langgraph sends that for a model type):
#: $defs and $ref, Optional as anyOf with null, Literal as enum.
PYDANTIC = {
    "$defs": {"Level": {"enum": ["low", "high"], "title": "Level", "type": "string"}},
    "properties": {
        "level": {"$ref": "#/$defs/Level"},
        "retries": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None, "title": "Retries"},
        "ratio": {"type": "number", "title": "Ratio", "default": 0.5},
        "tags": {"type": "array", "items": {"type": "string"}, "title": "Tags"},
    },
    "required": ["level", "tags"],
    "title": "Decision",
    "type": "object",
}


def test_an_object_schema_gives_one_field_per_property() -> None:
    fields = form_fields(REVIEW)
    assert fields == (
        Field("approved", "boolean", "Approved", required=True),
        Field("comment", "string", "Comment", required=False),
    )


def test_refs_optionals_enums_and_defaults_as_pydantic_writes_them() -> None:
    level, retries, ratio, tags = form_fields(PYDANTIC) or ()
    assert (level.kind, level.choices, level.required) == ("choice", ("low", "high"), True)
    assert (retries.kind, retries.required, retries.title) == ("integer", False, "Retries")
    assert (ratio.kind, ratio.default, ratio.required) == ("number", 0.5, False)
    assert (tags.kind, tags.required) == ("json", True)


@pytest.mark.parametrize(
    ("schema", "kind"),
    [
        ({"type": "boolean"}, "boolean"),
        ({"type": "string"}, "string"),
        ({"enum": ["a", "b"]}, "choice"),
        ({"type": "array"}, "json"),
    ],
)
def test_a_schema_for_one_value_gives_one_unnamed_field(schema: dict[str, Any], kind: str) -> None:
    [field] = form_fields(schema) or ()
    assert (field.name, field.kind, field.required) == (None, kind, True)


@pytest.mark.parametrize(
    "schema",
    [None, {}, "not a schema", {"type": "object"}, {"type": "object", "properties": {}}, {"anyOf": [{"type": "null"}]}],
)
def test_no_form_when_the_schema_cannot_make_one(schema: Any) -> None:
    assert form_fields(schema) is None
    assert resume_forms([{"id": "i1", "value": "?", "response_schema": schema}]) is None


def test_a_filled_form_makes_the_value_with_types_parsed() -> None:
    [form] = resume_forms([{"id": "i1", "value": "?", "response_schema": PYDANTIC}]) or ()
    value = form_value((form,), [{"level": "high", "retries": " 3 ", "ratio": "0.25", "tags": '["a"]'}])
    assert value == {"level": "high", "retries": 3, "ratio": 0.25, "tags": ["a"]}
    # Left empty: an optional field is not sent at all.
    assert form_value((form,), [{"level": "low", "retries": "", "ratio": None, "tags": "[]"}]) == {"level": "low", "tags": []}


def test_a_single_value_form_makes_the_bare_value() -> None:
    forms = resume_forms([{"id": "i1", "value": "?", "response_schema": {"type": "boolean"}}]) or ()
    assert form_value(forms, [{None: False}]) is False


@pytest.mark.parametrize(
    ("entered", "message"),
    [
        ({"level": "low", "tags": ""}, "Fill in Tags: the interrupt needs it (JSON)."),
        ({"level": "low", "tags": "[", "retries": ""}, "Tags must be JSON, not '['."),
        ({"level": "low", "tags": "[]", "retries": "three"}, "Retries must be a whole number, not 'three'."),
    ],
)
def test_bad_entries_say_which_field_to_fix(entered: dict[str, Any], message: str) -> None:
    forms = resume_forms([{"id": "i1", "value": "?", "response_schema": PYDANTIC}]) or ()
    with pytest.raises(AgentUsageError) as caught:
        form_value(forms, [entered])
    assert str(caught.value) == message


def test_several_interrupts_are_answered_in_a_map_by_id() -> None:
    interrupts = [
        {"id": "a1", "value": "ok?", "response_schema": {"type": "boolean"}},
        {"id": "b2", "value": "why?", "response_schema": None},  # no schema: a JSON field
    ]
    forms = resume_forms(interrupts) or ()
    assert [f.interrupt_id for f in forms] == ["a1", "b2"] and forms[1].fields[0].kind == "json"
    assert form_value(forms, [{None: True}, {None: '"because"'}]) == {"a1": True, "b2": "because"}
    # Without ids the answers could not be told apart: the text field stays.
    assert resume_forms([{"value": "x", "response_schema": {"type": "boolean"}}, {"value": "y"}]) is None


def test_the_hint_says_what_an_answer_looks_like() -> None:
    assert answer_hint(REVIEW) == "answer: {approved: true/false, comment: text (optional)}"
    assert answer_hint({"enum": ["approve", "reject"]}) == 'answer: one of "approve" | "reject"'
    assert answer_hint(None) == "" and answer_hint({"type": "object"}) == ""
