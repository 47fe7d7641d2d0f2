"""The diagnostic path a ticket came from, as agents read it: each question the walk answered,
the answer, the value measured (with its unit), and the walk to open.

The rows are the walk as it stood when the ticket was opened: the technician may go on with the
walk (or take answers back) afterwards, but the ticket is about what was sent. The live walk is
one link away.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import zip_longest

from sqlalchemy.orm import Session

from app.escalations.models import Ticket
from diagnostics import services as diagnostics
from diagnostics import walk
from diagnostics.errors import UnknownSession
from diagnostics.models import DiagnosticSession, SessionAnswer
from diagnostics.trees import CHOICE, MEASURE, Node, Tree

#: The columns, as the page's table heads and the mail's text name them.
HEADINGS = ("Step", "Question", "Answer", "Measured")


@dataclass(frozen=True)
class PathRow:
    """One answered node: ``measured`` is the value with its unit ("10.8 V") for a
    measurement, empty otherwise; ``walk`` is the walk's id, for its link."""

    step: int
    question: str
    answer: str
    measured: str
    walk: str


def path_of(session: Session, ticket: Ticket) -> list[PathRow]:
    """The rows of the walk ``ticket`` was opened from, first answer first; empty for a ticket
    without a walk. A walk that is no longer stored is read from what the ticket kept of it
    (questions and answers, nothing measured apart)."""
    if not ticket.diagnostic_session:
        return []
    try:
        walk_session = diagnostics.get(session, ticket.diagnostic_session)
    except UnknownSession:
        return _kept(ticket)
    return rows_at(walk_session, ticket.created_at)


def rows_at(walk_session: DiagnosticSession, moment: datetime) -> list[PathRow]:
    """The rows of a walk as it stood at ``moment``: answers given by then and not yet taken
    back, replayed against the walk's revision."""
    tree = diagnostics.tree_of(walk_session.revision)
    standing = [
        a
        for a in walk_session.answers
        if a.answered_at <= moment and (a.taken_back_at is None or a.taken_back_at > moment)
    ]
    _node, used = walk.replay(tree, [diagnostics.walk_answer(a) for a in standing])
    return [_row(tree, standing[i], n, walk_session.id) for n, i in enumerate(used, start=1)]


def _row(tree: Tree, answer: SessionAnswer, step: int, walk_id: str) -> PathRow:
    node = tree.nodes[answer.node]
    if node.kind == CHOICE:
        return PathRow(step, node.text, answer.option or "", "", walk_id)
    if node.kind == MEASURE and answer.value is not None:
        return PathRow(
            step, node.text, _range_of(node, answer), _measured(answer.value, node.unit), walk_id
        )
    return PathRow(step, node.text, "done", "", walk_id)


def _range_of(node: Node, answer: SessionAnswer) -> str:
    """The range the value fell in ("below 11.4 V"), and whether it was confirmed outside the
    plausible range: the agent's first doubt about a strange reading."""
    assert answer.value is not None
    said = next((r.describe(node.unit) for r in node.ranges if r.contains(answer.value)), "")
    if answer.implausible_confirmed_at is not None:
        said += (
            f" (outside the plausible {node.describe_plausible()}; confirmed after re-measuring)"
        )
    return said


def _measured(value: float, unit: str | None) -> str:
    return f"{value:g} {unit}" if unit else f"{value:g}"


def _kept(ticket: Ticket) -> list[PathRow]:
    kept = (ticket.context or {}).get("path") or []
    walk_id = ticket.diagnostic_session or ""
    return [
        PathRow(n, str(step.get("question", "")), str(step.get("answer", "")), "", walk_id)
        for n, step in enumerate(kept, start=1)
        if isinstance(step, dict)
    ]


def as_text(rows: Sequence[PathRow], *, widths: tuple[int, int, int] = (38, 24, 12)) -> list[str]:
    """The rows as aligned lines for a plain-text mail: a heading line, then each row, a long
    question or answer wrapped within its column (``widths``: the most the question, answer and
    measured columns take) rather than pushing the next column out of line."""
    if not rows:
        return []
    cells = [[str(r.step), r.question, r.answer, r.measured] for r in rows]
    limits = (max(len(HEADINGS[0]), *(len(c[0]) for c in cells)), *widths)
    used = [
        min(limit, max(len(HEADINGS[i]), *(len(c[i]) for c in cells)))
        for i, limit in enumerate(limits)
    ]
    lines = [_line(HEADINGS, used)]
    for row in cells:
        wrapped = [textwrap.wrap(text, w) or [""] for text, w in zip(row, used, strict=True)]
        for parts in zip_longest(*wrapped, fillvalue=""):
            lines.append(_line(parts, used))
    return lines


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
