"""Agents as real deployments run them, with fake models that stream what provider packages stream.

``anthropic``, ``openai``, ``deepseek``, ``v1``
    ``create_react_agent`` with a model in that provider's shapes: reasoning, text, three parallel
    streamed tool calls (one tool fails and comes back as a ``status="error"`` tool message), usage
    and a model name; then a final answer.
``painter``
    A model that answers with an image (OpenAI Responses ``image_generation_call``).
``nested``
    A parent graph whose ``research`` node is a subgraph: its ``think`` node streams a model and
    writes a ``custom`` event.
``fanout``
    ``Send`` to two ``lookup`` tasks that stream a model side by side.
``trim``
    Two answers, then a ``RemoveMessage`` of the first.
``structured``
    An answer plus a ``structured_response`` key.
``counter``
    No messages at all: ``{"text"}`` in, ``{"words"}`` out.
``router``
    A node that returns a ``Command`` (an update with a streamed model's message, and where to go).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, RemoveMessage, ToolMessage
from langchain_core.tools import tool
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, create_react_agent
from langgraph.types import Command, Send
from typing_extensions import TypedDict

from lg_magics.demo.providers import ProviderChatModel, Turn

PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(2400)).decode()


@tool
def get_weather(city: str) -> str:
    """The (fake) weather in a city."""
    return {"Paris": "sunny, 21 °C", "Tokyo": "rainy, 17 °C"}.get(city, "cloudy")


@tool
def flaky(city: str) -> str:
    """A tool that is always down."""
    raise ValueError(f"the flaky service is down for {city}")


def agent_script(messages: Sequence[BaseMessage]) -> Turn:
    if isinstance(messages[-1], ToolMessage):
        return Turn(
            text="Paris is sunny and Tokyo is rainy; the flaky service failed.",
            reasoning="Both forecasts are in.",
            input_tokens=300,
            output_tokens=20,
        )
    return Turn(
        text="Checking both cities.",
        reasoning="The user wants the weather.\n\nCall the tools in parallel.",
        calls=[("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Tokyo"}), ("flaky", {"city": "Rome"})],
        input_tokens=120,
        output_tokens=45,
    )


def react(provider: str) -> Any:
    model = ProviderChatModel(provider=provider, script=agent_script)
    return create_react_agent(model, ToolNode([get_weather, flaky], handle_tool_errors=True))


anthropic = react("anthropic")
openai = react("openai")
deepseek = react("deepseek")
v1 = react("v1")


async def paint(state: MessagesState) -> dict:
    model = ProviderChatModel(provider="openai", script=lambda m: Turn(text="Here is your cat.", images=[("image/png", PNG)], input_tokens=5, output_tokens=7))  # fmt: skip
    return {"messages": [await model.ainvoke(state["messages"])]}


painter = StateGraph(MessagesState).add_node("paint", paint).add_edge(START, "paint").add_edge("paint", END).compile()


async def think(state: MessagesState) -> dict:
    get_stream_writer()({"progress": "thinking inside the subgraph"})
    model = ProviderChatModel(provider="anthropic", script=lambda m: Turn(text="Inner thoughts done.", reasoning="Deep inside.", input_tokens=3, output_tokens=4))  # fmt: skip
    return {"messages": [await model.ainvoke(state["messages"])]}


research = StateGraph(MessagesState).add_node("think", think).add_edge(START, "think").add_edge("think", END).compile()


def answer(state: MessagesState) -> dict:
    return {"messages": [AIMessage(content="The subgraph has spoken.", id="nested-answer")]}


nested = (
    StateGraph(MessagesState)
    .add_node("research", research)
    .add_node("answer", answer)
    .add_edge(START, "research")
    .add_edge("research", "answer")
    .add_edge("answer", END)
    .compile()
)


class FanState(MessagesState):
    city: str


def fan(state: FanState) -> list[Send]:
    return [Send("lookup", {"messages": state["messages"], "city": city}) for city in ("Paris", "Tokyo")]


async def lookup(state: FanState) -> dict:
    city = state["city"]
    model = ProviderChatModel(provider="deepseek", script=lambda m: Turn(text=f"Looked up {city}.", input_tokens=10, output_tokens=3))  # fmt: skip
    return {"messages": [await model.ainvoke(state["messages"])]}


fanout = (
    StateGraph(FanState)
    .add_node("lookup", lookup)
    .add_conditional_edges(START, fan, ["lookup"])
    .add_edge("lookup", END)
    .compile()
)


def first(state: MessagesState) -> dict:
    return {"messages": [AIMessage(content="A draft answer.", id="draft-answer")]}


def second(state: MessagesState) -> dict:
    return {"messages": [AIMessage(content="The final answer.", id="final-answer")]}


def prune(state: MessagesState) -> dict:
    return {"messages": [RemoveMessage(id="draft-answer")]}


trim = (
    StateGraph(MessagesState)
    .add_node("first", first)
    .add_node("second", second)
    .add_node("prune", prune)
    .add_edge(START, "first")
    .add_edge("first", "second")
    .add_edge("second", "prune")
    .add_edge("prune", END)
    .compile()
)


class StructuredState(MessagesState):
    structured_response: dict


def respond(state: StructuredState) -> dict:
    return {
        "messages": [AIMessage(content="Paris: sunny.", id="structured-answer")],
        "structured_response": {"city": "Paris", "sky": "sunny"},
    }


structured = (
    StateGraph(StructuredState).add_node("respond", respond).add_edge(START, "respond").add_edge("respond", END).compile()
)


class Count(TypedDict, total=False):
    text: str
    words: int


def count(state: Count) -> dict:
    return {"words": len(state["text"].split())}


counter = StateGraph(Count).add_node("count", count).add_edge(START, "count").add_edge("count", END).compile()


async def route(state: MessagesState) -> Command:
    model = ProviderChatModel(provider="openai", script=lambda m: Turn(text="Routing to the desk.", reasoning="Pick a desk.", input_tokens=8, output_tokens=4))  # fmt: skip
    return Command(update={"messages": [await model.ainvoke(state["messages"])]}, goto="desk")


def desk(state: MessagesState) -> dict:
    return {"messages": [AIMessage(content="The desk answers.", id="desk-answer")]}


router = (
    StateGraph(MessagesState)
    .add_node("route", route, destinations=("desk",))
    .add_node("desk", desk)
    .add_edge(START, "route")
    .compile()
)
