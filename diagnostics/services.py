"""Trees and walks in the database: import, publish, export, find, walk, conclude.

Functions take a ``Session``, may flush, never commit. Parts are named by number and resolved
through the catalogue when a fix is shown, so a tree that names a part since superseded (or made
a kit) still leads to what can be ordered today.
"""

from __future__ import annotations

import secrets
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from fnmatch import fnmatchcase
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, selectinload

from diagnostics import trees, validation, walk
from diagnostics.errors import InvalidAnswer, InvalidTree, NoTreeFound, UnknownSession, UnknownTree
from diagnostics.models import (
    DRAFT,
    PUBLISHED,
    RETIRED,
    DiagnosticSession,
    SessionAnswer,
    TreeChange,
    TreeCode,
    TreeRevision,
)
from diagnostics.search import queue_tree
from diagnostics.trees import CHOICE, EXCHANGE, FIX, Node, Problem, Tree
from parts_catalog import services as catalogue
from parts_catalog.models import FitmentVersion, ModelVersion, PartVersion
from parts_catalog.numbers import normalise
from parts_catalog.search_index import stems
from parts_catalog.sqltypes import utcnow
from parts_catalog.supersession import NLA, Resolution

CENT = Decimal("0.01")
# One advisory lock for every publication, the same in every process (a stable hash).
_PUBLISH_LOCK = zlib.crc32(b"benchside.diagnostic_tree_publish")


# --- trees ---------------------------------------------------------------------------------------


