"""Random valid diagnostic trees (DESIGN.md "Diagnostic trees"), and random answers to them.

A tree is built over nodes in a random order where every ``next`` points further down the
order: no cycle is possible, every node is given a parent above it (so every node is reached
from ``start``), and a question always has somewhere to go (so every path ends at a terminal).
"""

from __future__ import annotations

import string
from typing import Any

from hypothesis import strategies as st

from diagnostics.trees import CHOICE, ESCALATE, EXCHANGE, FIX, MEASURE, STEP, Node

QUESTIONS = (CHOICE, MEASURE, STEP)
TERMINALS = (FIX, EXCHANGE, ESCALATE)

node_ids = st.text(
    st.sampled_from(string.ascii_letters + string.digits + "-_"), min_size=1, max_size=12
).filter(lambda s: s[0].isalnum())
words = st.text(st.sampled_from(string.ascii_letters + string.digits + " .,?!-"), max_size=30).map(
    str.strip
)
texts = words.filter(bool)
labels = st.sampled_from(["yes", "no", "2", "6", "Blinks", "steady", "off", "3 × short"]) | texts
#: Finite cut points of a measurement's ranges.
cuts = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, 11.4, 12.0, -5.0, 0.5]
)


@st.composite
def tree_documents(draw: st.DrawFn, *, max_nodes: int = 12) -> dict[str, Any]:
    ids = draw(st.lists(node_ids, min_size=1, max_size=max_nodes, unique=True))
    count = len(ids)
    kinds = [draw(st.sampled_from(QUESTIONS + TERMINALS)) for _ in ids]
    kinds[-1] = draw(st.sampled_from(TERMINALS))  # nothing below it to go to
    successors: list[list[int]] = [[] for _ in ids]
    # Every node but the first gets a parent above it: a choice or measurement (any number of
    # successors) or a step that has none yet.
    for j in range(1, count):
        parents = [
            i
            for i in range(j)
            if kinds[i] in (CHOICE, MEASURE) or (kinds[i] == STEP and not successors[i])
        ]
        if not parents:
            kinds[j - 1] = draw(st.sampled_from((CHOICE, MEASURE)))
            parents = [j - 1]
        successors[draw(st.sampled_from(parents))].append(j)
    # A question still without successors, and extra branches: anywhere further down.
    for i in range(count - 1):
        if kinds[i] == STEP and not successors[i]:
            successors[i].append(draw(st.integers(i + 1, count - 1)))
        elif kinds[i] in (CHOICE, MEASURE):
            extra = draw(st.lists(st.integers(i + 1, count - 1), max_size=2))
            successors[i].extend(extra)
            if not successors[i]:
                successors[i].append(draw(st.integers(i + 1, count - 1)))
    nodes = {ids[i]: draw(_node(kinds[i], [ids[j] for j in successors[i]])) for i in range(count)}
    return {
        "id": draw(st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True)),
        "title": draw(texts),
        "product_line": draw(st.sampled_from(["TV", "Camera", "Audio"])),
        "models": draw(st.lists(st.sampled_from(["KDL-*", "XBR-55X900E", "DSC-*"]), unique=True)),
        "codes": draw(st.lists(st.sampled_from(["blink:2", "blink:6", "error:E61"]), unique=True)),
        "symptoms": draw(st.lists(texts, max_size=2)),
        "start": ids[0],
        "nodes": nodes,
    }


@st.composite
def _node(draw: st.DrawFn, kind: str, nexts: list[str]) -> dict[str, Any]:
    node: dict[str, Any] = {"kind": kind, "text": draw(texts)}
    if kind == CHOICE:
        names = draw(st.lists(labels, min_size=len(nexts), max_size=len(nexts), unique=True))
        node["options"] = [
            {"label": label, "next": nxt} for label, nxt in zip(names, nexts, strict=True)
        ]
    elif kind == MEASURE:
        size = len(nexts) - 1
        bounds = sorted(draw(st.lists(cuts, min_size=size, max_size=size, unique=True)))
        ranges: list[dict[str, Any]] = []
        for k, nxt in enumerate(nexts):
            item: dict[str, Any] = {}
            if k > 0:
                item["from"] = bounds[k - 1]
            if k < len(bounds):
                item["below"] = bounds[k]
            item["next"] = nxt
            ranges.append(item)
        node["ranges"] = draw(st.permutations(ranges))  # any order covers the same numbers
        if draw(st.booleans()):
            node["unit"] = draw(st.sampled_from(["V", "Ω", "mA"]))
        if draw(st.booleans()):
            # Plausible values hold every bound (validation asks that), with room either side.
            margins = st.floats(0, 1e3, allow_nan=False) | st.just(0.0)
            low = min(bounds, default=0.0) - draw(margins)
            high = max(bounds, default=0.0) + draw(margins)
            if low == high:
                high = low + 1
            node["plausible"] = [low, high]
    elif kind == STEP:
        node["next"] = nexts[0]
    elif kind == FIX:
        node["parts"] = []  # no catalogue here; parts are the catalogue's properties
        node["labour_minutes"] = draw(st.integers(0, 240))
    return node


def answers_for(node: Node) -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments of ``walk.answer_for`` (and ``services.answer``) that fit ``node``."""
    if node.kind == CHOICE:
        return st.sampled_from([o.label for o in node.options]).map(
            lambda label: {"option": label, "value": None, "proceed": False}
        )
    if node.kind == MEASURE:
        bounds = [b for r in node.ranges for b in (r.low, r.high) if b is not None]
        values = st.floats(allow_nan=False, allow_infinity=False)
        if bounds:
            values = values | st.sampled_from(bounds)  # the edges are where mistakes hide
        if node.plausible is not None:
            low, high = node.plausible
            values = values | st.sampled_from([low, high, low - 1, high + 1, high * 10 + 1])
        # A value outside the plausible range is sent as the technician sends it after
        # re-measuring: confirmed.
        spelled = values.flatmap(
            lambda v: st.tuples(
                st.sampled_from([v, repr(v), f" {v!r} ", repr(v).replace(".", ",")]),
                st.just(not node.is_plausible(v)),
            )
        )
        return spelled.map(
            lambda vc: {
                "option": None,
                "value": vc[0],
                "proceed": False,
                "confirm_implausible": vc[1],
            }
        )
    return st.just({"option": None, "value": None, "proceed": True})
