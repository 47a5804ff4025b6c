"""Deterministic demo graphs served by ``%agent serve``.

Real LangGraph graphs with no LLM, no network and no key:

``chat``
    A messages graph. A fake chat model streams its reply word by word. It
    remembers the user's name and age ("My name is Bagatur and I am 26 years
    old.") in the thread state and answers questions about them from there.
    ``context={"delay": seconds}`` slows each token down; "count to N" makes a
    reply of N tokens.
``slow_chat``
    ``chat`` at 0.25 s per token unless ``context={"delay": ...}`` says
    otherwise: for cancelling, background runs and busy threads.
``approval``
    ``draft`` -> ``review`` (calls ``interrupt()`` asking for approval) ->
    ``finalize``, which uses the resume value (``true``/``false``, a dict with
    ``approved`` and an optional ``comment``, or text such as "yes"). The
    interrupt's ``response_schema`` asks for the dict, so live views show a form.
``tools``
    ``agent`` (an AI message with a tool call) -> ``tools`` (a ToolNode whose
    tool also emits a ``custom`` stream event) -> ``agent`` -> ``report`` (a
    compiled subgraph with node ``format``).
``boom``
    A node that always fails: the error path of a run.
``agent``
    A ``create_agent``-style agent (``model`` <-> ``tools``) whose fake model streams what
    ``langchain-anthropic`` streams (``--context '{"provider": "openai"}'``: OpenAI Responses,
    ``deepseek``, ``v1``): reasoning, a short answer, parallel streamed tool calls (the weather of
    each city asked about, and an air-quality tool that always fails), usage and a model name.
``essay``
    ``outline`` (a ``plan`` of three points about the topic the cell names) ->
    ``write`` (a ``draft`` and its ``words``) -> ``shorten`` when ``words`` is
    over ``max_words`` (default 12) -> ``publish`` (the draft as an AI
    message). State beyond messages and a branch: for forking, state edits
    and breakpoints.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any, Optional

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.tools import tool
from langgraph.config import get_stream_writer
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition
from langgraph.runtime import Runtime
from langgraph.types import interrupt
from typing_extensions import TypedDict

_NAME = re.compile(r"\bmy name is ([A-Z][\w-]*)", re.IGNORECASE)
_AGE = re.compile(r"\bI am (\d{1,3})(?: years old)?\b", re.IGNORECASE)
_COUNT = re.compile(r"\bcount to (\d{1,6})\b", re.IGNORECASE)
_TOKEN = re.compile(r"\S+\s*")


def _text(message: BaseMessage) -> str:
    return message.content if isinstance(message.content, str) else str(message.content)


def _last_human(messages: Sequence[BaseMessage]) -> Optional[BaseMessage]:
    return next((m for m in reversed(messages) if isinstance(m, HumanMessage)), None)


def remember(messages: Sequence[BaseMessage], name: Optional[str], age: Optional[int]) -> tuple[Optional[str], Optional[int]]:
    """Name and age as the user last stated them, starting from what the state knew."""
    for message in messages:
        if isinstance(message, HumanMessage):
            if found := _NAME.search(_text(message)):
                name = found.group(1)
            if found := _AGE.search(_text(message)):
                age = int(found.group(1))
    return name, age


def _words(said: str) -> str:
    """The message in lower case with punctuation gone ("What's my name?!" -> "whats my name")."""
    return " ".join(re.sub(r"[^\w\s]", "", said.lower()).split())


def reply_to(said: str, name: Optional[str], age: Optional[int]) -> str:
    if found := _COUNT.search(said):
        return " ".join(str(i) for i in range(1, int(found.group(1)) + 1))
    words = f" {_words(said)} "
    # A question whatever its case or punctuation: a question mark, or a question word first.
    question = "?" in said or words.split()[:1] in (["what"], ["whats"], ["who"], ["how"], ["do"], ["tell"], ["remind"])
    asks_name = question and not _NAME.search(said) and (" my name " in words or " who am i " in words)
    asks_age = question and not _AGE.search(said) and (" how old " in words or " age " in words)
    if asks_name or asks_age:
        known = []
        if asks_name and name:
            known.append(f"your name is **{name}**")
        if asks_age and age is not None:
            known.append(f"you are **{age}** years old")
        if known:
            sentence = " and ".join(known)
            return sentence[0].upper() + sentence[1:] + "."
        missing = " or ".join(part for part, asked in (("your name", asks_name), ("your age", asks_age)) if asked)
        return f"I don't know {missing} yet. Tell me and I will remember it."
    if name and _NAME.search(said):
        extra = f" I will remember that you are {age} years old." if age is not None and _AGE.search(said) else ""
        return f"Nice to meet you, **{name}**!{extra}"
    return f"You said: {said}"


class EchoChatModel(BaseChatModel):
    """A deterministic chat model: the reply is already written, it only streams it."""

    reply: str
    delay: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "lg-magics-echo"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply))])

    async def _agenerate(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> ChatResult:
        # Without a messages stream mode the model is invoked, not streamed: take as long anyway.
        if self.delay:
            await asyncio.sleep(self.delay * len(_TOKEN.findall(self.reply)))
        return self._generate(messages)

    def _stream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> Iterator[ChatGenerationChunk]:
        raise NotImplementedError("the demo model streams asynchronously only")

    async def _astream(
        self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kwargs: Any
    ) -> AsyncIterator[ChatGenerationChunk]:
        for token in _TOKEN.findall(self.reply):
            if self.delay:
                await asyncio.sleep(self.delay)
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=token))
            if run_manager:
                await run_manager.on_llm_new_token(token, chunk=chunk)
            yield chunk


class ChatContext(TypedDict, total=False):
    delay: float  # seconds per streamed token, to make a run slow


class ChatState(MessagesState):
    user_name: Optional[str]
    user_age: Optional[int]


def chat_graph(default_delay: float = 0.0) -> Any:
    async def respond(state: ChatState, runtime: Runtime[ChatContext]) -> dict:
        name, age = remember(state["messages"], state.get("user_name"), state.get("user_age"))
        last = _last_human(state["messages"])
        reply = reply_to(_text(last) if last is not None else "", name, age)
        delay = float((runtime.context or {}).get("delay", default_delay) or 0)
        message = await EchoChatModel(reply=reply, delay=delay).ainvoke(state["messages"])
        return {"messages": [message], "user_name": name, "user_age": age}

    return (
        StateGraph(ChatState, context_schema=ChatContext)
        .add_node("respond", respond)
        .add_edge(START, "respond")
        .add_edge("respond", END)
        .compile()
    )


chat = chat_graph()
slow_chat = chat_graph(default_delay=0.25)


class ApprovalState(TypedDict, total=False):
    messages: list
    request: str
    draft: str
    approved: Any
    result: str


def _request_text(state: ApprovalState) -> str:
    """The latest message when the cell sent one (``%%agent approval``), else ``request``."""
    messages = state.get("messages") or []
    last = messages[-1] if messages else None
    content = last.get("content") if isinstance(last, dict) else getattr(last, "content", last)
    return str(content or state.get("request") or "")


def draft(state: ApprovalState) -> dict:
    request = _request_text(state)
    return {"request": request, "draft": f"DRAFT: {request}"}


#: What review's interrupt asks for. A dict schema travels to clients as it is and is not checked,
#: so "yes" and true still work (a pydantic model here would make langgraph validate the answer).
REVIEW_ANSWER = {
    "type": "object",
    "title": "Review",
    "properties": {
        "approved": {"type": "boolean", "title": "Approve", "description": "publish the draft"},
        "comment": {"type": "string", "title": "Comment", "description": "added to the result"},
    },
    "required": ["approved"],
}


def review(state: ApprovalState) -> dict:
    answer = interrupt({"question": "Approve this draft?", "draft": state["draft"]}, response_schema=REVIEW_ANSWER)
    return {"approved": answer}


def approved(answer: Any) -> bool:
    if isinstance(answer, dict):
        answer = answer.get("approved")
    if isinstance(answer, str):
        return answer.strip().lower() in ("yes", "y", "true", "ok", "approve", "approved")
    return bool(answer)


def finalize(state: ApprovalState) -> dict:
    answer = state.get("approved")
    verdict = "published" if approved(answer) else "rejected"
    comment = answer.get("comment") if isinstance(answer, dict) else None
    return {"result": f"{verdict}: {state['draft']}" + (f" ({comment})" if comment else "")}


approval = (
    StateGraph(ApprovalState)
    .add_node("draft", draft)
    .add_node("review", review)
    .add_node("finalize", finalize)
    .add_edge(START, "draft")
    .add_edge("draft", "review")
    .add_edge("review", "finalize")
    .add_edge("finalize", END)
    .compile()
)


@tool
def get_weather(city: str) -> str:
    """Return the (fake) weather for a city."""
    get_stream_writer()({"tool": "get_weather", "city": city})
    return f"It is sunny in {city}."


def agent(state: MessagesState) -> dict:
    last = state["messages"][-1]
    if isinstance(last, ToolMessage):
        return {"messages": [AIMessage(content=f"Weather report: {last.content}")]}
    words = _text(last).strip().split()
    city = words[-1].strip("?.!,") if words else "Paris"
    call = {"name": "get_weather", "args": {"city": city}, "id": "call_1", "type": "tool_call"}
    return {"messages": [AIMessage(content="", tool_calls=[call])]}


def route(state: MessagesState) -> str:
    return "tools" if getattr(state["messages"][-1], "tool_calls", None) else "report"


def format_report(state: MessagesState) -> dict:
    return {"messages": [AIMessage(content="(report formatted)")]}


report = StateGraph(MessagesState).add_node("format", format_report).add_edge(START, "format").add_edge("format", END).compile()

tools = (
    StateGraph(MessagesState)
    .add_node("agent", agent)
    .add_node("tools", ToolNode([get_weather]))
    .add_node("report", report)
    .add_edge(START, "agent")
    .add_conditional_edges("agent", route, ["tools", "report"])
    .add_edge("tools", "agent")
    .add_edge("report", END)
    .compile()
)


class BoomState(TypedDict, total=False):
    messages: list
    kind: str


def explode(state: BoomState) -> dict:
    raise ValueError("kaboom: the boom node always fails")


boom = StateGraph(BoomState).add_node("explode", explode).add_edge(START, "explode").add_edge("explode", END).compile()


# -- agent: what a real LLM agent streams ----------------------------------------------------------
_WEATHER = {"Paris": ("sunny", 21), "Tokyo": ("rainy", 17), "London": ("foggy", 12), "Lima": ("cloudy", 19)}


@tool
def get_weather_report(city: str) -> str:
    """The (fake) weather in a city: sky and temperature."""
    sky, degrees = _WEATHER.get(city, ("clear", 20))
    return f"{sky}, {degrees} °C"


@tool
def get_air_quality(city: str) -> str:
    """The air quality in a city. The (fake) service is always down."""
    raise RuntimeError(f"the air-quality service is unavailable for {city}")


def _cities(text: str) -> list[str]:
    found = [city for city in _WEATHER if city.lower() in text.lower()]
    return found or ["Paris", "Tokyo"]


def agent_turn(messages: Sequence[BaseMessage]) -> Any:
    """The fake model's reply: look the cities up in parallel, then answer from the tool results."""
    from lg_magics.demo.providers import Turn

    last = _last_human(messages)
    asked = last.text if last is not None else ""  # .text: the words of a multimodal message, not its blocks
    cities = _cities(asked)
    results: list[ToolMessage] = []
    for message in reversed(messages):
        if not isinstance(message, ToolMessage):
            break
        results.insert(0, message)
    if not results:
        names = " and ".join(cities)
        return Turn(
            reasoning=f"The user asks about the weather in {names}. I can look every city up at once, "
            f"and check the air quality in {cities[0]} too.",
            text=f"Let me look up {names}.",
            calls=[("get_weather_report", {"city": c}) for c in cities] + [("get_air_quality", {"city": cities[0]})],
            input_tokens=24 * len(asked.split()) + 310,
            output_tokens=18 * len(cities) + 40,
        )
    lines = []
    for city, result in zip(cities, results):
        lines.append(f"- **{city}**: {_text(result)}")
    failed = [r for r in results if r.status == "error"]
    note = "\n\nThe air-quality service is down, so I could not check the air." if failed else ""
    return Turn(
        reasoning="I have every forecast; one tool failed, so I say so.",
        text="Here is the weather:\n\n" + "\n".join(lines) + note,
        input_tokens=24 * len(asked.split()) + 520,
        output_tokens=12 * len(lines) + 30,
    )


