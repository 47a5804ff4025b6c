"""The demo chat graph's replies: it must understand a question however a new user types it."""

from __future__ import annotations

import pytest

from lg_magics.demo.graphs import reply_to


@pytest.mark.parametrize(
    "question",
    ["What is my name?", "what is my name?", "what is my name", "WHAT IS MY NAME", "whats my name", "What's my name!"],
)
def test_name_questions_in_any_case_and_punctuation(question: str) -> None:
    assert reply_to(question, "Bagatur", 26) == "Your name is **Bagatur**."
    assert reply_to(question, None, None) == "I don't know your name yet. Tell me and I will remember it."


@pytest.mark.parametrize("question", ["how old am I", "How old am I?", "what's my age", "WHAT IS MY AGE?"])
def test_age_questions_in_any_case_and_punctuation(question: str) -> None:
    assert reply_to(question, "Bagatur", 26) == "You are **26** years old."


@pytest.mark.parametrize(
    "question", ["What is my name and how old am I?", "what is my name and how old am i", "What's my name and age"]
)
def test_both_questions(question: str) -> None:
    assert reply_to(question, "Bagatur", 26) == "Your name is **Bagatur** and you are **26** years old."


def test_statements_are_not_questions() -> None:
    said = "Hello! My name is Bagatur and I am 26 years old."
    assert reply_to(said, "Bagatur", 26) == "Nice to meet you, **Bagatur**! I will remember that you are 26 years old."
    assert reply_to("hello", None, None) == "You said: hello"
    assert reply_to("count to 3", None, None) == "1 2 3"
