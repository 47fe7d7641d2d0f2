"""Engineers' side of trees: drafts saved with versions, publish and retire, diffs, a change log,
and the figures from technicians' walks that say which tree to improve next.

A tree has at most one draft. Each save names the version it was based on (the draft's, or the
published revision's when there is no draft yet); a save based on anything older is refused, so
two engineers never silently overwrite each other. A well-formed but invalid draft may be saved
(work in progress) and says why it is invalid; only a valid draft can be published.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from diagnostics import services, trees, walk
from diagnostics.errors import DiagnosticsError, InvalidTree, UnknownTree
from diagnostics.models import (
    DRAFT,
    PUBLISHED,
    RETIRED,
    DiagnosticSession,
    TreeChange,
    TreeRevision,
)
from diagnostics.search import queue_tree
from diagnostics.trees import Problem
from parts_catalog.sqltypes import utcnow

ABANDONED_AFTER = timedelta(days=1)


class StaleDraft(DiagnosticsError):
    """The save was based on an older version than the one stored."""

    def __init__(self, current: TreeRevision) -> None:
        self.current = current
        super().__init__(
            f"Someone else saved this tree since you opened it (now version {etag(current)}, by "
            f"{current.updated_by or current.created_by or 'someone'}). Your changes were not "
            "saved; both versions are shown so that you can merge them."
        )


class VersionRequired(DiagnosticsError):
    """A save of an existing tree must say which version it was based on."""

    def __init__(self, tree_id: str) -> None:
        super().__init__(
            f"Tree “{tree_id}” exists: send the version your changes are based on (If-Match)."
        )


def etag(revision: TreeRevision) -> str:
    """A revision's version as a string: revision number and save count ("3.7")."""
    return f"{revision.number}.{revision.version}"


def log(
    session: Session, revision: TreeRevision, action: str, by: str | None, note: str = ""
) -> None:
    session.add(
        TreeChange(
            tree_id=revision.tree_id,
            revision=revision.number,
            action=action,
            by=by,
            at=utcnow(),
            note=note or None,
        )
    )


def draft_of(session: Session, tree_id: str) -> TreeRevision | None:
    return session.scalar(
        select(TreeRevision).where(TreeRevision.tree_id == tree_id, TreeRevision.status == DRAFT)
    )


def published_of(session: Session, tree_id: str) -> TreeRevision | None:
    return session.scalar(
        select(TreeRevision).where(
            TreeRevision.tree_id == tree_id, TreeRevision.status == PUBLISHED
        )
    )


def working_copy(session: Session, tree_id: str) -> TreeRevision:
    """The draft, else the published revision, else the newest (what an editor opens).

    :raises UnknownTree:
    """
    return draft_of(session, tree_id) or services.get_revision(session, tree_id)


@dataclass
class Saved:
    revision: TreeRevision
    problems: list[Problem]

    @property
    def valid(self) -> bool:
        return not self.problems


def matches(if_match: str | None, revision: TreeRevision) -> bool:
    """Whether an ``If-Match`` value names ``revision``'s version: a list of strong tags, or
    ``*``; a weak tag (``W/"1.1"``) never matches, as HTTP says."""
    if if_match is None:
        return False
    for tag in (t.strip() for t in if_match.split(",")):
        if tag == "*":
            return True
        if not tag.startswith("W/") and tag.strip('"') == etag(revision):
            return True
    return False