class AgentContext(TypedDict, total=False):
    provider: str  # anthropic (default), openai, deepseek or v1: the shape the model streams in
    delay: float  # seconds per streamed chunk


async def call_model(state: MessagesState, runtime: Runtime[AgentContext]) -> dict:
    from lg_magics.demo.providers import ProviderChatModel

    context = runtime.context or {}
    model = ProviderChatModel(
        provider=context.get("provider") or "anthropic", script=agent_turn, delay=float(context.get("delay") or 0)
    )
    return {"messages": [await model.ainvoke(state["messages"])]}


agent_graph = (
    StateGraph(MessagesState, context_schema=AgentContext)
    .add_node("model", call_model)
    .add_node("tools", ToolNode([get_weather_report, get_air_quality], handle_tool_errors=True))
    .add_edge(START, "model")
    .add_conditional_edges("model", tools_condition, ["tools", END])
    .add_edge("tools", "model")
    .compile()
)


class EssayState(MessagesState, total=False):
    topic: str
    plan: list[str]
    draft: str
    words: int
    max_words: int


def _essay_topic(state: EssayState) -> str:
    last = _last_human(state.get("messages") or [])
    return (_text(last) if last is not None else state.get("topic") or "notebooks").strip().rstrip(".!?")


def outline(state: EssayState) -> dict:
    topic = _essay_topic(state)
    return {"topic": topic, "plan": [f"why {topic} matters", f"how {topic} works", f"what comes next for {topic}"]}


def write(state: EssayState) -> dict:
    draft = " ".join(f"{point[0].upper()}{point[1:]}." for point in state.get("plan") or [])
    return {"draft": draft, "words": len(draft.split())}


def too_long(state: EssayState) -> str:
    return "shorten" if state.get("words", 0) > state.get("max_words", 12) else "publish"


def shorten(state: EssayState) -> dict:
    words = (state.get("draft") or "").split()[: state.get("max_words", 12)]
    draft = " ".join(words).rstrip(".") + "…"
    return {"draft": draft, "words": len(words)}


def publish(state: EssayState) -> dict:
    return {"messages": [AIMessage(content=state.get("draft") or "")]}


essay = (
    StateGraph(EssayState)
    .add_node("outline", outline)
    .add_node("write", write)
    .add_node("shorten", shorten)
    .add_node("publish", publish)
    .add_edge(START, "outline")
    .add_edge("outline", "write")
    .add_conditional_edges("write", too_long, ["shorten", "publish"])
    .add_edge("shorten", "publish")
    .add_edge("publish", END)
    .compile()
)
