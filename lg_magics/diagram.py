"""Draw an assistant's graph (``GET /assistants/{id}/graph``). Pure: no I/O.

One drawing, three renderings in one mimebundle, so it reads everywhere
without internet access:

* ``text/markdown``: a Mermaid block. JupyterLab (4.1+) ranks Markdown first
  and draws Mermaid with its bundled copy, in trusted and untrusted notebooks.
* ``image/svg+xml``: an SVG laid out here, for nbconvert, GitHub and VS Code,
  which prefer images to Markdown.
* ``text/plain``: one line per edge, what nbval compares and a terminal shows.

The layout is a plain layered drawing: nodes go down in layers by longest
path from ``__start__``; an edge that goes back up runs beside the edge it reverses.
Everything is a function of the graph JSON, so saved outputs are stable.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional

from .words import plural

START, END = "__start__", "__end__"

NODE_H = 32
LAYER_GAP = 44
NODE_GAP = 28
MARGIN = 16
CHAR_W = 7.6
PAD_X = 14
MIN_W = 64
LANE = 26  # room on the right for a node that loops to itself


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    conditional: bool = False
    label: str = ""


@dataclass(frozen=True)
class Graph:
    nodes: tuple[str, ...]
    edges: tuple[Edge, ...]

    @classmethod
    def from_json(cls, data: Any) -> Graph:
        """The server's ``{"nodes": [{"id": ...}], "edges": [{"source", "target", "conditional"?, "data"?}]}``."""
        data = data if isinstance(data, dict) else {}
        nodes: list[str] = []
        for node in data.get("nodes") or []:
            node_id = node.get("id") if isinstance(node, dict) else None
            if node_id is not None and str(node_id) not in nodes:
                nodes.append(str(node_id))
        edges = []
        for edge in data.get("edges") or []:
            if not isinstance(edge, dict) or edge.get("source") is None or edge.get("target") is None:
                continue
            source, target = str(edge["source"]), str(edge["target"])
            for node in (source, target):
                if node not in nodes:
                    nodes.append(node)
            label = edge.get("data")
            edges.append(Edge(source, target, bool(edge.get("conditional")), "" if label is None else str(label)))
        return cls(tuple(nodes), tuple(edges))


@dataclass(frozen=True)
class Path:
    """The nodes and edges a run went through, to highlight (``%agent graph ASSISTANT --thread VAR``)."""

    nodes: frozenset[str] = frozenset()
    edges: frozenset[tuple[str, str]] = frozenset()
    steps: tuple[tuple[str, ...], ...] = field(default=())

    @classmethod
    def from_steps(cls, steps: Sequence[Sequence[str]], graph: Graph) -> Path:
        """Nodes step by step (parallel nodes share a step); an edge is on the path when it joins a node
        of one step to a node of the next."""
        known = {(e.source, e.target) for e in graph.edges}
        edges = {(a, b) for before, after in zip(steps, steps[1:]) for a in before for b in after if (a, b) in known}
        nodes = frozenset(n for step in steps for n in step if n in graph.nodes)
        return cls(nodes, frozenset(edges), tuple(tuple(step) for step in steps))

    def text(self) -> str:
        return " → ".join(", ".join(step) for step in self.steps)


PATH_COLOR, PATH_FILL = "#d97706", "#fde68a"


# -- plain text and Mermaid ---------------------------------------------------------------------
def arrow(edge: Edge) -> str:
    return "-.->" if edge.conditional else "-->"


def graph_text(graph: Graph, title: str, path: Optional[Path] = None) -> str:
    lines = [
        f"graph {title}: {plural(len(graph.nodes), 'node')}, {plural(len(graph.edges), 'edge')} (--> always, -.-> conditional)"
    ]
    if path is not None:
        lines.append(f"last run (* on its path): {path.text() or 'no steps'}")
    for edge in graph.edges:
        label = f"  [{edge.label}]" if edge.label else ""
        mark = " *" if path is not None and (edge.source, edge.target) in path.edges else ""
        lines.append(f"  {edge.source} {arrow(edge)} {edge.target}{label}{mark}")
    linked = {e.source for e in graph.edges} | {e.target for e in graph.edges}
    lines += [f"  {node} (no edges)" for node in graph.nodes if node not in linked]
    return "\n".join(lines)


_MERMAID_ENTITIES = str.maketrans({"#": "#35;", '"': "#quot;", "<": "#lt;", ">": "#gt;", "&": "#amp;"})


def _mermaid_label(text: str) -> str:
    # Mermaid's own entity codes: a quote would end the label, < and > would be read as HTML.
    return '"' + text.translate(_MERMAID_ENTITIES) + '"'


