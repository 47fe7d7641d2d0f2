"""A picture of a tree: nodes in layers from the start, edges labelled with the answer that
follows them, problem nodes marked. The template draws it as SVG, so every node is a link and
no Graphviz binary is needed.

The layout is a layered one (as Graphviz's dot lays a graph out), built so that nothing hides
anything else, by construction rather than by luck:

- every node sits in a layer; an edge that goes round a cycle (or up from a node the start
  cannot reach) is laid out reversed and drawn back up, so all edges run between layers;
- between two layers of nodes lies a layer of edge labels; an edge that spans several layers
  passes each one in a slot of its own, and each label has a slot of its own;
- slots of one layer never overlap (they are placed left to right with a gap), and boxes and
  labels stay inside their layer's band, so the only lines between bands are an edge's
  slanted stretches, and within a band an edge runs straight down its own slot.

So no two boxes overlap, no label covers a box or another label, and no edge passes behind a
node it does not connect. The order within each layer is chosen to cross few edges (barycentre
sweeps, the best order kept), and slots are pulled under their neighbours (least squares with
the gaps kept) so that edges run as straight as they can.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from diagnostics.trees import CHOICE, MEASURE, Tree

NODE_W, NODE_H, MARGIN = 170, 54, 20
GAP_X = 30  # between two boxes side by side
GAP_SLOT = 10  # between an edge's slot (or label) and anything beside it
GAP_Y = 32  # between a layer of boxes and a layer of labels
STUB = 6  # an edge leaves and meets a rank straight for this long, then slants
LABEL_H = 16
DUMMY_W = 6  # the slot of an edge passing a layer
LOOP_W = 14  # room right of a box for an edge from the node to itself
PAD = 8  # text inside a box starts this far in
HEADING_PX, TEXT_PX, LABEL_PX = 12, 11, 11  # font sizes (the stylesheet's)
LABEL_CHARS = 28
# Rounds of ordering and straightening; a huge drawing (thousands of slots, from long edges
# across hundreds of layers) gets fewer, so that the page still answers in a second or two.
_SWEEPS, _STRAIGHTEN, _HUGE, _HUGE_ROUNDS = 12, 8, 3000, 4


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    def overlaps(self, other: Rect) -> bool:
        """Whether the two share any area (touching edges do not count)."""
        return (
            self.x < other.x + other.w
            and other.x < self.x + self.w
            and self.y < other.y + other.h
            and other.y < self.y + self.h
        )


@dataclass(frozen=True)
class Box:
    id: str
    kind: str
    label: str  # the node's text, cut to fit the box
    x: float
    y: float
    problem: bool
    start: bool
    missing: bool = False  # named by a "next" but not a node
    heading: str = ""  # "id · kind" (with ⚠ for a problem), cut to fit the box
    text: str = ""  # the node's whole text (the box's tooltip)
    width: float = NODE_W
    height: float = NODE_H

    @property
    def rect(self) -> Rect:
        return Rect(self.x, self.y, self.width, self.height)


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    points: tuple[tuple[float, float], ...]  # from the source's box to the target's (the arrow)
    label: str
    label_box: Rect | None  # where the label is written, clear of everything else
    back: bool  # drawn upwards: part of a cycle, or from a node the start cannot reach

    @property
    def path(self) -> str:
        """The points as SVG's ``points`` attribute takes them."""
        return " ".join(f"{x:g},{y:g}" for x, y in self.points)

    def segments(self) -> Iterable[tuple[tuple[float, float], tuple[float, float]]]:
        return pairwise(self.points)


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


# --- the layout's working parts ------------------------------------------------------------------


@dataclass(eq=False)
class _Slot:
    """What takes room in a rank: a node's box, an edge passing by, or an edge's label."""

    rank: int
    width: float
    anchor: float  # where on the slot the edge runs (a box: its middle)
    node: str | None = None
    order: float = 0.0
    x: float = 0.0  # the slot's left
    up: list[_Slot] = field(default_factory=list)  # neighbours in the rank above
    down: list[_Slot] = field(default_factory=list)


@dataclass
class _Route:
    """An edge as laid out: downwards from ``top`` to ``bottom`` through ``slots``."""

    source: str
    target: str
    label: str
    reversed: bool
    top: str
    bottom: str
    slots: list[_Slot] = field(default_factory=list)
    label_slot: _Slot | None = None