def lock_publishing(session: Session) -> None:
    """Serialise publications until the session's transaction ends.

    Whether a tree's codes clash depends on every other published tree, which no constraint
    can say; checked by two transactions at once, neither would see the other's tree. So a
    publication checks and writes under one lock: on PostgreSQL an advisory transaction lock
    (taken before the check, which as a new statement then sees whatever the previous holder
    committed); SQLite lets one transaction write at a time, and a second publication that
    read before the first committed cannot commit (its writes are refused as locked).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sql_text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PUBLISH_LOCK})


def examine(
    text: str,
    *,
    name: str = "",
    session: Session | None = None,
    publishing: bool = False,
    limits: trees.Limits = trees.DEFAULT_LIMITS,
) -> tuple[Tree | None, list[Problem]]:
    """Every problem of a tree's YAML or JSON text, at once: its structure, its graph, and
    with a ``session`` its parts (and, ``publishing``, clashing codes). A text over ``limits``
    is refused before it is parsed."""
    document, problems = trees.load_text(text, name=name, limits=limits)
    if document is None:
        return None, problems
    tree, problems = trees.parse(document, max_nodes=limits.max_nodes)
    if tree is None:
        return None, problems
    if session is None:
        problems += validation.validate(tree)
    else:
        problems += validation.validate(
            tree, unknown_parts=_unknown_parts(session), safety_critical=_safety_critical(session)
        )
    if session is not None and publishing:
        problems += _code_clashes(session, tree)
    return tree, problems


def read(text: str, *, name: str = "", limits: trees.Limits = trees.DEFAULT_LIMITS) -> Tree:
    """Parse and check a tree's text on its own (no database).

    :raises InvalidTree: naming every problem.
    """
    tree, problems = examine(text, name=name, limits=limits)
    if tree is None or problems:
        raise InvalidTree(problems)
    return tree


def _unknown_parts(session: Session) -> Any:
    def unknown(numbers: Iterable[str]) -> set[str]:
        wanted = {normalise(n): n for n in numbers}
        known = set(
            session.scalars(
                select(PartVersion.number_norm).where(PartVersion.number_norm.in_(list(wanted)))
            )
        )
        return {number for norm, number in wanted.items() if norm not in known}

    return unknown


def _safety_critical(session: Session) -> Any:
    def critical(numbers: Iterable[str]) -> set[str]:
        wanted = {normalise(n): n for n in numbers}
        flagged = set(
            session.scalars(
                select(PartVersion.number_norm).where(
                    PartVersion.number_norm.in_(list(wanted)),
                    PartVersion.safety_critical.is_(True),
                )
            )
        )
        return {number for norm, number in wanted.items() if norm in flagged}

    return critical


def check(session: Session, tree: Tree, *, publishing: bool) -> list[Problem]:
    """What the database adds to validation: unknown part numbers, measurements without a
    plausible range before a safety-critical part, and (when publishing) codes that another
    published tree already answers for some of the same models."""
    problems = validation.validate(
        tree, unknown_parts=_unknown_parts(session), safety_critical=_safety_critical(session)
    )
    if publishing:
        problems += _code_clashes(session, tree)
    return problems


def import_tree(
    session: Session,
    text: str,
    *,
    by: str | None,
    publish: bool = False,
    limits: trees.Limits = trees.DEFAULT_LIMITS,
) -> TreeRevision:
    """Store ``text`` as the next revision of its tree (a draft, or published).

    :raises InvalidTree: naming every problem (a text over ``limits`` unparsed); nothing is
        stored.
    """
    if publish:
        lock_publishing(session)
    tree, problems = examine(text, session=session, publishing=publish, limits=limits)
    if tree is None or problems:
        raise InvalidTree(problems)
    existing = session.scalar(
        select(TreeRevision).where(TreeRevision.tree_id == tree.id, TreeRevision.status == DRAFT)
    )
    if existing is not None:
        # One draft per tree: an import replaces the draft's content (a new version of it).
        existing.document = tree.document
        existing.title = tree.title
        existing.product_line = tree.product_line
        existing.version += 1
        existing.updated_by = by
        existing.updated_at = utcnow()
        session.flush()
        if publish:
            _publish(session, existing, tree)
        _log_import(session, existing, publish=publish, by=by)
        return existing
    number = (
        session.scalar(select(func.max(TreeRevision.number)).where(TreeRevision.tree_id == tree.id))
        or 0
    ) + 1
    revision = TreeRevision(
        tree_id=tree.id,
        number=number,
        status=DRAFT,
        title=tree.title,
        product_line=tree.product_line,
        document=tree.document,
        created_by=by,
        created_at=utcnow(),
    )
    session.add(revision)
    session.flush()
    if publish:
        _publish(session, revision, tree)
    _log_import(session, revision, publish=publish, by=by)
    return revision


def _log_import(session: Session, revision: TreeRevision, *, publish: bool, by: str | None) -> None:
    session.add(
        TreeChange(
            tree_id=revision.tree_id,
            revision=revision.number,
            action="published" if publish else "imported",
            by=by,
            at=utcnow(),
        )
    )
    session.flush()


def publish(session: Session, tree_id: str, number: int) -> TreeRevision:
    """Publish a revision; the one published before it is retired (walks keep their revision).

    :raises UnknownTree:
    :raises InvalidTree: when its codes clash with another published tree, or its parts are
        unknown.
    """
    lock_publishing(session)
    revision = get_revision(session, tree_id, number)
    tree = tree_of(revision)
    problems = check(session, tree, publishing=True)
    if problems:
        raise InvalidTree(problems)
    _publish(session, revision, tree)
    return revision


def _publish(session: Session, revision: TreeRevision, tree: Tree) -> None:
    for older in session.scalars(
        select(TreeRevision).where(
            TreeRevision.tree_id == revision.tree_id,
            TreeRevision.status == PUBLISHED,
            TreeRevision.id != revision.id,
        )
    ):
        older.status = RETIRED
        older.codes.clear()
    revision.status = PUBLISHED
    revision.published_at = utcnow()
    revision.codes = [TreeCode(code=normal_code(c)) for c in dict.fromkeys(tree.codes)]
    queue_tree(session, revision.tree_id)  # the search index follows after the commit
    session.flush()


def normal_code(code: str) -> str:
    """``blink:6``, ``BLINK: 6`` → ``blink:6``; ``error:e61`` → ``error:E61``."""
    scheme, _, value = code.partition(":")
    return f"{scheme.strip().lower()}:{value.strip().upper()}"


def _code_clashes(session: Session, tree: Tree) -> list[Problem]:
    """Another published tree with one of these codes for an overlapping set of models (and
    chassis): a technician entering that code would not know which tree is meant."""
    if not tree.codes:
        return []
    sharing = select(TreeCode.revision_id).where(
        TreeCode.code.in_([normal_code(c) for c in tree.codes])
    )
    rows = session.scalars(
        select(TreeRevision)
        .where(
            TreeRevision.status == PUBLISHED,
            TreeRevision.tree_id != tree.id,
            TreeRevision.id.in_(sharing),
        )
        .options(selectinload(TreeRevision.codes))
    )
    problems = []
    for other in rows:
        theirs = tree_of(other)
        if _models_overlap(session, tree, theirs) and _chassis_overlap(tree, theirs):
            shared = sorted({normal_code(c) for c in tree.codes} & {c.code for c in other.codes})
            problems.append(
                Problem(
                    "codes",
                    f"{', '.join(shared)}: already answered by the published tree "
                    f"“{other.tree_id}” for some of the same models; name a chassis or narrow "
                    "the models",
                )
            )
    return problems


def _chassis(values: Iterable[str | None]) -> set[str]:
    return {v.strip().upper() for v in values if v}


def _chassis_overlap(a: Tree, b: Tree) -> bool:
    return not a.chassis or not b.chassis or bool(_chassis(a.chassis) & _chassis(b.chassis))


def model_matches(patterns: Sequence[str], model_number: str) -> bool:
    """Whether a model number (any spelling) matches one of a tree's glob patterns."""
    norm = normalise(model_number)
    return any(fnmatchcase(norm, normalise(p)) for p in patterns) if patterns else True


