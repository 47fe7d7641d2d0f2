"""Whether a tree can be walked: every problem named, none raised one at a time."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable

from diagnostics.trees import CHOICE, MEASURE, STEP, Node, Problem, Range, Tree

MAX_PROBLEMS = 200


def validate(
    tree: Tree,
    *,
    unknown_parts: Callable[[Iterable[str]], set[str]] | None = None,
    safety_critical: Callable[[Iterable[str]], set[str]] | None = None,
) -> list[Problem]:
    """Every problem of a parsed tree: ``start`` or a ``next`` naming no node, nodes that cannot
    be reached, cycles, paths that end without a terminal, measurement ranges with gaps or
    overlaps or bounds outside the plausible range, (given ``unknown_parts``, which returns the
    numbers the catalogue does not know) parts that do not exist, and (given ``safety_critical``,
    which returns the numbers that are) measurements without a plausible range that can lead
    to a safety-critical part."""
    problems: list[Problem] = []
    nodes = tree.nodes
    broken = tree.broken  # already reported; checking the graph through them would be noise
    if tree.start not in nodes and tree.start not in broken:
        problems.append(Problem("start", f"“{tree.start}” is not a node"))
    for node in nodes.values():
        if node.kind == CHOICE and not node.options:
            problems.append(Problem(f"nodes.{node.id}.options", "a choice needs a list of options"))
        if node.kind == MEASURE and not node.ranges:
            problems.append(
                Problem(f"nodes.{node.id}.ranges", "a measurement needs a list of ranges")
            )
        if node.kind == STEP and not node.next:
            problems.append(Problem(f"nodes.{node.id}.next", "a step needs “next”"))
        for target in node.successors():
            if target not in nodes and target not in broken:
                problems.append(Problem(f"nodes.{node.id}", f"next “{target}” is not a node"))
        if not node.is_terminal and not any(t in nodes or t in broken for t in node.successors()):
            problems.append(
                Problem(
                    f"nodes.{node.id}",
                    "a path ends here without a fix, an exchange or an escalation",
                )
            )
        if node.kind == MEASURE:
            problems += _coverage(node)
            problems += _within_plausible(node)
    if tree.start in nodes and broken:
        problems += _cycles(tree)
    if tree.start in nodes and not broken:
        reached = _reachable(tree)
        for node_id in nodes:
            if node_id not in reached:
                problems.append(Problem(f"nodes.{node_id}", "cannot be reached from start"))
        problems += _cycles(tree)
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        problems = [*problems[:MAX_PROBLEMS], Problem("", f"… and {more:,} more problems")]
    if unknown_parts is not None:
        wanted = [(node, ref.part) for node in nodes.values() for ref in node.parts]
        unknown = unknown_parts({number for _node, number in wanted})
        for node, number in wanted:
            if number in unknown:
                problems.append(
                    Problem(f"nodes.{node.id}.parts", f"part {number} is not in the catalogue")
                )
    if safety_critical is not None:
        problems += _unguarded_measurements(tree, safety_critical)
    return problems


def _reachable(tree: Tree, start: str | None = None) -> set[str]:
    first = tree.start if start is None else start
    seen = {first}
    stack = [first]
    while stack:
        for target in tree.nodes[stack.pop()].successors():
            if target in tree.nodes and target not in seen:
                seen.add(target)
                stack.append(target)
    return seen


def _within_plausible(node: Node) -> list[Problem]:
    """A bound outside the plausible range would leave a branch reachable only by confirming
    an implausible value: the two were written for different units or scales."""
    if node.plausible is None:
        return []
    problems = []
    for i, r in enumerate(node.ranges):
        for key, bound in (("from", r.low), ("below", r.high)):
            if bound is not None and not node.is_plausible(bound):
                problems.append(
                    Problem(
                        f"nodes.{node.id}.ranges[{i}].{key}",
                        f"{bound:g} lies outside the plausible range "
                        f"{node.describe_plausible()}: the ranges' bounds must lie within it",
                    )
                )
    return sorted(problems, key=lambda p: p.where)


def _unguarded_measurements(
    tree: Tree, safety_critical: Callable[[Iterable[str]], set[str]]
) -> list[Problem]:
    """A measurement that can lead to a safety-critical part must have a plausible range: a
    slip of the decimal point must not send a technician to replace a power board."""
    critical = safety_critical({ref.part for n in tree.nodes.values() for ref in n.parts})
    if not critical:
        return []
    problems = []
    for node in tree.nodes.values():
        if node.kind != MEASURE or node.plausible is not None:
            continue
        found = [
            f"{ref.part} at {node_id}"
            for node_id in sorted(_reachable(tree, node.id))
            for ref in tree.nodes[node_id].parts
            if ref.part in critical
        ]
        if found:
            problems.append(
                Problem(
                    f"nodes.{node.id}.plausible",
                    f"a measurement that can lead to a safety-critical part ({', '.join(found)}) "
                    "needs a plausible range, e.g. plausible: [0, 30]",
                )
            )
    return problems


def _cycles(tree: Tree) -> list[Problem]:
    """Each cycle once, named by the nodes on it (iterative DFS: trees can be deep)."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(tree.nodes, white)
    problems: list[Problem] = []
    for root in tree.nodes:
        if colour[root] != white:
            continue
        path: list[str] = []
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            node_id, index = stack.pop()
            successors = [t for t in tree.nodes[node_id].successors() if t in tree.nodes]
            if index == 0:
                colour[node_id] = grey
                path.append(node_id)
            if index < len(successors):
                stack.append((node_id, index + 1))
                target = successors[index]
                if colour[target] == grey:
                    loop = [*path[path.index(target) :], target]
                    problems.append(Problem(f"nodes.{target}", "cycle: " + " → ".join(loop)))
                elif colour[target] == white:
                    stack.append((target, 0))
            else:
                colour[node_id] = black
                path.pop()
    return problems


def _coverage(node: Node) -> list[Problem]:
    """The ranges must cover every number exactly once: from below anything to anything above."""
    where = f"nodes.{node.id}.ranges"
    if not node.ranges:
        return []
    ordered = sorted(node.ranges, key=_low_key)
    problems: list[Problem] = []
    if ordered[0].low is not None:
        problems.append(Problem(where, f"no range for values below {ordered[0].low:g}"))
    for before, after in itertools.pairwise(ordered):
        if before.high is None:
            problems.append(
                Problem(where, f"ranges overlap: {_show(before, node)} and {_show(after, node)}")
            )
            continue
        if after.low is None or after.low < before.high:
            problems.append(
                Problem(where, f"ranges overlap: {_show(before, node)} and {_show(after, node)}")
            )
        elif after.low > before.high:
            problems.append(
                Problem(where, f"gap: no range for {before.high:g} to below {after.low:g}")
            )
    if ordered[-1].high is not None:
        problems.append(Problem(where, f"no range for {ordered[-1].high:g} or more"))
    return problems


def _low_key(r: Range) -> tuple[int, float]:
    return (0, 0.0) if r.low is None else (1, r.low)


def _show(r: Range, node: Node) -> str:
    return f"“{r.describe(node.unit)}”"
