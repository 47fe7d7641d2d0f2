"""Lay a supersession chain out in columns, for the part page's picture of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from parts_catalog.numbers import normalise
from parts_catalog.supersession import Edge


@dataclass
class ChainNode:
    number: str
    incoming: list[Edge] = field(default_factory=list)


def columns(start: str, edges: Sequence[Edge], *, forward: bool = True) -> list[list[ChainNode]]:
    """Nodes by distance from ``start``: column 0 holds ``start``; each node lists the edges that
    lead to it from the column before."""
    begin = normalise(start)
    nodes: dict[str, ChainNode] = {}
    depth = {begin: 0}
    frontier = [begin]
    by_source: dict[str, list[Edge]] = {}
    for edge in edges:
        source = edge.old if forward else edge.new
        by_source.setdefault(source, []).append(edge)
    spelled = {begin: start}
    for edge in edges:
        spelled.setdefault(edge.old, edge.old_number)
        spelled.setdefault(edge.new, edge.new_number)
    while frontier:
        following = []
        for source in frontier:
            for edge in by_source.get(source, []):
                target = edge.new if forward else edge.old
                if target not in depth:
                    depth[target] = depth[source] + 1
                    following.append(target)
                node = nodes.setdefault(target, ChainNode(spelled[target]))
                node.incoming.append(edge)
        frontier = following
    nodes.setdefault(begin, ChainNode(spelled[begin]))
    result: list[list[ChainNode]] = [[] for _ in range(max(depth.values()) + 1)]
    for norm, level in depth.items():
        result[level].append(nodes[norm])
    return result