def mermaid(graph: Graph, path: Optional[Path] = None) -> str:
    """Mermaid flowchart source. Node IDs are made up (``n0``...): graph node IDs may hold ``:``."""
    ids = {node: f"n{i}" for i, node in enumerate(graph.nodes)}
    lines = ["graph TD"]
    for node in graph.nodes:
        label = _mermaid_label(node)
        lines.append(f"  {ids[node]}([{label}])" if node in (START, END) else f"  {ids[node]}({label})")
    for edge in graph.edges:
        source, target = ids[edge.source], ids[edge.target]
        if edge.label:
            middle = f"-. {_mermaid_label(edge.label)} .->" if edge.conditional else f"-- {_mermaid_label(edge.label)} -->"
            lines.append(f"  {source} {middle} {target}")
        else:
            lines.append(f"  {source} {arrow(edge)} {target}")
    if path is not None and path.nodes:
        lines.append(f"  classDef path fill:{PATH_FILL},stroke:{PATH_COLOR},stroke-width:2px")
        lines.append(f"  class {','.join(ids[n] for n in graph.nodes if n in path.nodes)} path")
        on = [str(i) for i, e in enumerate(graph.edges) if (e.source, e.target) in path.edges]
        if on:
            lines.append(f"  linkStyle {','.join(on)} stroke:{PATH_COLOR},stroke-width:3px")
    return "\n".join(lines)


# -- layout -------------------------------------------------------------------------------------
def back_edges(graph: Graph) -> set[int]:
    """Indexes of the edges that close a cycle, found by a depth-first walk from ``__start__``."""
    out: dict[str, list[int]] = {node: [] for node in graph.nodes}
    for index, edge in enumerate(graph.edges):
        out[edge.source].append(index)
    order = ([START] if START in out else []) + [n for n in graph.nodes if n != START]
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    back: set[int] = set()
    for root in order:
        if root in state:
            continue
        state[root] = 1
        stack = [(root, iter(out[root]))]
        while stack:
            node, edges = stack[-1]
            step = next(edges, None)
            if step is None:
                state[node] = 2
                stack.pop()
                continue
            target = graph.edges[step].target
            if state.get(target) == 1:
                back.add(step)
            elif target not in state:
                state[target] = 1
                stack.append((target, iter(out[target])))
    return back


def layers(graph: Graph, back: set[int]) -> dict[str, int]:
    """Longest-path layer of each node over the edges that go forward; ``__end__`` goes last."""
    preds: dict[str, list[str]] = {node: [] for node in graph.nodes}
    for index, edge in enumerate(graph.edges):
        if index not in back and edge.source != edge.target:
            preds[edge.target].append(edge.source)
    layer: dict[str, int] = {}

    def depth(node: str) -> int:
        # Iterative: a long chain of nodes must not hit the recursion limit.
        stack = [node]
        while stack:
            current = stack[-1]
            missing = [p for p in preds[current] if p not in layer]
            if missing:
                stack.extend(missing)
                continue
            stack.pop()
            layer[current] = max((layer[p] + 1 for p in preds[current]), default=0)
        return layer[node]

    for node in graph.nodes:
        depth(node)
    if END in layer:
        others = [layer[n] for n in graph.nodes if n != END]
        layer[END] = max(layer[END], max(others, default=-1) + 1)
    return layer


def node_width(node: str) -> float:
    return max(MIN_W, CHAR_W * len(node) + 2 * PAD_X)


@dataclass(frozen=True)
class Box:
    x: float  # left
    y: float  # top
    w: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def right(self) -> float:
        return self.x + self.w


def layout(graph: Graph) -> tuple[dict[str, Box], set[int], float, float]:
    """(boxes, back edges, width, height). Within a layer, nodes follow their parents' order."""
    back = back_edges(graph)
    layer = layers(graph, back)
    rows: dict[int, list[str]] = {}
    for node in graph.nodes:
        rows.setdefault(layer[node], []).append(node)
    position: dict[str, float] = {}
    parents: dict[str, list[str]] = {n: [] for n in graph.nodes}
    for index, edge in enumerate(graph.edges):
        if index not in back:
            parents[edge.target].append(edge.source)
    for depth in sorted(rows):
        row = rows[depth]
        first = {node: index for index, node in enumerate(row)}

        def key(node: str, first: dict[str, int] = first) -> tuple[float, int]:
            known = [position[p] for p in parents[node] if p in position]
            return (sum(known) / len(known) if known else -1.0, first[node])

        row.sort(key=key)
        for index, node in enumerate(row):
            position[node] = (index + 0.5) / len(row)
    widths = {depth: sum(node_width(n) for n in row) + NODE_GAP * (len(row) - 1) for depth, row in rows.items()}
    inner = max(widths.values(), default=MIN_W)
    boxes: dict[str, Box] = {}
    for depth, row in rows.items():
        x = MARGIN + (inner - widths[depth]) / 2
        y = MARGIN + depth * (NODE_H + LAYER_GAP)
        for node in row:
            boxes[node] = Box(x, y, node_width(node))
            x += node_width(node) + NODE_GAP
    loops = any(e.source == e.target for e in graph.edges)
    width = MARGIN * 2 + inner + (LANE if loops else 0)
    height = MARGIN * 2 + (max(rows, default=0) + 1) * NODE_H + max(rows, default=0) * LAYER_GAP
    return boxes, back, width, height


