"""Real agents through %%agent: the real embedded Agent Server serving tests/graphs/agents, whose fake
models stream exactly what the provider packages stream. Each run is checked in the summary's plain
text, its HTML and ``_agent``: every text once, every tool call once with its arguments, reasoning,
tool errors as errors, usage and model, images."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lg_magics.server import EmbeddedServer

from .conftest import Shell

pytestmark = pytest.mark.server

PROVIDERS = {"anthropic": "claude-sonnet-4-5", "openai": "gpt-5-mini", "deepseek": "deepseek-reasoner", "v1": "gpt-5-mini"}
MODES = ["", "--stream-mode messages-tuple", "--stream-mode updates", "--stream-mode values", "--stream-mode messages",
         "--stream-mode events", "--stream-mode debug", "--stream-mode tasks", "--wait"]  # fmt: skip
FIRST = "Checking both cities."
ANSWER = "Paris is sunny and Tokyo is rainy; the flaky service failed."


@pytest.fixture(scope="module")
def agents_server() -> Iterator[EmbeddedServer]:
    embedded = EmbeddedServer(Path(__file__).parent / "graphs" / "agents" / "langgraph.json")
    embedded.start()
    yield embedded
    embedded.stop()


@pytest.fixture()
def agents(agents_server: EmbeddedServer) -> Iterator[Shell]:
    s = Shell()
    s.ip.reset(new_session=False)
    s.line(f"connect {agents_server.url}")
    yield s
    s.ip.magics_manager.registry["AgentMagics"].url = ""


def summary(shell: Shell) -> tuple[str, str]:
    bundles = [o["data"] for o in shell.outputs if "text/html" in o["data"] and "lgm-summary" in o["data"]["text/html"]]
    assert bundles, f"no summary among {shell.outputs}"
    return bundles[-1]["text/plain"], bundles[-1]["text/html"]


@pytest.mark.parametrize("mode", MODES, ids=lambda m: m.split()[-1] if m else "default")
@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_agent_shows_everything_once(agents: Shell, provider: str, mode: str) -> None:
    agents.cell(f"{provider} --stateless {mode}", "What is the weather in Paris and Tokyo?")
    text, page = summary(agents)
    result: Any = agents.ns["_agent"]

    assert result.status == "done", text
    assert text.count("[you] What is the weather in Paris and Tokyo?") == 1, text
    assert text.count(FIRST) == 1, text
    assert text.count(ANSWER) == 1, text
    for call in ('get_weather(city="Paris")', 'get_weather(city="Tokyo")', 'flaky(city="Rome")'):
        assert text.count(call) == 1, text
    assert "?(" not in text
    assert text.splitlines()[0].endswith("· done · tokens 420 in, 65 out"), text
    assert f"{PROVIDERS[provider]} · 120 in, 45 out] {FIRST}" in text
    assert "(reasoning, 56 characters) The user wants the weather. Call the tools in parallel." in text
    if mode != "--stream-mode events":  # events carry the tool's exception, not the tool message
        assert "[tool flaky · error] Error: ValueError('the flaky service is down for Rome')" in text
        assert "lgm-tool-error" in page
        assert text.count("[tool get_weather]") == 2
    assert page.count("reasoning · 56 characters") == 1
    assert page.count(ANSWER) == 1

    assert result.text == ANSWER
    assert result.reasoning == "The user wants the weather.\n\nCall the tools in parallel.\n\nBoth forecasts are in."
    assert result.usage == {"input_tokens": 420, "output_tokens": 65, "total_tokens": 485}
    assert result.model == PROVIDERS[provider]
    ai = [m for m in result.messages if m["role"] == "ai"]
    assert [[c["args"] for c in m["tool_calls"]] for m in ai] == [[{"city": "Paris"}, {"city": "Tokyo"}, {"city": "Rome"}], []]
    assert [b["type"] for b in ai[0]["blocks"]] == ["reasoning", "text", "tool_call", "tool_call", "tool_call"]


@pytest.mark.parametrize("mode", ["", "--stream-mode values", "--wait"], ids=["default", "values", "wait"])
def test_an_image_reply_is_an_image(agents: Shell, mode: str) -> None:
    agents.cell(f"painter --stateless {mode}", "Paint a cat.")
    text, page = summary(agents)
    assert "gpt-5-mini · 5 in, 7 out] Here is your cat.\n    [image: image/png, 2.4 kB]" in text
    assert page.count('<img class="lgm-img"') == 1
    assert "base64" not in text


def test_a_multimodal_json_input_is_text_and_a_thumbnail_once(agents: Shell) -> None:
    from .graphs.agents.agents import PNG

    body = '{"messages": [{"role": "user", "content": [{"type": "text", "text": "What is this?"}, ' + (
        f'{{"type": "image", "base64": "{PNG}", "mime_type": "image/png"}}]}}]}}'
    )
    for mode in ("", "--wait"):
        agents.cell(f"painter --stateless --json {mode}", body)
        text, page = summary(agents)
        assert text.count("[you] What is this?\n    [image: image/png, 2.4 kB]") == 1, text
        assert PNG not in text
        assert page.count('<img class="lgm-img"') == 2  # the input's thumbnail and the painted cat


@pytest.mark.parametrize(
    "mode", ["", "--stream-mode messages-tuple custom", "--stream-mode updates custom"], ids=["default", "tuple", "updates"]
)
def test_subgraphs_stream_inner_nodes_with_their_tokens_and_custom_events(agents: Shell, mode: str) -> None:
    agents.cell(f"nested --subgraphs {mode}", "Think hard.")
    text, _ = summary(agents)
    assert text.count("Inner thoughts done.") == 1, text
    assert "[ai · research/think · claude-sonnet-4-5 · 3 in, 4 out] Inner thoughts done." in text
    assert "(reasoning, 12 characters) Deep inside." in text
    if "custom" in mode:
        assert '[custom research] {"progress": "thinking inside the subgraph"}' in text
    if "updates" in mode or not mode:
        assert "✓ research/think" in text


def test_a_send_fan_out_streams_two_messages_once_each(agents: Shell) -> None:
    agents.cell("fanout --stateless --stream-mode messages-tuple updates", "Look both up.")
    text, _ = summary(agents)
    assert text.count("Looked up Paris.") == 1 and text.count("Looked up Tokyo.") == 1, text
    assert text.splitlines()[0].endswith("tokens 20 in, 6 out")


@pytest.mark.parametrize(
    "mode", ["", "--stream-mode values", "--stream-mode updates", "--wait"], ids=["default", "values", "updates", "wait"]
)
def test_a_removed_message_disappears(agents: Shell, mode: str) -> None:
    agents.cell(f"trim --stateless {mode}", "Answer twice.")
    text, page = summary(agents)
    assert "The final answer." in text
    assert "A draft answer." not in text and "A draft answer." not in page
    assert [m["content"] for m in agents.ns["_agent"].messages] == ["Answer twice.", "The final answer."]


@pytest.mark.parametrize("mode", ["--stream-mode values", "--wait"], ids=["values", "wait"])
def test_state_that_is_not_messages_is_shown(agents: Shell, mode: str) -> None:
    agents.cell(f"structured --stateless {mode}", "Weather?")
    text, _ = summary(agents)
    assert text.count("Paris: sunny.") == 1
    assert 'state → structured_response: {"city": "Paris", "sky": "sunny"}' in text

    agents.cell(f"counter --stateless --json {mode}", '{"text": "one two three"}')
    text, _ = summary(agents)
    assert "state → text: one two three, words: 3" in text


def test_a_rejoin_asks_for_subgraphs_again_and_shows_inner_events_once(agents: Shell, agents_server: EmbeddedServer) -> None:
    from .proxy import CuttingProxy

    proxy = CuttingProxy(agents_server.port)
    try:
        agents.line(f"connect {proxy.url}")
        proxy.cut_next("POST /threads/", 900)
        agents.cell("nested --subgraphs --stream-mode messages-tuple updates custom", "Think hard.")
        assert proxy.cut_count == 1
        rejoins = [line for line in proxy.request_lines if line.startswith("GET /threads/") and "/stream" in line]
        assert rejoins and all("stream_subgraphs=true" in line for line in rejoins), proxy.request_lines
        text, _ = summary(agents)
        assert text.count("Inner thoughts done.") == 1, text
        assert text.count("[custom research]") == 1, text
        assert text.count("✓ research/think") == 1, text
        assert agents.ns["_agent"].status == "done"
    finally:
        proxy.close()


@pytest.mark.parametrize(
    "mode", ["", "--stream-mode messages-tuple", "--stream-mode values", "--wait"], ids=["default", "tuple", "values", "wait"]
)
def test_a_command_update_is_shown_once(agents: Shell, mode: str) -> None:
    agents.cell(f"router --stateless {mode}", "Where to?")
    text, _ = summary(agents)
    assert text.count("Routing to the desk.") == 1, text
    assert text.count("The desk answers.") == 1, text
    assert "gpt-5-mini · 8 in, 4 out] Routing to the desk." in text
    assert "(reasoning, 12 characters) Pick a desk." in text