def draw(tree: Tree, problem_nodes: set[str]) -> Picture:
    # Every node, then every name a "next" gives that is not a node (drawn as missing).
    nodes: dict[str, None] = dict.fromkeys(tree.nodes)
    successors: dict[str, list[str]] = {}
    labels: dict[tuple[str, str], list[str]] = {}
    for source, target, label in _edges(tree):
        nodes.setdefault(target)
        if (source, target) not in labels:
            successors.setdefault(source, []).append(target)
        labels.setdefault((source, target), []).append(label)
    joined = {
        pair: _short(" / ".join(n for n in names if n), LABEL_CHARS)
        for pair, names in labels.items()
    }

    start = tree.start if tree.start in nodes else None
    reachable = _reachable(start, successors) if start else {}
    reversed_pairs = _back_edges(nodes, successors, reachable)
    layer = _layers(nodes, successors, reachable, reversed_pairs)

    # Ranks: 2 * layer holds boxes; the odd ranks between hold labels and passing edges.
    slots: dict[str, _Slot] = {}
    loops: dict[str, str] = {}
    for (source, target), label in joined.items():
        if source == target:
            loops[source] = label
    for node_id in nodes:
        loop = loops.get(node_id)
        extra = (
            (LOOP_W + (_text_width(loop, LABEL_PX) + 4 if loop else 0)) if loop is not None else 0
        )
        slots[node_id] = _Slot(2 * layer[node_id], NODE_W + extra, NODE_W / 2, node=node_id)

    routes: list[_Route] = []
    for (source, target), label in joined.items():
        if source == target:
            continue
        flip = (source, target) in reversed_pairs
        top, bottom = (target, source) if flip else (source, target)
        route = _Route(source, target, label, flip, top, bottom)
        upper, lower = slots[top].rank, slots[bottom].rank
        # The label sits next to the node the answer belongs to: under it, or (drawn back
        # up) above it.
        label_rank = lower - 1 if flip else upper + 1
        for rank in range(upper + 1, lower):
            if rank == label_rank and label:
                slot = _Slot(rank, _text_width(label, LABEL_PX) + 6, 0.0)
                route.label_slot = slot
            else:
                slot = _Slot(rank, DUMMY_W, DUMMY_W / 2)
            route.slots.append(slot)
        chain = [slots[top], *route.slots, slots[bottom]]
        for a, b in pairwise(chain):
            a.down.append(b)
            b.up.append(a)
        routes.append(route)

    ranks = _ranks([*slots.values(), *(s for r in routes for s in r.slots)])
    # Two starts (the answers in order, then mirrored): sweeps and swaps find a local best,
    # and a tree drawn the other way round is often the one without a crossing.
    rounds = _HUGE_ROUNDS if sum(len(r) for r in ranks) > _HUGE else None
    best: tuple[int, list[list[_Slot]]] | None = None
    for mirrored in (False, True):
        _initial_order(ranks, nodes, successors, start, routes, slots, mirrored=mirrored)
        _reduce_crossings(ranks, rounds or _SWEEPS, transpose=rounds is None)
        count = _crossings(ranks)
        if best is None or count < best[0]:
            best = (count, [list(rank) for rank in ranks])
        if count == 0 or rounds is not None:
            break
    assert best is not None
    ranks = best[1]
    for members in ranks:
        _renumber(members)
    _place(ranks, rounds or _STRAIGHTEN)
    tops, height = _rank_tops(ranks)

    boxes = [_box(tree, node_id, slots[node_id], tops, problem_nodes, start) for node_id in nodes]
    edges = [_route_edge(route, slots, tops) for route in routes]
    edges += [_loop_edge(node_id, label, slots[node_id], tops) for node_id, label in loops.items()]
    width = max((s.x + s.width for rank in ranks for s in rank), default=0) + MARGIN
    return Picture(max(width, NODE_W + 2 * MARGIN), height, boxes, edges)


def _reachable(
    start: str, successors: dict[str, list[str]], *, mirrored: bool = False
) -> dict[str, int]:
    """The nodes the start reaches, numbered in depth-first order (their first placing), the
    answers taken in order (or, ``mirrored``, last first)."""
    seen: dict[str, int] = {}
    stack = [start]
    while stack:
        node_id = stack.pop()
        if node_id in seen:
            continue
        seen[node_id] = len(seen)
        children = [s for s in successors.get(node_id, []) if s not in seen]
        stack.extend(children if mirrored else reversed(children))
    return seen


