"""A picture of a tree: nodes laid out in layers from the start, edges labelled with the answer
that follows them, problem nodes marked. Layers are the depth from the start (a breadth-first
walk); the template draws SVG, so every node is a link and no Graphviz binary is needed."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from diagnostics.trees import CHOICE, MEASURE, Tree

NODE_W, NODE_H, GAP_X, GAP_Y, MARGIN = 170, 54, 30, 70, 20


@dataclass(frozen=True)
class Box:
    id: str
    kind: str
    label: str
    x: float
    y: float
    problem: bool
    start: bool
    missing: bool = False  # named by a "next" but not a node


@dataclass(frozen=True)
class Edge:
    x1: float
    y1: float
    x2: float
    y2: float
    label: str
    back: bool  # goes up: part of a cycle


@dataclass(frozen=True)
class Picture:
    width: float
    height: float
    boxes: list[Box]
    edges: list[Edge]


def _edges(tree: Tree) -> Iterable[tuple[str, str, str]]:
    for node in tree.nodes.values():
        if node.kind == CHOICE:
            for option in node.options:
                yield node.id, option.next, option.label
        elif node.kind == MEASURE:
            for r in node.ranges:
                yield node.id, r.next, r.describe(node.unit)
        elif node.next:
            yield node.id, node.next, ""


def draw(tree: Tree, problem_nodes: set[str]) -> Picture:
    # Every node, then every name a "next" gives that is not a node (drawn as missing).
    nodes: dict[str, None] = dict.fromkeys(tree.nodes)
    successors: dict[str, list[str]] = {}
    predecessors: dict[str, list[str]] = {}
    labels: dict[tuple[str, str], list[str]] = {}
    for source, target, label in _edges(tree):
        nodes.setdefault(target)
        if (source, target) not in labels:
            successors.setdefault(source, []).append(target)
            predecessors.setdefault(target, []).append(source)
        labels.setdefault((source, target), []).append(label)
    # Layers: shortest distance from the start; nodes it cannot reach go in a last row.
    depth = _depths(tree.start, successors) if tree.start in nodes else {}
    bottom = max(depth.values(), default=-1) + 1
    rows: dict[int, list[str]] = {}
    for node_id in nodes:
        rows.setdefault(depth.get(node_id, bottom), []).append(node_id)
    position: dict[str, tuple[float, float]] = {}
    widest = max((len(r) for r in rows.values()), default=1)
    width = MARGIN * 2 + widest * NODE_W + (widest - 1) * GAP_X
    for layer, members in sorted(rows.items()):
        row_width = len(members) * NODE_W + (len(members) - 1) * GAP_X
        left = (width - row_width) / 2
        for i, node_id in enumerate(sorted(members, key=_order(predecessors, position))):
            position[node_id] = (left + i * (NODE_W + GAP_X), MARGIN + layer * (NODE_H + GAP_Y))
    boxes = []
    for node_id, (x, y) in position.items():
        node = tree.nodes.get(node_id)
        boxes.append(
            Box(
                node_id,
                node.kind if node else "missing",
                _short(node.text if node else "not a node"),
                x,
                y,
                node_id in problem_nodes or node is None,
                node_id == tree.start,
                node is None,
            )
        )
    edges = []
    for (source, target), names in labels.items():
        (x1, y1), (x2, y2) = position[source], position[target]
        edges.append(
            Edge(
                x1 + NODE_W / 2,
                y1 + NODE_H,
                x2 + NODE_W / 2,
                y2,
                _short(" / ".join(n for n in names if n), 24),
                back=y2 < y1,
            )
        )
    height = MARGIN * 2 + (max(rows, default=0) + 1) * (NODE_H + GAP_Y) - GAP_Y
    return Picture(width, height, boxes, edges)


def _depths(start: str, successors: dict[str, list[str]]) -> dict[str, int]:
    depth = {start: 0}
    queue = deque([start])
    while queue:
        node_id = queue.popleft()
        for child in successors.get(node_id, []):
            if child not in depth:
                depth[child] = depth[node_id] + 1
                queue.append(child)
    return depth


def _order(
    predecessors: dict[str, list[str]], placed: dict[str, tuple[float, float]]
) -> Callable[[str], tuple[float, str]]:
    """Children under their parents: sort a row by the mean x of the nodes pointing at it."""

    def key(node_id: str) -> tuple[float, str]:
        xs = [placed[p][0] for p in predecessors.get(node_id, []) if p in placed]
        return (sum(xs) / len(xs) if xs else 0.0, node_id)

    return key


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