def _models_overlap(session: Session, a: Tree, b: Tree) -> bool:
    if not a.models or not b.models:
        return True
    for pa in a.models:
        for pb in b.models:
            na, nb = normalise(pa), normalise(pb)
            if fnmatchcase(na, nb) or fnmatchcase(nb, na):
                return True
    # Patterns like "KDL-*" and "*W800C" overlap only if some model matches both.
    models = session.scalars(select(ModelVersion.number).where(ModelVersion.valid_to.is_(None)))
    return any(model_matches(a.models, m) and model_matches(b.models, m) for m in models)


def tree_of(revision: TreeRevision) -> Tree:
    tree, problems = trees.parse(revision.document, max_nodes=None)  # stored: checked then
    if tree is None:  # stored trees were validated; a failure here is a bug
        raise InvalidTree(problems)
    return tree


def get_revision(session: Session, tree_id: str, number: int | None = None) -> TreeRevision:
    """A revision by number, or the published one (else the newest)."""
    query = select(TreeRevision).where(TreeRevision.tree_id == tree_id)
    if number is not None:
        revision = session.scalar(query.where(TreeRevision.number == number))
    else:
        revision = session.scalar(
            query.order_by((TreeRevision.status == PUBLISHED).desc(), TreeRevision.number.desc())
        )
    if revision is None:
        raise UnknownTree(tree_id, number)
    return revision


def published(session: Session) -> list[TreeRevision]:
    return list(
        session.scalars(
            select(TreeRevision)
            .where(TreeRevision.status == PUBLISHED)
            .order_by(TreeRevision.product_line, TreeRevision.title)
        )
    )


@dataclass(frozen=True)
class ModelFacts:
    number: str
    chassis: str | None
    product_line: str | None
    exchange_value: Decimal | None


def model_facts(session: Session, model_number: str) -> ModelFacts | None:
    model = session.scalar(
        select(ModelVersion).where(
            ModelVersion.number_norm == normalise(model_number), ModelVersion.valid_to.is_(None)
        )
    )
    if model is None:
        return None
    return ModelFacts(model.number, model.chassis, model.product_line, model.exchange_value)


def trees_for_model(session: Session, model_number: str) -> list[TreeRevision]:
    """Published trees that apply to a model (its chassis decides where trees name one)."""
    facts = model_facts(session, model_number)
    return [r for r in published(session) if _applies(tree_of(r), model_number, facts)]


def _applies(tree: Tree, model_number: str, facts: ModelFacts | None) -> bool:
    if not model_matches(tree.models, model_number):
        return False
    if tree.chassis:
        return facts is not None and bool(_chassis([facts.chassis]) & _chassis(tree.chassis))
    return True


def find_by_code(session: Session, code: str, model_number: str) -> TreeRevision:
    """The published tree a self-diagnosis code opens for a model.

    Where trees name chassis, the model's chassis (from the catalogue) decides: the same blink
    count means different faults on different chassis. A tree for the model's chassis wins over
    one for any chassis.

    :raises NoTreeFound:
    """
    facts = model_facts(session, model_number)
    candidates = session.scalars(
        select(TreeRevision)
        .join(TreeCode)
        .where(TreeRevision.status == PUBLISHED, TreeCode.code == normal_code(code))
    ).all()
    fitting = [r for r in candidates if _applies(tree_of(r), model_number, facts)]
    if not fitting:
        known = "" if facts else f" ({model_number} is not in the catalogue)"
        raise NoTreeFound(f"No published tree answers {code} for {model_number}{known}.")
    fitting.sort(key=lambda r: (not tree_of(r).chassis, r.tree_id))
    return fitting[0]