def _back_edges(
    nodes: dict[str, None], successors: dict[str, list[str]], reachable: dict[str, int]
) -> set[tuple[str, str]]:
    """The edges to lay out reversed: those closing a cycle (found depth first, from the start
    and then from each node it cannot reach), and those from a node the start cannot reach to
    one it can (drawn up from the last rows)."""
    flipped: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    roots = [r for r in reachable if reachable[r] == 0] + [n for n in nodes if n not in reachable]
    for root in roots:
        if root in state:
            continue
        stack: list[tuple[str, Iterable[str]]] = [(root, iter(successors.get(root, [])))]
        state[root] = 1
        while stack:
            node_id, children = stack[-1]
            child = next(iter(children), None)
            if child is None:
                state[node_id] = 2
                stack.pop()
                continue
            if node_id not in reachable and child in reachable:
                flipped.add((node_id, child))
            elif state.get(child) == 1:
                if child != node_id:
                    flipped.add((node_id, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(successors.get(child, []))))
    return flipped


def _layers(
    nodes: dict[str, None],
    successors: dict[str, list[str]],
    reachable: dict[str, int],
    flipped: set[tuple[str, str]],
) -> dict[str, int]:
    """Each node's layer: the longest way down to it from the start (edges laid out reversed
    counted the other way); the nodes the start cannot reach in layers of their own below."""
    down: dict[str, list[str]] = {n: [] for n in nodes}
    for source, targets in successors.items():
        for target in targets:
            if source == target:
                continue
            if (source, target) in flipped:
                down[target].append(source)
            else:
                down[source].append(target)
    layer: dict[str, int] = {}
    for group, offset in ((list(reachable), 0), ([n for n in nodes if n not in reachable], None)):
        if not group:
            continue
        base = 0 if offset is not None else max(layer.values(), default=-1) + 1
        members = set(group)
        indegree = dict.fromkeys(group, 0)
        for node_id in group:
            for child in down[node_id]:
                if child in members:
                    indegree[child] += 1
        ready = [n for n in group if indegree[n] == 0]
        depth = dict.fromkeys(ready, base)
        while ready:
            node_id = ready.pop()
            for child in down[node_id]:
                if child not in members:
                    continue
                depth[child] = max(depth.get(child, base), depth[node_id] + 1)
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
        layer.update(depth)
    return layer


def _ranks(all_slots: Sequence[_Slot]) -> list[list[_Slot]]:
    count = max((s.rank for s in all_slots), default=0) + 1
    ranks: list[list[_Slot]] = [[] for _ in range(count)]
    for slot in all_slots:
        ranks[slot.rank].append(slot)
    return ranks


def _initial_order(
    ranks: list[list[_Slot]],
    nodes: dict[str, None],
    successors: dict[str, list[str]],
    start: str | None,
    routes: list[_Route],
    slots: dict[str, _Slot],
    *,
    mirrored: bool,
) -> None:
    """Depth-first order from the start (then the rest): a tree's branches side by side."""
    order: dict[str, int] = {}
    for root in ([start] if start else []) + list(nodes):
        if root not in order:
            for node_id in _reachable(root, successors, mirrored=mirrored):
                order.setdefault(node_id, len(order))
    for node_id, slot in slots.items():
        slot.order = order[node_id]
    for route in routes:
        # Along the way from its top to its bottom: a long edge starts out beside the short
        # ones that go where it goes.
        top, bottom = order[route.top], order[route.bottom]
        for step, slot in enumerate(route.slots, start=1):
            slot.order = top + (bottom - top) * step / (len(route.slots) + 1)
    for rank in ranks:
        rank.sort(key=lambda s: s.order)
        _renumber(rank)


def _renumber(rank: list[_Slot]) -> None:
    for i, slot in enumerate(rank):
        slot.order = i


def _reduce_crossings(ranks: list[list[_Slot]], sweeps: int, *, transpose: bool) -> None:
    """Barycentre sweeps down and up, each followed by swaps of neighbours that cross less
    (``transpose``); the order with the fewest crossings is kept."""
    best = [list(rank) for rank in ranks]
    fewest = _crossings(ranks)
    for sweep in range(sweeps):
        if fewest == 0:
            break
        downwards = sweep % 2 == 0
        sequence = range(1, len(ranks)) if downwards else range(len(ranks) - 2, -1, -1)
        for r in sequence:
            rank = ranks[r]
            for slot in rank:
                near = slot.up if downwards else slot.down
                if near:
                    slot.order = sum(n.order for n in near) / len(near)
            # Stable: slots with the same barycentre keep their order.
            rank.sort(key=lambda s: s.order)
            _renumber(rank)
        if transpose:
            _transpose(ranks)
        count = _crossings(ranks)
        if count < fewest:
            fewest, best = count, [list(rank) for rank in ranks]
    for r, rank in enumerate(best):
        ranks[r] = rank
        _renumber(rank)


