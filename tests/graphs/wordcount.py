"""A graph whose input is not messages: ``{"text": ...}`` in, ``{"words": N}`` out.

Served only by the tests that need an assistant that does not take messages.
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict


class Input(TypedDict):
    text: str


class Output(TypedDict):
    words: int


class State(Input, Output):
    pass


def count(state: State) -> dict:
    return {"words": len(state["text"].split())}


graph = (
    StateGraph(State, input_schema=Input, output_schema=Output)
    .add_node("count", count)
    .add_edge(START, "count")
    .add_edge("count", END)
    .compile()
)
