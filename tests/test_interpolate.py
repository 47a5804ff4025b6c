"""``{{name}}`` in cells: what is replaced, what is left alone, and the one-line errors."""

from __future__ import annotations

import json

import pytest

from lg_magics.exceptions import AgentUsageError
from lg_magics.interpolate import interpolate, placeholders


def test_names_are_replaced_by_their_values() -> None:
    assert interpolate("Hi {{name}}, you are {{ age }}.", {"name": "Ada", "age": 36}) == "Hi Ada, you are 36."


@pytest.mark.parametrize(
    "text",
    [
        '{"messages": [{"role": "human", "content": "hi"}]}',  # JSON: single braces
        "def f(): return {k: v for k, v in d.items()}",  # code
        'f"{{x}}"'.replace("x", "1x"),  # not an identifier inside
        "{{#each items}}{{/each}}",  # Handlebars blocks
        "{{ a.b }}",  # attribute access is not a placeholder
        "{ {name} }",
    ],
)
def test_text_that_is_not_a_placeholder_is_left_alone(text: str) -> None:
    assert interpolate(text, {}) == text


def test_escape_keeps_the_braces() -> None:
    assert interpolate(r"literal \{{name}} and {{name}}", {"name": "Ada"}) == "literal {{name}} and Ada"
    assert placeholders(r"\{{a}} {{b}} {{ c | json }}") == ["b", "c"]


def test_json_filter_quotes_and_escapes() -> None:
    value = 'say "hi"\nnow'
    text = interpolate('{"text": {{value | json}}, "n": {{n|json}}}', {"value": value, "n": 3})
    assert json.loads(text) == {"text": value, "n": 3}


def test_json_filter_turns_numpy_like_scalars_into_numbers() -> None:
    class Scalar:  # what numpy and pandas scalars look like to json: an .item() method
        def item(self) -> int:
            return 7

    assert interpolate("{{x|json}}", {"x": Scalar()}) == "7"


def test_unknown_name_is_one_line_that_says_what_to_do() -> None:
    with pytest.raises(AgentUsageError) as info:
        interpolate("hello {{nobody}}", {})
    message = str(info.value)
    assert message == (
        "{{nobody}} in the cell: no variable named nobody. Define it, write \\{{nobody}} to keep the braces, "
        "or pass --no-interpolate."
    )
    assert "\n" not in message


def test_unknown_filter_is_an_error() -> None:
    with pytest.raises(AgentUsageError, match="Unknown filter 'upper'.*the only filter is \\| json"):
        interpolate("{{x|upper}}", {"x": 1})