def _transpose(ranks: list[list[_Slot]]) -> None:
    """Swap neighbours in a rank wherever that crosses fewer edges, until no swap helps."""
    for _ in range(4):
        swapped = False
        for rank in ranks:
            for i in range(len(rank) - 1):
                left, right = rank[i], rank[i + 1]
                if _pair_crossings(right, left) < _pair_crossings(left, right):
                    rank[i], rank[i + 1] = right, left
                    right.order, left.order = i, i + 1
                    swapped = True
        if not swapped:
            return


def _pair_crossings(left: _Slot, right: _Slot) -> int:
    """How many of their edges cross with ``left`` placed left of ``right``."""
    return sum(a.order > b.order for a in left.up for b in right.up) + sum(
        a.order > b.order for a in left.down for b in right.down
    )


def _crossings(ranks: list[list[_Slot]]) -> int:
    total = 0
    for rank in ranks[:-1]:
        pairs = sorted((s.order, n.order) for s in rank for n in s.down)
        total += _inversions([b for _a, b in pairs])
    return total


def _inversions(values: list[float]) -> int:
    """Pairs out of order (edges that cross), counted with a Fenwick tree."""
    rank_of = {v: i for i, v in enumerate(sorted(set(values)), start=1)}
    counts = [0] * (len(rank_of) + 1)
    total = 0
    for seen, value in enumerate(values):
        i = rank_of[value]
        at_most = 0
        while i > 0:  # how many seen so far are no greater than this one
            at_most += counts[i]
            i -= i & -i
        total += seen - at_most
        i = rank_of[value]
        while i < len(counts):
            counts[i] += 1
            i += i & -i
    return total


def _gap(a: _Slot, b: _Slot) -> float:
    return GAP_X if a.node is not None and b.node is not None else GAP_SLOT


def _place(ranks: list[list[_Slot]], rounds: int) -> None:
    """Left edges: packed, then pulled under (and over) their neighbours, the gaps kept."""
    for rank in ranks:
        x = 0.0
        for i, slot in enumerate(rank):
            slot.x = x
            if i + 1 < len(rank):
                x += slot.width + _gap(slot, rank[i + 1])
    for round_ in range(rounds):
        downwards = round_ % 2 == 0
        sequence = range(1, len(ranks)) if downwards else range(len(ranks) - 2, -1, -1)
        for r in sequence:
            rank = ranks[r]
            wanted = []
            for slot in rank:
                near = slot.up if downwards else slot.down
                if near:
                    wanted.append(sum(n.x + n.anchor for n in near) / len(near))
                else:
                    wanted.append(slot.x + slot.anchor)
            _fit(rank, wanted)
    left = min((s.x for rank in ranks for s in rank), default=0.0)
    for rank in ranks:
        for slot in rank:
            slot.x = round(slot.x + MARGIN - left, 1)