def search_symptoms(
    session: Session, text: str, model_number: str | None = None
) -> list[TreeRevision]:
    """Published trees whose title, symptoms or codes hold every word of ``text``, stemmed as
    the catalogue search stems ("blinking" finds "blinks"); a model narrows to its trees."""
    wanted = set(stems(text))
    if not wanted:
        return []
    facts = model_facts(session, model_number) if model_number else None
    found = []
    for revision in published(session):
        tree = tree_of(revision)
        held = set(stems(" ".join([tree.title, *tree.symptoms, *tree.codes])))
        applies = model_number is None or _applies(tree, model_number, facts)
        if wanted <= held and applies:
            found.append(revision)
    return found


# --- walks ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderLine:
    number: str
    qty: int
    unit_price: Decimal | None
    stock: int | None
    status: str
    currency: str | None = None


@dataclass(frozen=True)
class PartLine:
    """A part a fix names, and what the catalogue says to order for it today."""

    requested: str
    qty: int
    resolution: Resolution
    order: tuple[OrderLine, ...]
    # Whether the catalogue lists the part (as named, or what replaces it) for the walk's model;
    # None without a model. A part bought for a model it does not fit fails and costs a customer.
    fits: bool | None = None


@dataclass(frozen=True)
class Estimate:
    parts_total: Decimal | None
    labour: Decimal
    total: Decimal | None
    exchange_value: Decimal | None
    recommend_exchange: bool
    currency: str | None = None
    missing_prices: tuple[str, ...] = ()
    unavailable: tuple[str, ...] = ()  # parts the fix needs that nothing can be ordered for


@dataclass
class WalkState:
    session: DiagnosticSession
    revision: TreeRevision
    tree: Tree
    node: Node
    path: list[walk.Step]
    previous: walk.Answer | None = None  # what was answered here before going back
    parts: list[PartLine] = field(default_factory=list)
    estimate: Estimate | None = None


def start(
    session: Session,
    revision: TreeRevision,
    *,
    by: str,
    centre_id: int | None = None,
    model_number: str | None = None,
    serial: str | None = None,
    code: str | None = None,
) -> DiagnosticSession:
    """Start a walk. Opened by a code that answers the tree's first question (blink:6 where the
    first question is how many times it blinks), that question is answered already."""
    now = utcnow()
    facts = model_facts(session, model_number) if model_number else None
    walk_session = DiagnosticSession(
        id=secrets.token_urlsafe(12),
        revision=revision,
        started_by=by,
        centre_id=centre_id,
        model_number=facts.number if facts else (model_number or None),
        serial=serial or None,
        code=normal_code(code) if code else None,
        started_at=now,
        updated_at=now,
    )
    session.add(walk_session)
    tree = tree_of(revision)
    first = tree.nodes[tree.start]
    if code:
        value = code.partition(":")[2].strip().lower()
        label = next((o.label for o in first.options if o.label.strip().lower() == value), None)
        if first.kind == CHOICE and label is not None:
            walk_session.answers.append(SessionAnswer(node=first.id, option=label, answered_at=now))
    walk_session.outcome = _outcome(tree, _answers(walk_session))
    session.flush()
    return walk_session


def _outcome(tree: Tree, answers: Sequence[walk.Answer]) -> str | None:
    """The kind of terminal the answers lead to (a code may answer the way to one, and a tree
    may even start at one), or ``None`` while there are questions left."""
    node = tree.nodes[walk.position(tree, answers)]
    return node.kind if node.is_terminal else None


def get(session: Session, session_id: str, *, for_update: bool = False) -> DiagnosticSession:
    """A walk; ``for_update`` locks it (PostgreSQL) so that two answers sent at once (a double
    click) are taken one after the other, the second against the first's result."""
    query = (
        select(DiagnosticSession)
        .where(DiagnosticSession.id == session_id)
        .options(selectinload(DiagnosticSession.answers), selectinload(DiagnosticSession.revision))
    )
    if for_update:
        query = query.with_for_update(of=DiagnosticSession).execution_options(
            populate_existing=True
        )
    found = session.scalar(query)
    if found is None:
        raise UnknownSession(session_id)
    return found