def save_draft(
    session: Session,
    tree_id: str,
    document: dict[str, Any],
    *,
    based_on: str | None,
    by: str | None,
    action: str = "saved",
    limits: trees.Limits = trees.DEFAULT_LIMITS,
) -> Saved:
    """Save ``document`` as the tree's draft (created from the published revision when there is
    none) and say what keeps it from being published.

    The version check and the write are one conditional UPDATE (and a unique index allows one
    draft per tree), so of two saves based on the same version exactly one succeeds, whatever
    the timing.

    :raises InvalidTree: when the document is malformed (every problem named; nothing saved),
        or has more nodes than ``limits`` allow (before it is parsed).
    :raises VersionRequired: when the tree exists and ``based_on`` is missing.
    :raises StaleDraft: when ``based_on`` is not the current version.
    """
    crowded = trees.too_many_nodes(document, limits)
    if crowded is not None:
        raise InvalidTree([crowded])
    tree, problems = trees.parse(document, max_nodes=limits.max_nodes)
    if tree is not None and tree.id != tree_id:
        problems = [
            *problems,
            Problem("id", f"“{tree.id}” in the document, “{tree_id}” in the address"),
        ]
    if tree is None or problems:
        raise InvalidTree(problems)
    draft = draft_of(session, tree_id)
    base = draft or published_of(session, tree_id) or _newest(session, tree_id)
    if base is not None:
        if based_on is None:
            raise VersionRequired(tree_id)
        if not matches(based_on, base):
            raise StaleDraft(base)
    now = utcnow()
    values = {
        "document": tree.document,
        "title": tree.title,
        "product_line": tree.product_line,
        "updated_by": by,
        "updated_at": now,
    }
    if draft is None:
        number = (
            session.scalar(
                select(func.max(TreeRevision.number)).where(TreeRevision.tree_id == tree_id)
            )
            or 0
        ) + 1
        draft = TreeRevision(
            tree_id=tree_id, number=number, status=DRAFT, created_by=by, created_at=now, version=1
        )
        for name, value in values.items():
            setattr(draft, name, value)
        try:
            with session.begin_nested():
                session.add(draft)
        except IntegrityError:  # another first save won the race for this draft
            current = draft_of(session, tree_id) or base
            if current is None:
                raise
            raise StaleDraft(current) from None
    else:
        updated = session.execute(
            update(TreeRevision)
            .where(TreeRevision.id == draft.id, TreeRevision.version == draft.version)
            .values(version=TreeRevision.version + 1, **values)
            .execution_options(synchronize_session=False)
        )
        if updated.rowcount != 1:  # type: ignore[attr-defined]
            session.refresh(draft)
            raise StaleDraft(draft)
        session.refresh(draft)
    log(session, draft, action, by)
    session.flush()
    return Saved(draft, services.check(session, tree, publishing=True))


def _newest(session: Session, tree_id: str) -> TreeRevision | None:
    return session.scalar(
        select(TreeRevision)
        .where(TreeRevision.tree_id == tree_id)
        .order_by(TreeRevision.number.desc())
    )


def problems_of(session: Session, revision: TreeRevision) -> list[Problem]:
    tree, problems = trees.parse(revision.document, max_nodes=None)
    if tree is None:
        return problems
    return problems + services.check(session, tree, publishing=revision.status != PUBLISHED)


def publish(
    session: Session, tree_id: str, *, by: str | None, based_on: str | None = None
) -> TreeRevision:
    """Publish the tree's draft (``based_on``, when given, must be its version: what was
    reviewed is what is published).

    :raises UnknownTree: when there is no draft.
    :raises StaleDraft: when the draft changed since ``based_on``.
    :raises InvalidTree: naming every problem; nothing changes.
    """
    services.lock_publishing(session)  # before the clash check, which the lock makes sound
    draft = draft_of(session, tree_id)
    if draft is None:
        raise UnknownTree(f"{tree_id} (draft)")
    if based_on is not None and not matches(based_on, draft):
        raise StaleDraft(draft)
    problems = problems_of(session, draft)
    if problems:
        raise InvalidTree(problems)
    revision = services.publish(session, tree_id, draft.number)
    log(session, revision, "published", by)
    session.flush()
    return revision


def retire(session: Session, tree_id: str, *, by: str | None) -> TreeRevision:
    """Take the published revision out of use (walks already on it keep it).

    :raises UnknownTree: when nothing is published.
    """
    revision = published_of(session, tree_id)
    if revision is None:
        raise UnknownTree(f"{tree_id} (published)")
    revision.status = RETIRED
    revision.codes.clear()
    queue_tree(session, tree_id)
    log(session, revision, "retired", by)
    session.flush()
    return revision