def _fit(rank: list[_Slot], wanted: list[float]) -> None:
    """Move the slots of a rank as near as they can get to ``wanted`` (their anchors), in
    order and with the gaps between them: least squares under order constraints (pool
    adjacent violators, on positions less the room the slots before them need)."""
    if not rank:
        return
    room = [0.0]
    for a, b in pairwise(rank):
        room.append(room[-1] + a.width + _gap(a, b))
    targets = [w - s.anchor - c for w, s, c in zip(wanted, rank, room, strict=True)]
    blocks: list[list[float]] = []  # [mean, count]
    for t in targets:
        blocks.append([t, 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            previous = blocks[-1]
            previous[0] = (previous[0] * previous[1] + mean * count) / (previous[1] + count)
            previous[1] += count
    i = 0
    for mean, count in blocks:
        for _ in range(int(count)):
            rank[i].x = mean + room[i]
            i += 1


def _rank_tops(ranks: list[list[_Slot]]) -> tuple[list[float], float]:
    tops = []
    y = float(MARGIN)
    for r in range(len(ranks)):
        tops.append(y)
        y += (NODE_H if r % 2 == 0 else LABEL_H) + GAP_Y
    return tops, y - GAP_Y + MARGIN


def _box(
    tree: Tree,
    node_id: str,
    slot: _Slot,
    tops: list[float],
    problem_nodes: set[str],
    start: str | None,
) -> Box:
    node = tree.nodes.get(node_id)
    problem = node_id in problem_nodes or node is None
    kind = node.kind if node else "missing"
    room = NODE_W - 2 * PAD
    return Box(
        node_id,
        kind,
        _fit_text(node.text if node else "not a node", room, TEXT_PX),
        slot.x,
        tops[slot.rank],
        problem,
        node_id == start,
        node is None,
        heading=_fit_text(f"{'⚠ ' if problem else ''}{node_id} · {kind}", room, HEADING_PX, 1.16),
        text=" ".join((node.text if node else "not a node").split()),
    )


def _ports(slot: _Slot, others: list[float]) -> list[float]:
    """Where edges meet a box's top or bottom edge: spread along it in the order of the x
    they come from, so that they do not cross at the box."""
    spread = sorted(range(len(others)), key=lambda i: others[i])
    xs = [0.0] * len(others)
    for place, i in enumerate(spread):
        xs[i] = slot.x + NODE_W * (place + 1) / (len(others) + 1)
    return xs


def _route_edge(route: _Route, slots: dict[str, _Slot], tops: list[float]) -> Edge:
    top, bottom = slots[route.top], slots[route.bottom]
    first = route.slots[0] if route.slots else bottom
    last = route.slots[-1] if route.slots else top
    x_out = _port_of(top, first, downwards=True)
    x_in = _port_of(bottom, last, downwards=False)
    # Straight down through each rank it passes, slanting only in the clear middle of the gaps
    # between ranks (never near a box's corner).
    runs = [(x_out, tops[top.rank] + NODE_H, tops[top.rank] + NODE_H)]
    for slot in route.slots:
        height = NODE_H if slot.rank % 2 == 0 else LABEL_H
        runs.append((slot.x + slot.anchor, tops[slot.rank], tops[slot.rank] + height))
    runs.append((x_in, tops[bottom.rank], tops[bottom.rank]))
    points: list[tuple[float, float]] = []
    for (x, y1, y2), (next_x, next_y1, _y2) in pairwise(runs):
        points += [(x, y1), (x, y2), (x, y2 + STUB), (next_x, next_y1 - STUB)]
    points.append(runs[-1][:2])
    label_box = None
    if route.label_slot is not None:
        s = route.label_slot
        label_box = Rect(s.x + 4, tops[s.rank], s.width - 4, LABEL_H)
    if route.reversed:
        points.reverse()
    return Edge(
        route.source,
        route.target,
        tuple(_simplified(points)),
        route.label,
        label_box,
        back=route.reversed,
    )


def _port_of(node: _Slot, toward: _Slot, *, downwards: bool) -> float:
    near = node.down if downwards else node.up
    xs = _ports(node, [n.x + n.anchor for n in near])
    return xs[near.index(toward)]


def _loop_edge(node_id: str, label: str, slot: _Slot, tops: list[float]) -> Edge:
    """An edge from a node to itself: out of the box's right side and back, in the room its
    slot keeps for it; its label beside it."""
    y = tops[slot.rank]
    right = slot.x + NODE_W
    points = (
        (right, y + NODE_H * 0.3),
        (right + LOOP_W - 4, y + NODE_H * 0.3),
        (right + LOOP_W - 4, y + NODE_H * 0.7),
        (right, y + NODE_H * 0.7),
    )
    label_box = (
        Rect(right + LOOP_W, y + (NODE_H - LABEL_H) / 2, slot.width - NODE_W - LOOP_W, LABEL_H)
        if label
        else None
    )
    return Edge(node_id, node_id, points, label, label_box, back=True)


def _simplified(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Without the corners a straight run does not need."""
    kept: list[tuple[float, float]] = []
    for point in points:
        if kept and kept[-1] == point:
            continue
        if len(kept) >= 2:
            (ax, ay), (bx, by) = kept[-2], kept[-1]
            if abs((bx - ax) * (point[1] - ay) - (by - ay) * (point[0] - ax)) < 1e-9:
                kept[-1] = point
                continue
        kept.append(point)
    return kept


# Widths of glyphs, in ems, a little over those of DejaVu Sans (a wide sans-serif, and what
# system-ui often falls back to): enough to give a text its room. The template clips each text
# to its box besides, so a wider font is cut short rather than overlapping.
_NARROW = set("iljtfrI.,:;!|'`() ")
_WIDE = set("MWmw@%") | {"—", "…", "⚠"}


def _text_width(text: str, px: float, bold: float = 1.0) -> float:
    ems = sum(
        0.36
        if c in _NARROW
        else 1.0
        if c in _WIDE
        else 0.66
        if c.isdigit()
        else 0.76
        if c.isupper()
        else 0.64
        for c in text
    )
    return round(ems * px * bold + 0.5)


def _fit_text(text: str, room: float, px: float, bold: float = 1.0) -> str:
    text = " ".join(text[: int(room)].split())  # no glyph is under a pixel wide
    if _text_width(text, px, bold) <= room:
        return text
    while text and _text_width(text + "…", px, bold) > room:
        text = text[:-1]
    return text.rstrip() + "…"


def _short(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
