"""Supersession, pure: resolving a number to what can be ordered, and finding cycles.

Plain data in, plain data out; no database. The catalogue's services gather the edges a question
needs and hand them here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from parts_catalog.numbers import describe_serial_range, normalise, serial_in_range

ONE_WAY = "one_way"
TWO_WAY = "two_way"
CONDITIONAL = "conditional"
INTERCHANGEABILITY = (ONE_WAY, TWO_WAY, CONDITIONAL)

NLA = "nla"

CURRENT = "current"
SUPERSEDED = "superseded"
KIT = "kit"
NO_LONGER_AVAILABLE = "no_longer_available"
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Edge:
    """One supersession row: ``old`` is replaced by ``new`` × ``quantity`` (normal forms)."""

    old: str
    new: str
    old_number: str
    new_number: str
    quantity: int = 1
    interchangeability: str = ONE_WAY
    effective_on: date | None = None
    serial_from: str | None = None
    serial_to: str | None = None
    note: str | None = None

    @property
    def serial_range(self) -> tuple[str | None, str | None]:
        return (self.serial_from, self.serial_to)

    @property
    def is_ranged(self) -> bool:
        return bool(self.serial_from or self.serial_to)


@dataclass(frozen=True)
class PartState:
    """What the catalogue says of a part as of the release asked about."""

    number: str
    status: str = "active"
    listed: bool = True
    safety_critical: bool = False


@dataclass(frozen=True)
class ResultItem:
    part_number: str
    quantity: int
    status: str
    condition: str | None = None
    safety_critical: bool = False


@dataclass(frozen=True)
class Resolution:
    requested: str
    known: bool
    outcome: str
    chain: tuple[Edge, ...] = ()
    result: tuple[ResultItem, ...] = ()
    notes: tuple[str, ...] = ()
    requires_confirmation: bool = False


def resolve(
    requested: str,
    *,
    successors: Mapping[str, Sequence[Edge]],
    parts: Mapping[str, PartState],
    serial: str | None = None,
) -> Resolution:
    """Follow supersessions from ``requested`` to parts that have no successor.

    Quantities multiply along the way. Several rows from one part form a kit. With a ``serial``,
    rows whose serial range excludes it are skipped; without one, every possible end is returned
    with the condition under which it applies, rather than a guess.

    :param successors: edges by the normal form of their ``old`` part, covering every part
        reachable from ``requested``.
    :param parts: the state of every part named in those edges, by normal form.
    """
    start = normalise(requested)
    if start not in parts:
        return Resolution(requested=requested, known=False, outcome=UNKNOWN)
    walk = _Walk(successors, serial)
    walk.expand(start)
    return _conclude(requested, start, walk, parts)


@dataclass
class _Walk:
    successors: Mapping[str, Sequence[Edge]]
    serial: str | None
    chain: list[Edge] = field(default_factory=list)
    # (part, condition) -> quantity; dicts keep the order parts were reached in.
    ends: dict[tuple[str, str | None], int] = field(default_factory=dict)
    kit_seen: bool = False
    conditional_notes: list[str] = field(default_factory=list)
    _seen: set[Edge] = field(default_factory=set)

    def expand(self, start: str) -> None:
        """Walk depth first from ``start`` with an explicit stack: a chain of any length."""
        # Items: (part, quantity, conditions, the edge that led here or None, ends here?).
        stack: list[tuple[str, int, tuple[str, ...], Edge | None, bool]] = [
            (start, 1, (), None, False)
        ]
        while stack:
            node, quantity, conditions, via, ends_here = stack.pop()
            if via is not None:
                self._follow(via)
            if ends_here:
                self._end(node, quantity, conditions)
                continue
            branches = self._branches(node)
            if not branches:
                self._end(node, quantity, conditions)
                continue
            children: list[tuple[str, int, tuple[str, ...], Edge | None, bool]] = []
            for condition, edges in branches:
                if edges is None:  # the part itself stays the answer under this condition
                    stays = (*conditions, condition) if condition else conditions
                    children.append((node, quantity, stays, None, True))
                    continue
                if len(edges) > 1:
                    self.kit_seen = True
                for edge in edges:
                    extra = (condition,) if condition else ()
                    if edge.interchangeability == CONDITIONAL:
                        extra = (*extra, f"only if: {edge.note or 'conditions apply'}")
                    children.append(
                        (edge.new, quantity * edge.quantity, (*conditions, *extra), edge, False)
                    )
            stack.extend(reversed(children))  # so the first is walked first, as written

    def _follow(self, edge: Edge) -> None:
        if edge not in self._seen:
            self._seen.add(edge)
            self.chain.append(edge)
        if edge.interchangeability == CONDITIONAL:
            note = edge.note or "conditions apply"
            if note not in self.conditional_notes:
                self.conditional_notes.append(note)

    def _branches(self, node: str) -> list[tuple[str | None, list[Edge] | None]]:
        edges = list(self.successors.get(node, ()))
        if not edges:
            return []
        if self.serial is not None:
            applicable = [
                e for e in edges if serial_in_range(self.serial, e.serial_from, e.serial_to)
            ]
            return [(None, applicable)] if applicable else []
        always = [e for e in edges if not e.is_ranged]
        by_range: dict[tuple[str | None, str | None], list[Edge]] = defaultdict(list)
        for edge in edges:
            if edge.is_ranged:
                by_range[edge.serial_range].append(edge)
        if not by_range:
            return [(None, always)]
        branches: list[tuple[str | None, list[Edge] | None]] = [
            (describe_serial_range(*serial_range), always + ranged)
            for serial_range, ranged in by_range.items()
        ]
        branches.append(("other serials", always or None))
        return branches

    def _end(self, node: str, quantity: int, conditions: tuple[str, ...]) -> None:
        key = (node, "; ".join(conditions) or None)
        self.ends[key] = self.ends.get(key, 0) + quantity


def _conclude(
    requested: str, start: str, walk: _Walk, parts: Mapping[str, PartState]
) -> Resolution:
    items = []
    notes = []
    for (norm, condition), quantity in walk.ends.items():
        state = parts.get(norm, PartState(number=norm, status=NLA, listed=False))
        status = state.status if state.listed else NLA
        items.append(ResultItem(state.number, quantity, status, condition, state.safety_critical))
        if not state.listed:
            notes.append(f"{state.number} is no longer listed in the catalogue.")
        elif status == NLA:
            notes.append(f"{state.number} is no longer available and has no replacement.")
        elif state.status == "discontinued":
            notes.append(f"{state.number} is discontinued: available while stock lasts.")
    chain_notes = [_describe(edge) for edge in walk.chain]
    chain_notes += [
        f"Conditional replacement: {note.rstrip('.')}. Confirm this applies before ordering."
        for note in walk.conditional_notes
    ]

    if not walk.chain:
        outcome = NO_LONGER_AVAILABLE if items[0].status == NLA else CURRENT
    elif all(item.status == NLA for item in items):
        outcome = NO_LONGER_AVAILABLE
    elif walk.kit_seen:
        outcome = KIT
    else:
        outcome = SUPERSEDED
    return Resolution(
        requested=requested,
        known=True,
        outcome=outcome,
        chain=tuple(walk.chain),
        result=tuple(items),
        notes=tuple(chain_notes + notes),
        requires_confirmation=bool(walk.conditional_notes),
    )


def _describe(edge: Edge) -> str:
    kind = {ONE_WAY: "one-way", TWO_WAY: "two-way", CONDITIONAL: "conditional"}[
        edge.interchangeability
    ]
    text = f"{edge.old_number} is replaced by {edge.new_number}"
    if edge.quantity != 1:
        text += f" × {edge.quantity}"
    text += f" ({kind}"
    if edge.effective_on:
        text += f", from {edge.effective_on.isoformat()}"
    text += ")"
    serials = describe_serial_range(edge.serial_from, edge.serial_to)
    if serials:
        text += f" for {serials}"
    return text + "."


def find_cycles(
    edges: Iterable[tuple[str, str]], *, roots: Iterable[str] | None = None
) -> list[list[str]]:
    """Every cycle in a directed graph, as the parts of each strongly connected component.

    Iterative Tarjan, so a chain of any length cannot exhaust the stack. With ``roots``, only
    cycles reachable from them are sought: after a release, a new cycle must pass through a
    changed row, so the search can start from those alone.
    """
    graph: dict[str, list[str]] = defaultdict(list)
    for old, new in edges:
        graph[old].append(new)
        graph.setdefault(new, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    counter = 0
    for root in graph if roots is None else [r for r in roots if r in graph]:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, child_i = work.pop()
            if child_i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            children = graph[node]
            if child_i < len(children):
                work.append((node, child_i + 1))
                child = children[child_i]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    cycles.append(list(reversed(component)))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return cycles
