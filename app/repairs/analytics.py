"""Tree analytics from repairs: per fix node and per tree, what walks and repairs show.

For engineers improving a tree: which fixes are reached, how often a repair walked to that fix
ended repaired, came back within the redo window, or was exchanged; where walks stop without
an answer, and which nodes lead to escalations. Every revision of a tree counts (nodes are
matched by id, which revisions keep). No Flask here; nothing is written.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.escalations.models import Ticket
from app.repairs.models import (
    ExchangeAuthorisation,
    ExchangeStatus,
    LinkKind,
    Repair,
    RepairLink,
    RepairStatus,
)
from app.repairs.settings import RepairSettings
from diagnostics import services as diagnostics
from diagnostics.models import DiagnosticSession, SessionAnswer, TreeRevision
from diagnostics.trees import ESCALATE, EXCHANGE, FIX, Tree
from diagnostics.walk import Answer, replay


@dataclass(frozen=True)
class FixFigures:
    """One fix (or exchange) terminal of the tree.

    :param walks: walks that reached it.
    :param repaired: repairs with such a walk attached that ended repaired.
    :param redos: repairs of the same unit opened within ``redo_days`` of one of those.
    :param exchange_requests: exchange requests decided from a walk at this node.
    :param exchanges: of those, the approved ones.
    """

    node: str
    kind: str
    text: str
    walks: int
    repaired: int
    redos: int
    exchange_requests: int
    exchanges: int

    @property
    def redo_rate(self) -> float | None:
        """Redos per repaired repair (None before any ended repaired)."""
        return self.redos / self.repaired if self.repaired else None


@dataclass(frozen=True)
class NodeCount:
    node: str
    kind: str
    text: str
    count: int


@dataclass(frozen=True)
class EscalationFigures:
    """A node walks escalated from: ``walks`` ended at it (an escalate node), ``tickets`` were
    opened from a walk standing at it."""

    node: str
    kind: str
    text: str
    walks: int
    tickets: int


@dataclass(frozen=True)
class TreeAnalytics:
    tree_id: str
    title: str
    revisions: list[int]
    redo_days: int
    walks: int
    finished: int
    fixes: list[FixFigures]
    stops: list[NodeCount]  # walks that never reached a terminal, by where they stand
    escalations: list[EscalationFigures]


def tree_analytics(session: Session, tree_id: str, *, settings: RepairSettings) -> TreeAnalytics:
    """The figures of a tree over all its revisions.

    :raises diagnostics.errors.UnknownTree: there is no tree ``tree_id``.
    """
    newest = diagnostics.get_revision(session, tree_id)  # raises UnknownTree
    revisions = session.scalars(
        select(TreeRevision).where(TreeRevision.tree_id == tree_id).order_by(TreeRevision.number)
    ).all()
    # A node's words and kind as the newest revision that has it says them.
    nodes: dict[str, tuple[str, str]] = {}
    trees: dict[int, Tree] = {}
    for revision in revisions:
        tree = diagnostics.tree_of(revision)
        trees[revision.id] = tree
        for node in tree.nodes.values():
            nodes[node.id] = (node.kind, node.text)

    # The tree's walks as a subquery: a busy tree has more walks than a query should list.
    walk_ids = (
        select(DiagnosticSession.id)
        .join(TreeRevision, TreeRevision.id == DiagnosticSession.revision_id)
        .where(TreeRevision.tree_id == tree_id)
    )
    position, outcomes = _positions(session, walk_ids, trees)
    finished = {walk_id for walk_id, outcome in outcomes.items() if outcome is not None}

    reached: Counter[str] = Counter()
    stops: Counter[str] = Counter()
    escalated: Counter[str] = Counter()
    for walk_id, outcome in outcomes.items():
        at = position[walk_id]
        if outcome is None:
            stops[at] += 1
        elif outcome in (FIX, EXCHANGE):
            reached[at] += 1
        elif outcome == ESCALATE:
            escalated[at] += 1

    tickets: Counter[str] = Counter()
    for opened_from in session.scalars(
        select(Ticket.diagnostic_session).where(Ticket.diagnostic_session.in_(walk_ids))
    ):
        if opened_from is not None:
            tickets[position[opened_from]] += 1

    repaired, redos = _repairs_by_node(session, walk_ids, position, finished, settings=settings)
    requests, approved = _exchanges_by_node(session, tree_id)

    def described(node: str) -> tuple[str, str]:
        return nodes.get(node, ("", node))

    fix_nodes = sorted(
        {n for n, (kind, _) in nodes.items() if kind in (FIX, EXCHANGE)}
        | set(reached)
        | set(requests),
        key=lambda n: (-reached[n], n),
    )
    fixes = [
        FixFigures(
            node=n,
            kind=described(n)[0],
            text=described(n)[1],
            walks=reached[n],
            repaired=len(repaired[n]),
            redos=len(redos[n]),
            exchange_requests=requests[n],
            exchanges=approved[n],
        )
        for n in fix_nodes
    ]
    escalation_nodes = sorted(set(escalated) | set(tickets), key=lambda n: (-escalated[n], n))
    return TreeAnalytics(
        tree_id=tree_id,
        title=newest.title,
        revisions=[r.number for r in revisions],
        redo_days=settings.redo_days,
        walks=len(outcomes),
        finished=len(finished),
        fixes=fixes,
        stops=[
            NodeCount(n, *described(n), count)
            for n, count in sorted(stops.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        escalations=[
            EscalationFigures(n, *described(n), walks=escalated[n], tickets=tickets[n])
            for n in escalation_nodes
        ],
    )


def _positions(
    session: Session, walk_ids: Select[str], trees: dict[int, Tree]
) -> tuple[dict[str, str], dict[str, str | None]]:
    """Where each walk stands, and its outcome (None while under way).

    Read as plain rows and replayed over each revision's tree parsed once, as
    :func:`diagnostics.services.position` replays one walk: loading thousands of walks with
    their answers as objects is what would make this page slow.
    """
    walks = session.execute(
        select(
            DiagnosticSession.id, DiagnosticSession.revision_id, DiagnosticSession.outcome
        ).where(DiagnosticSession.id.in_(walk_ids))
    ).all()
    answers: dict[str, list[Answer]] = defaultdict(list)
    for row in session.execute(
        select(
            SessionAnswer.session_id,
            SessionAnswer.node,
            SessionAnswer.option,
            SessionAnswer.value,
            SessionAnswer.implausible_confirmed_at,
        )
        .where(SessionAnswer.session_id.in_(walk_ids), SessionAnswer.taken_back_at.is_(None))
        .order_by(SessionAnswer.id)
    ):
        answers[row.session_id].append(
            Answer(row.node, row.option, row.value, row.implausible_confirmed_at)
        )
    position = {
        walk_id: replay(trees[revision_id], answers.get(walk_id, []))[0]
        for walk_id, revision_id, _outcome in walks
    }
    return position, {walk_id: outcome for walk_id, _revision, outcome in walks}


def _repairs_by_node(
    session: Session,
    walk_ids: Select[str],
    position: dict[str, str],
    finished: set[str],
    *,
    settings: RepairSettings,
) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """Per terminal: the repairs ended repaired with a walk there attached, and the redos of
    those opened within ``redo_days`` of their end."""
    links = session.execute(
        select(RepairLink.ref, Repair)
        .join(Repair, Repair.id == RepairLink.repair_id)
        .where(
            RepairLink.kind == LinkKind.WALK,
            RepairLink.ref.in_(walk_ids),
            Repair.outcome == RepairStatus.REPAIRED,
            Repair.closed_at.is_not(None),
        )
    ).all()
    repaired: dict[str, set[int]] = defaultdict(set)
    ended: dict[int, Repair] = {}
    for walk_id, repair in links:
        if walk_id in finished:
            repaired[position[walk_id]].add(repair.id)
            ended[repair.id] = repair
    redos: dict[str, set[int]] = defaultdict(set)
    if not ended:
        return repaired, redos
    later = session.scalars(select(Repair).where(Repair.redo_of_id.in_(list(ended)))).all()
    came_back: dict[int, set[int]] = defaultdict(set)
    for again in later:
        earlier = ended[again.redo_of_id] if again.redo_of_id is not None else None
        if earlier is None or earlier.closed_at is None:
            continue
        # The window as it is set now (the flag was set with the window of its day).
        if (again.opened_at.date() - earlier.closed_at.date()).days <= settings.redo_days:
            came_back[earlier.id].add(again.id)
    for node, ids in repaired.items():
        for repair_id in ids:
            redos[node] |= came_back.get(repair_id, set())
    return repaired, redos


def _exchanges_by_node(session: Session, tree_id: str) -> tuple[Counter[str], Counter[str]]:
    """Exchange requests, and the approved ones, by the node of the walk each was decided from
    (as stored in its inputs: the walk may have moved on since)."""
    requests: Counter[str] = Counter()
    approved: Counter[str] = Counter()
    of_tree = ExchangeAuthorisation.inputs[("walk", "tree")].as_string() == tree_id
    for authorisation in session.scalars(
        select(ExchangeAuthorisation).where(of_tree).order_by(ExchangeAuthorisation.id)
    ):
        walk = (authorisation.inputs or {}).get("walk")
        if not isinstance(walk, dict) or walk.get("tree") != tree_id or not walk.get("node"):
            continue
        node = str(walk["node"])
        requests[node] += 1
        if authorisation.status == ExchangeStatus.APPROVED:
            approved[node] += 1
    return requests, approved