def _live(walk_session: DiagnosticSession) -> list[SessionAnswer]:
    """The answers in force: not taken back, and fitting the tree in order (an answer stored
    twice by a double submit is ignored rather than breaking the walk)."""
    tree = tree_of(walk_session.revision)
    rows = [a for a in walk_session.answers if a.taken_back_at is None]
    _node, used = walk.replay(tree, [walk_answer(a) for a in rows])
    return [rows[i] for i in used]


def walk_answer(row: SessionAnswer) -> walk.Answer:
    """A stored answer as the walker takes it."""
    return walk.Answer(row.node, row.option, row.value, row.implausible_confirmed_at)


def _answers(walk_session: DiagnosticSession) -> list[walk.Answer]:
    return [walk_answer(a) for a in _live(walk_session)]


def position(walk_session: DiagnosticSession) -> Node:
    """The node a walk stands at now (its terminal, once it reached one)."""
    tree = tree_of(walk_session.revision)
    return tree.nodes[walk.position(tree, _answers(walk_session))]


def answer(
    session: Session,
    walk_session: DiagnosticSession,
    *,
    option: str | None = None,
    value: object = None,
    proceed: bool = False,
    at_node: str | None = None,
    confirm_implausible: bool = False,
) -> None:
    """Record an answer to the current node (``at_node``, when given, must be it: an answer
    sent twice, or from a stale page, is refused rather than applied to the next question).
    A value outside the plausible range needs ``confirm_implausible``; the answer then keeps
    when it was confirmed.

    :raises ImplausibleValue: for such a value unconfirmed; nothing is recorded.
    :raises InvalidAnswer: naming what the node expects; nothing is recorded.
    """
    tree = tree_of(walk_session.revision)
    current = tree.nodes[walk.position(tree, _answers(walk_session))]
    if at_node is not None and at_node != current.id:
        raise InvalidAnswer(
            "That question has been answered already (perhaps twice, or in another window); "
            "here is where the walk stands now."
        )
    now = utcnow()
    given = walk.answer_for(
        current,
        option=option,
        value=value,
        proceed=proceed,
        confirm_implausible=confirm_implausible,
        now=now,
    )
    following = tree.nodes[walk.follow(current, given)]  # refuses a value no range covers
    walk_session.answers.append(
        SessionAnswer(
            node=given.node,
            option=given.option,
            value=given.value,
            answered_at=now,
            implausible_confirmed_at=given.implausible_confirmed_at,
        )
    )
    walk_session.updated_at = now
    walk_session.outcome = following.kind if following.is_terminal else None
    session.flush()


def back(session: Session, walk_session: DiagnosticSession) -> None:
    """Take back the last answer (kept, marked, and offered again on that question)."""
    live = _live(walk_session)
    for ignored in [a for a in walk_session.answers if a.taken_back_at is None]:
        if ignored not in live:
            ignored.taken_back_at = utcnow()
    if not live:
        raise InvalidAnswer("This is the first question: there is nothing to go back to.")
    now = utcnow()
    live[-1].taken_back_at = now
    walk_session.updated_at = now
    walk_session.outcome = None
    session.flush()


def restart(session: Session, walk_session: DiagnosticSession) -> None:
    now = utcnow()
    for a in walk_session.answers:
        if a.taken_back_at is None:
            a.taken_back_at = now
    walk_session.outcome = _outcome(tree_of(walk_session.revision), [])
    walk_session.updated_at = now
    session.flush()


def state(
    session: Session, walk_session: DiagnosticSession, *, labour_rate: Decimal | None = None
) -> WalkState:
    """Where a walk stands; at a fix, its parts resolved and the repair estimate."""
    tree = tree_of(walk_session.revision)
    answers = _answers(walk_session)
    node = tree.nodes[walk.position(tree, answers)]
    taken_back = [
        a for a in walk_session.answers if a.taken_back_at is not None and a.node == node.id
    ]
    # What was answered here before going back, offered again; its confirmation is not: a
    # value outside the plausible range is confirmed afresh.
    previous = (
        walk.Answer(taken_back[-1].node, taken_back[-1].option, taken_back[-1].value)
        if taken_back
        else None
    )
    result = WalkState(
        walk_session, walk_session.revision, tree, node, walk.path(tree, answers), previous
    )
    if node.kind in (FIX, EXCHANGE):
        facts = (
            model_facts(session, walk_session.model_number) if walk_session.model_number else None
        )
        result.parts = resolve_parts(session, node, model_number=walk_session.model_number)
        result.estimate = estimate(
            result.parts,
            labour_minutes=node.labour_minutes or 0,
            labour_rate=labour_rate,
            exchange_value=facts.exchange_value if facts else None,
            exchange=node.kind == EXCHANGE,
        )
    return result