def changes(session: Session, tree_id: str) -> list[TreeChange]:
    return list(
        session.scalars(
            select(TreeChange).where(TreeChange.tree_id == tree_id).order_by(TreeChange.id.desc())
        )
    )


# --- differences ---------------------------------------------------------------------------------


def diff(old: dict[str, Any] | None, new: dict[str, Any]) -> list[str]:
    """What changed from ``old`` (the published document) to ``new`` (the draft), in words."""
    if old is None:
        return ["new tree: nothing is published yet"]
    lines = []
    for key in ("title", "product_line", "models", "chassis", "codes", "symptoms", "start"):
        if old.get(key) != new.get(key):
            lines.append(f"{key}: {_show(old.get(key))} → {_show(new.get(key))}")
    old_nodes, new_nodes = old.get("nodes") or {}, new.get("nodes") or {}
    for node_id in new_nodes:
        if node_id not in old_nodes:
            lines.append(f"node {node_id}: added ({new_nodes[node_id].get('kind')})")
    for node_id in old_nodes:
        if node_id not in new_nodes:
            lines.append(f"node {node_id}: removed")
    for node_id, node in new_nodes.items():
        before = old_nodes.get(node_id)
        if before is not None and before != node:
            fields = [k for k in {*before, *node} if before.get(k) != node.get(k)]
            lines.append(f"node {node_id}: {', '.join(sorted(fields))} changed")
    return lines or ["no differences"]


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


# --- figures from technicians' walks -------------------------------------------------------------


@dataclass
class TreeFigures:
    sessions: int = 0
    ended: Counter[str] = field(default_factory=Counter)  # terminal node → walks that reached it
    abandoned: Counter[str] = field(default_factory=Counter)  # node → walks left there
    not_fixed: Counter[str] = field(default_factory=Counter)  # fix node → "did not fix it"
    fixed: int = 0


def figures(session: Session, tree_id: str) -> TreeFigures:
    """How technicians' walks of a tree ended, across its revisions."""
    result = TreeFigures()
    stale_before = utcnow() - ABANDONED_AFTER
    walks = session.scalars(
        select(DiagnosticSession)
        .join(TreeRevision)
        .where(TreeRevision.tree_id == tree_id)
        .options(selectinload(DiagnosticSession.answers), selectinload(DiagnosticSession.revision))
    )
    for walk_session in walks:
        result.sessions += 1
        tree = services.tree_of(walk_session.revision)
        answers = [services.walk_answer(a) for a in walk_session.answers if a.taken_back_at is None]
        node_id, _used = walk.replay(tree, answers)
        node = tree.nodes.get(node_id)
        if node is not None and node.is_terminal:
            result.ended[node_id] += 1
            if walk_session.fixed is False:
                result.not_fixed[node_id] += 1
            elif walk_session.fixed:
                result.fixed += 1
        elif walk_session.updated_at < stale_before:
            result.abandoned[node_id] += 1
    return result


@dataclass(frozen=True)
class TreeRow:
    tree_id: str
    title: str
    published: int | None
    draft: int | None
    owner: str | None
    last_change: TreeChange | None
    figures: TreeFigures


def overview(session: Session) -> list[TreeRow]:
    """Every tree with its status, owner, last change and figures (the engineers' list)."""
    revisions = session.scalars(
        select(TreeRevision).order_by(TreeRevision.tree_id, TreeRevision.number)
    )
    by_tree: dict[str, list[TreeRevision]] = {}
    for revision in revisions:
        by_tree.setdefault(revision.tree_id, []).append(revision)
    rows = []
    for tree_id, revs in by_tree.items():
        newest = revs[-1]
        published = next((r.number for r in revs if r.status == PUBLISHED), None)
        draft = next((r.number for r in revs if r.status == DRAFT), None)
        last = session.scalar(
            select(TreeChange).where(TreeChange.tree_id == tree_id).order_by(TreeChange.id.desc())
        )
        rows.append(
            TreeRow(
                tree_id,
                newest.title,
                published,
                draft,
                revs[0].created_by,
                last,
                figures(session, tree_id),
            )
        )
    return rows
