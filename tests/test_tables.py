"""Tables and graph drawings: HTML with a deterministic plain-text twin. Pure functions."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from lg_magics.diagram import END, START, Graph, back_edges, graph_bundle, layers, layout, mermaid
from lg_magics.tables import Table, bundle

# GET /assistants/tools/graph on the demo server (a loop through a conditional edge).
TOOLS = {
    "nodes": [
        {"id": "__start__", "type": "runnable", "data": {"name": "__start__"}},
        {"id": "agent", "type": "runnable", "data": {"name": "agent"}},
        {"id": "tools", "type": "runnable", "data": {"name": "tools"}, "metadata": {"__tools": ["get_weather"]}},
        {"id": "report", "type": "runnable", "data": {"name": "report"}},
        {"id": "__end__"},
    ],
    "edges": [
        {"source": "__start__", "target": "agent"},
        {"source": "agent", "target": "report", "conditional": True},
        {"source": "agent", "target": "tools", "conditional": True},
        {"source": "tools", "target": "agent"},
        {"source": "report", "target": "__end__"},
    ],
}


def test_table_plain_text_is_aligned_and_html_escapes() -> None:
    table = Table(["name", "ID"], [["a<b", "1"], ["longer", "22"]], code=frozenset({"ID"}))
    out = bundle("Two rows", table)
    assert out["text/plain"].splitlines() == ["Two rows", "name    ID", "------  --", "a<b     1", "longer  22"]
    assert "<td>a&lt;b</td><td><code>1</code></td>" in out["text/html"]
    assert out["text/html"].startswith('<div class="lgm lgm-doc"><p>Two rows</p><table')


def test_empty_table_says_so() -> None:
    out = bundle(Table(["a"], [], empty="No threads."))
    assert out["text/plain"] == "No threads."
    assert "<i>No threads.</i>" in out["text/html"]


def test_graph_layers_follow_the_flow_and_loops_go_back() -> None:
    graph = Graph.from_json(TOOLS)
    back = back_edges(graph)
    assert [graph.edges[i] for i in back] == [graph.edges[3]]  # tools -> agent closes the loop
    assert layers(graph, back) == {START: 0, "agent": 1, "tools": 2, "report": 2, END: 3}


def test_graph_bundle_has_text_mermaid_and_svg() -> None:
    out = graph_bundle(TOOLS, "tools")
    assert out["text/plain"].splitlines() == [
        "graph tools: 5 nodes, 5 edges (--> always, -.-> conditional)",
        "  __start__ --> agent",
        "  agent -.-> report",
        "  agent -.-> tools",
        "  tools --> agent",
        "  report --> __end__",
    ]
    assert out["text/markdown"].startswith("```mermaid\ngraph TD\n") and out["text/markdown"].endswith("\n```")
    assert "  n1 -.-> n2" in out["text/markdown"]
    svg = ET.fromstring(out["image/svg+xml"])  # well-formed XML
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert texts == ["__start__", "agent", "tools", "report", "__end__"]
    dashed = [p for p in svg.iter("{http://www.w3.org/2000/svg}path") if p.get("stroke-dasharray")]
    assert len(dashed) == 2  # the two conditional edges
    assert graph_bundle(TOOLS, "tools") == out  # deterministic


def test_nodes_do_not_overlap_and_fit_in_the_picture() -> None:
    boxes, _, width, height = layout(Graph.from_json(TOOLS))
    tools, report = boxes["tools"], boxes["report"]
    assert tools.y == report.y and (tools.right <= report.x or report.right <= tools.x)
    assert all(0 < b.x and b.right < width and b.y + 32 < height for b in boxes.values())


def test_odd_ids_labels_and_self_loops() -> None:
    data = {
        "nodes": [{"id": "__start__"}, {"id": 'report:format "x"'}, {"id": "__end__"}],
        "edges": [
            {"source": "__start__", "target": 'report:format "x"', "data": "go <now>"},
            {"source": 'report:format "x"', "target": 'report:format "x"', "conditional": True},
            {"source": 'report:format "x"', "target": "__end__"},
            {"source": "__end__", "target": "orphan-edge-target"},
        ],
    }
    out = graph_bundle(data, "odd")
    ET.fromstring(out["image/svg+xml"])
    assert 'n0 -- "go #lt;now#gt;" --> n1' in out["text/markdown"]
    assert 'n1(["report:format #quot;x#quot;"])' not in out["text/markdown"]  # only start/end are pills
    assert 'n1("report:format #quot;x#quot;")' in mermaid(Graph.from_json(data))
    assert '  __start__ --> report:format "x"  [go <now>]' in out["text/plain"]


def test_a_long_chain_does_not_hit_the_recursion_limit() -> None:
    nodes = [{"id": f"n{i}"} for i in range(3000)]
    edges = [{"source": f"n{i}", "target": f"n{i + 1}"} for i in range(2999)]
    graph = Graph.from_json({"nodes": nodes, "edges": edges})
    assert layers(graph, back_edges(graph))["n2999"] == 2999


def test_garbage_graph_json_draws_an_empty_graph() -> None:
    out = graph_bundle({"nodes": "x", "edges": [1, {"source": None}]}, "empty")
    assert out["text/plain"] == "graph empty: 0 nodes, 0 edges (--> always, -.-> conditional)"
    ET.fromstring(out["image/svg+xml"])


def test_counts_are_singular_for_one() -> None:
    out = graph_bundle({"nodes": [{"id": "a"}, {"id": "b"}], "edges": [{"source": "a", "target": "b"}]}, "one")
    assert out["text/plain"].splitlines()[0] == "graph one: 2 nodes, 1 edge (--> always, -.-> conditional)"
    from lg_magics.words import plural

    assert [plural(n, "checkpoint") for n in (0, 1, 2)] == ["0 checkpoints", "1 checkpoint", "2 checkpoints"]


def test_values_summary_puts_short_values_first_on_one_line() -> None:
    from lg_magics.inspection import values_summary

    values = {
        "messages": [{"type": "human", "content": "hi"}, {"type": "ai", "content": "Hello\nthere, Ada!"}],
        "user_name": "Ada",
    }
    assert values_summary(values, 80) == "user_name: Ada; 2 messages, last [ai] Hello there, Ada!"
    assert values_summary(values, 20) == "user_name: Ada; 2 m…"
    assert values_summary({}) == "(empty)" and values_summary(None) == "(empty)"
    assert values_summary({"messages": []}) == "no messages"