def resolve_parts(
    session: Session, node: Node, *, model_number: str | None = None
) -> list[PartLine]:
    """Each part a fix names, resolved through supersession as of the newest release, and
    whether it is listed for ``model_number``."""
    release = catalogue.latest_release(session)
    if release is None:
        return []
    lines = []
    for ref in node.parts:
        resolution = catalogue.resolve_number(session, ref.part, release=release)
        order = []
        for item in resolution.result:
            if item.status == NLA:
                continue
            info = catalogue.get_part(session, item.part_number, release=release)
            stock = catalogue.stock_of(session, [info.number_norm]).get(info.number_norm)
            order.append(
                OrderLine(
                    info.number,
                    item.quantity * ref.qty,
                    info.unit_price,
                    stock,
                    info.status,
                    info.currency,
                )
            )
        fits = None
        if model_number:
            norms = {normalise(ref.part)} | {normalise(line.number) for line in order}
            fits = _listed_for(session, norms, model_number, release.id)
        lines.append(PartLine(ref.part, ref.qty, resolution, tuple(order), fits))
    return lines


def _listed_for(session: Session, part_norms: set[str], model_number: str, release_id: int) -> bool:
    found = session.scalar(
        select(FitmentVersion.id).where(
            FitmentVersion.model_norm == normalise(model_number),
            FitmentVersion.part_norm.in_(part_norms),
            FitmentVersion.as_of(release_id),
        )
    )
    return found is not None


def estimate(
    parts: Sequence[PartLine],
    *,
    labour_minutes: int,
    labour_rate: Decimal | None,
    exchange_value: Decimal | None,
    exchange: bool = False,
) -> Estimate:
    """Parts plus labour at the centre's rate, against the product's exchange value: an exchange
    is recommended when the repair would cost more, when a needed part cannot be ordered at all
    (the repair cannot be done), or when the tree itself says exchange."""
    rate = labour_rate if labour_rate is not None else Decimal("0")
    labour = (rate * Decimal(labour_minutes) / Decimal(60)).quantize(CENT, ROUND_HALF_UP)
    unavailable = tuple(part.requested for part in parts if not part.order)
    ordered = [line for part in parts for line in part.order]
    missing = tuple(line.number for line in ordered if line.unit_price is None)
    priced = [line.unit_price * line.qty for line in ordered if line.unit_price is not None]
    unknown = bool(missing or unavailable)
    parts_total = None if unknown else sum(priced, Decimal("0")).quantize(CENT)
    total = None if parts_total is None else parts_total + labour
    recommend = (
        exchange
        or bool(unavailable)
        or (exchange_value is not None and total is not None and total > exchange_value)
    )
    return Estimate(
        parts_total, labour, total, exchange_value, recommend, None, missing, unavailable
    )


def give_feedback(
    session: Session, walk_session: DiagnosticSession, *, fixed: bool, note: str
) -> None:
    walk_session.fixed = fixed
    walk_session.feedback = note.strip() or None
    walk_session.feedback_at = utcnow()
    session.flush()


# --- what waits for a person ---------------------------------------------------------------------


def unfinished_walks(session: Session, *, by: str, limit: int = 10) -> list[DiagnosticSession]:
    """The walks ``by`` started that have not reached a terminal, the most recently answered
    first (for the home page's "walks to resume")."""
    return list(
        session.scalars(
            select(DiagnosticSession)
            .where(DiagnosticSession.started_by == by, DiagnosticSession.outcome.is_(None))
            .options(selectinload(DiagnosticSession.revision))
            .order_by(DiagnosticSession.updated_at.desc(), DiagnosticSession.id)
            .limit(limit)
        )
    )


def drafts_by(session: Session, *, by: str) -> list[TreeRevision]:
    """Draft revisions ``by`` created or last saved, the most recently changed first."""
    return list(
        session.scalars(
            select(TreeRevision)
            .where(
                TreeRevision.status == DRAFT,
                (TreeRevision.created_by == by) | (TreeRevision.updated_by == by),
            )
            .order_by(
                func.coalesce(TreeRevision.updated_at, TreeRevision.created_at).desc(),
                TreeRevision.id,
            )
        )
    )