# -- SVG ----------------------------------------------------------------------------------------
def _f(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _edge_svg(edge: Edge, path: str, middle: tuple[float, float], on_path: bool = False) -> str:
    dash = ' stroke-dasharray="5 4"' if edge.conditional else ""
    stroke = f'stroke="{PATH_COLOR}" stroke-width="2.2"' if on_path else 'stroke="#555" stroke-width="1.4"'
    parts = [f'<path d="{path}" fill="none" {stroke}{dash} marker-end="url(#lgm-arrow)"/>']
    if edge.label:
        parts.append(
            f'<text x="{_f(middle[0])}" y="{_f(middle[1])}" text-anchor="middle" dominant-baseline="central" '
            f'font-size="11" fill="#444" stroke="#fff" stroke-width="3" paint-order="stroke">{html.escape(edge.label)}</text>'
        )
    return "".join(parts)


def _bezier_middle(
    p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float], p3: tuple[float, float]
) -> tuple[float, float]:
    return ((p0[0] + 3 * p1[0] + 3 * p2[0] + p3[0]) / 8, (p0[1] + 3 * p1[1] + 3 * p2[1] + p3[1]) / 8)


def _curve(p0: tuple[float, float], p1: tuple[float, float], p2: tuple[float, float], p3: tuple[float, float]) -> str:
    return f"M{_f(p0[0])},{_f(p0[1])} C{_f(p1[0])},{_f(p1[1])} {_f(p2[0])},{_f(p2[1])} {_f(p3[0])},{_f(p3[1])}"


def svg(graph: Graph, title: str, path: Optional[Path] = None) -> str:
    boxes, back, width, height = layout(graph)
    pairs = {(e.source, e.target) for e in graph.edges}
    edges = []
    for index, edge in enumerate(graph.edges):
        s, t = boxes[edge.source], boxes[edge.target]
        if edge.source == edge.target:
            # A small loop on the node's right side.
            p0, p3 = (s.right, s.y + NODE_H * 0.3), (s.right + 2, s.y + NODE_H * 0.7)
            p1, p2 = (s.right + LANE, p0[1] - 10), (s.right + LANE, p3[1] + 10)
        else:
            # Two edges between the same nodes (a loop back up) sit side by side, not on top of each other.
            shift = (10 if index in back else -10) if (edge.target, edge.source) in pairs else 0
            if index in back:  # up: from the source's top to the target's bottom
                p0, p3 = (s.cx + shift, s.y), (t.cx + shift, t.y + NODE_H + 2)
            else:
                p0, p3 = (s.cx + shift, s.y + NODE_H), (t.cx + shift, t.y - 2)
            bend = max(abs(p3[1] - p0[1]) / 2, 12) * (1 if p3[1] > p0[1] else -1)
            p1, p2 = (p0[0], p0[1] + bend), (p3[0], p3[1] - bend)
        on_path = path is not None and (edge.source, edge.target) in path.edges
        edges.append(_edge_svg(edge, _curve(p0, p1, p2, p3), _bezier_middle(p0, p1, p2, p3), on_path))
    nodes = []
    for node in graph.nodes:
        box = boxes[node]
        terminal = node in (START, END)
        fill, stroke, rx = ("#f3f4f6", "#9ca3af", NODE_H / 2) if terminal else ("#eef2ff", "#6366f1", 6)
        if path is not None and node in path.nodes:
            fill, stroke = PATH_FILL, PATH_COLOR
        nodes.append(
            f'<rect x="{_f(box.x)}" y="{_f(box.y)}" width="{_f(box.w)}" height="{NODE_H}" rx="{_f(rx)}" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1.2"/>'
            f'<text x="{_f(box.cx)}" y="{_f(box.y + NODE_H / 2)}" text-anchor="middle" dominant-baseline="central">'
            f"{html.escape(node)}</text>"
        )
    w, h = _f(width), _f(height)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
        f'font-family="Helvetica, Arial, sans-serif" font-size="13" fill="#111" role="img">'
        f"<title>{html.escape(title)}</title>"
        '<defs><marker id="lgm-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker></defs>'
        # A white card: the SVG shows as an image, which cannot follow a dark theme.
        f'<rect width="{w}" height="{h}" rx="6" fill="#fff"/>' + "".join(edges) + "".join(nodes) + "</svg>"
    )


def graph_bundle(data: Any, title: str, steps: Optional[Sequence[Sequence[str]]] = None) -> dict[str, str]:
    """The mimebundle to display for an assistant's graph JSON; ``steps``: a run's nodes, step by
    step, to highlight."""
    graph = Graph.from_json(data)
    path = Path.from_steps(steps, graph) if steps is not None else None
    return {
        "text/plain": graph_text(graph, title, path),
        "text/markdown": f"```mermaid\n{mermaid(graph, path)}\n```",
        "image/svg+xml": svg(graph, title, path),
    }
