"""Notices: written with every required part, reviewed by a second person, published to the
people they target through the outbox, shown beside what they are about, acknowledged.

The use cases of the pages and the API alike; no Flask here. Services flush, never commit.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, bindparam, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.auth.models import ServiceCentre, User
from app.escalations.sla import Calendar
from app.exceptions import Conflict, Invalid, NotAllowed, NotFound
from app.mail.mailer import Mailer
from app.models import utcnow
from app.notices import changes, policy
from app.notices.models import (
    Notice,
    NoticeAcknowledgement,
    NoticeDelivery,
    NoticeKind,
    NoticeStatus,
    NoticeTarget,
    TargetKind,
)
from app.roles import Role
from app.storable import CONTROL
from diagnostics import services as diagnostics
from diagnostics.models import TreeRevision
from parts_catalog import services as catalogue
from parts_catalog.errors import CatalogError
from parts_catalog.models import Release
from parts_catalog.numbers import normalise

#: The parts every notice must have, each its own field, with what to say when one is empty.
REQUIRED = {
    "title": "Give the notice a title: what it is about, in a line.",
    "what_changes": "Say what changes.",
    "why": "Say why it changes.",
    "effective_on": "Say from when it applies.",
    "what_to_do": "Say what to do instead: the steps, the new address or part.",
    "contact": "Say whom to contact with questions.",
}
LIMITS = {"title": 200, "what_changes": 8000, "why": 8000, "what_to_do": 8000, "contact": 1000}
#: Without a role or centre named, a notice is for the people who repair.
DEFAULT_AUDIENCE = (Role.TECHNICIAN, Role.CENTRE_MANAGER)


class NoticeError(Invalid):
    """The notice cannot be saved as it stands; ``errors`` names every field."""


@dataclass(frozen=True)
class NoticeInput:
    """What an author writes."""

    kind: str
    title: str
    what_changes: str
    why: str
    effective_on: date | None
    what_to_do: str
    contact: str
    safety: bool = False
    targets: dict[str, list[str]] = field(default_factory=dict)
    carries: changes.CarriedChange = field(default_factory=changes.CarriedChange)


def person_of(user: User) -> policy.Person:
    return policy.Person(user.id, user.role, user.centre_id)


def _clean(value: str | None) -> str:
    return (value or "").strip()


def check(session: Session, asked: NoticeInput) -> tuple[list[NoticeTarget], dict[str, str]]:
    """The targets as rows, and every problem by field (each missing part named)."""
    errors: dict[str, str] = {}
    try:
        NoticeKind(asked.kind)
    except ValueError:
        errors["kind"] = "Choose the kind: service bulletin, part notice, policy or support change."
    for name, message in REQUIRED.items():
        value = getattr(asked, name)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors[name] = message
        elif isinstance(value, str):
            if len(value.strip()) > LIMITS[name]:
                errors[name] = f"At most {LIMITS[name]} characters."
            elif CONTROL.search(value.replace("\n", "").replace("\r", "").replace("\t", "")):
                errors[name] = "Control characters are not text."
    targets: list[NoticeTarget] = []
    problems: list[str] = []
    release = catalogue.latest_release(session)
    for kind_name, values in asked.targets.items():
        try:
            kind = TargetKind(kind_name)
        except ValueError:
            problems.append(f"{kind_name} is not something a notice targets")
            continue
        for raw in dict.fromkeys(v.strip() for v in values if v and v.strip()):
            problem = _check_target(session, kind, raw, release)
            if problem:
                problems.append(problem)
            else:
                targets.append(NoticeTarget(kind=kind, value=raw[:80]))
    if problems:
        errors["targets"] = "; ".join(problems)
    if asked.carries:
        errors.update(changes.check(session, asked.carries, label="bulletin-check"))
    if asked.safety and not any(
        t.kind in (TargetKind.PART, TargetKind.TREE, TargetKind.MODEL, TargetKind.PRODUCT_LINE)
        for t in targets
    ):
        errors.setdefault(
            "targets", "A safety notice names the parts, models or trees it is about."
        )
    return targets, errors


def _check_target(
    session: Session, kind: TargetKind, value: str, release: Release | None
) -> str | None:
    if len(value) > 80:
        return f"{value[:20]}...: at most 80 characters"
    if kind == TargetKind.PART:
        if release is None:
            return "no catalogue release to check parts against"
        try:
            catalogue.get_part(session, value, release=release)
        except CatalogError:
            return f"part {value} is not in the catalogue"
    elif kind == TargetKind.TREE:
        if session.scalar(select(TreeRevision.id).where(TreeRevision.tree_id == value)) is None:
            return f"tree {value} does not exist"
    elif kind == TargetKind.CENTRE:
        if session.scalar(select(ServiceCentre.id).where(ServiceCentre.name == value)) is None:
            return f"centre {value} does not exist"
    elif kind == TargetKind.ROLE and value not in {r.value for r in Role}:
        return f"{value} is not a role"
    return None


def _fill(notice: Notice, asked: NoticeInput, targets: list[NoticeTarget]) -> None:
    notice.kind = NoticeKind(asked.kind)
    notice.safety = asked.safety
    notice.title = _clean(asked.title)
    notice.what_changes = _clean(asked.what_changes)
    notice.why = _clean(asked.why)
    assert asked.effective_on is not None
    notice.effective_on = asked.effective_on
    notice.what_to_do = _clean(asked.what_to_do)
    notice.contact = _clean(asked.contact)
    # Kept rows stay (the unique constraint would see a new copy before the old one's delete).
    wanted = {(t.kind, t.value) for t in targets}
    for old in list(notice.targets):
        if (old.kind, old.value) not in wanted:
            notice.targets.remove(old)
    held = {(t.kind, t.value) for t in notice.targets}
    notice.targets.extend(t for t in targets if (t.kind, t.value) not in held)
    notice.carries_tree_id = asked.carries.tree_id or None
    notice.carries_tree_revision = asked.carries.tree_revision if asked.carries.tree_id else None
    notice.carries_supersessions = list(asked.carries.supersessions) or None


def create(session: Session, *, by: User, asked: NoticeInput) -> Notice:
    """A draft notice.

    :raises NoticeError: naming every missing or wrong part; nothing is saved.
    """
    if not policy.may_write(person_of(by)):
        raise NotAllowed("Engineers and admins write notices.")
    targets, errors = check(session, asked)
    if errors:
        missing = [name for name in REQUIRED if name in errors]
        lead = (
            "The notice is missing " + ", ".join(n.replace("_", " ") for n in missing) + "."
            if missing
            else "The notice was not saved."
        )
        raise NoticeError(lead + " Nothing was saved.", errors=errors)
    now = utcnow()
    notice = Notice(author_id=by.id, status=NoticeStatus.DRAFT, created_at=now, updated_at=now)
    _fill(notice, asked, targets)
    session.add(notice)
    session.flush()
    notice.reference = f"NTC-{now:%Y}-{notice.id:06d}"
    session.flush()
    return notice


def edit(session: Session, notice: Notice, *, by: User, asked: NoticeInput, seen: int) -> None:
    """Change a draft or a reviewed notice (which then needs reviewing again).

    :raises Conflict: it changed meanwhile or is published.
    """
    if not policy.may_write(person_of(by)):
        raise NotAllowed("Engineers and admins write notices.")
    stale = Conflict(f"{notice.reference} changed meanwhile or is published: nothing was saved.")
    if notice.status not in (NoticeStatus.DRAFT, NoticeStatus.REVIEWED) or notice.version != seen:
        raise stale
    targets, errors = check(session, asked)
    if errors:
        raise NoticeError("The notice was not saved.", errors=errors)
    # The database decides between two edits (or an edit and a publish) sent at once: only one
    # moves the version on from the one the writer saw; the other changes nothing.
    moved = session.execute(
        update(Notice)
        .where(
            Notice.id == notice.id,
            Notice.version == seen,
            Notice.status.in_((NoticeStatus.DRAFT, NoticeStatus.REVIEWED)),
        )
        .values(
            version=seen + 1,
            status=NoticeStatus.DRAFT,
            reviewed_by_id=None,
            reviewed_at=None,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        raise stale
    session.refresh(notice, ["version", "status", "reviewed_by_id", "reviewed_at", "updated_at"])
    _fill(notice, asked, targets)
    session.flush()


def get(session: Session, notice_id: int) -> Notice:
    notice = session.scalar(
        select(Notice).where(Notice.id == notice_id).options(selectinload(Notice.targets))
    )
    if notice is None:
        raise NotFound(f"No notice {notice_id}.")
    return notice


def review(session: Session, notice: Notice, *, by: User) -> None:
    """A second engineer (or an admin) has read the notice as it stands.

    :raises NotAllowed: the author, or not an engineer or admin.
    :raises Conflict: not a draft (reviewed or published already, or changed meanwhile).
    """
    if not policy.may_review(person_of(by), author_id=notice.author_id):
        raise NotAllowed("A notice is reviewed by a second engineer or an admin, not its author.")
    now = utcnow()
    done = session.execute(
        update(Notice)
        .where(
            Notice.id == notice.id,
            Notice.status == NoticeStatus.DRAFT,
            Notice.version == notice.version,
        )
        .values(status=NoticeStatus.REVIEWED, reviewed_by_id=by.id, reviewed_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(notice)
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"{notice.reference} is {notice.status.value}: nothing to review.")


def carried_change(notice: Notice) -> changes.CarriedChange:
    """The change a bulletin carries, as stored."""
    return changes.CarriedChange(
        tree_id=notice.carries_tree_id,
        tree_revision=notice.carries_tree_revision,
        supersessions=tuple(notice.carries_supersessions or ()),
    )


def audience(session: Session, notice: Notice) -> list[User]:
    """The enabled accounts the notice is for: its roles (default: technicians and centre
    managers) at its centres (default: every centre)."""
    roles = [Role(t.value) for t in notice.targets if t.kind == TargetKind.ROLE]
    centres = [t.value for t in notice.targets if t.kind == TargetKind.CENTRE]
    query = select(User).where(User.is_enabled.is_(True), User.role.in_(roles or DEFAULT_AUDIENCE))
    if centres:
        query = query.join(ServiceCentre, User.centre_id == ServiceCentre.id).where(
            ServiceCentre.name.in_(centres)
        )
    return list(session.scalars(query.order_by(User.id)))


def publish(session: Session, notice: Notice, *, by: User, mailer: Mailer) -> int:
    """Publish a reviewed notice: one delivery and one mail (through the outbox, so a mail
    outage only delays it) per person it is for. Returns how many.

    :raises Conflict: not reviewed (or published meanwhile).
    """
    if not policy.may_write(person_of(by)):
        raise NotAllowed("Engineers and admins publish notices.")
    now = utcnow()
    done = session.execute(
        update(Notice)
        .where(Notice.id == notice.id, Notice.status == NoticeStatus.REVIEWED)
        .values(status=NoticeStatus.PUBLISHED, published_at=now, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(notice)
    if done.rowcount != 1:  # type: ignore[attr-defined]
        if notice.status == NoticeStatus.DRAFT:
            raise Conflict(
                f"{notice.reference} has not been reviewed: a second engineer or an admin "
                "reviews it before it is published."
            )
        raise Conflict(f"{notice.reference} is {notice.status.value} already.")
    carried = carried_change(notice)
    if carried:
        # In the same transaction: the notice is published with its change, or not at all.
        notice.carried_release = changes.apply(
            session, carried, label=notice.reference or f"notice-{notice.id}", by=by.email
        )
    people = audience(session, notice)
    for person in people:
        session.add(
            NoticeDelivery(
                notice_id=notice.id, user_id=person.id, centre_id=person.centre_id, sent_at=now
            )
        )
        mailer.queue(
            session,
            to=person.email,
            subject=f"[{notice.reference}] {'SAFETY: ' if notice.safety else ''}{notice.title}",
            template="notice",
            notice=notice,
            person=person,
            link=mailer.link("notices.notice", notice_id=notice.id),
        )
    session.flush()
    return len(people)


def acknowledge(
    session: Session, notice: Notice, *, by: User
) -> tuple[NoticeAcknowledgement, bool]:
    """Record that ``by`` read the notice (again: the first time stands)."""
    if notice.status != NoticeStatus.PUBLISHED:
        raise NotFound(f"No published notice {notice.id}.")
    earlier = _acknowledged(session, notice.id, by.id)
    if earlier is not None:
        return earlier, False
    ack = NoticeAcknowledgement(notice_id=notice.id, user_id=by.id, acknowledged_at=utcnow())
    try:
        with session.begin_nested():
            session.add(ack)
            session.flush()
    except IntegrityError:
        again = _acknowledged(session, notice.id, by.id)
        if again is None:
            raise
        return again, False
    return ack, True


def _acknowledged(session: Session, notice_id: int, user_id: int) -> NoticeAcknowledgement | None:
    return session.scalar(
        select(NoticeAcknowledgement).where(
            NoticeAcknowledgement.notice_id == notice_id, NoticeAcknowledgement.user_id == user_id
        )
    )


def _waiting_for(user_id: Any) -> tuple[ColumnElement[bool], ...]:
    """Published, sent to the person, not acknowledged by them."""
    acked = select(NoticeAcknowledgement.notice_id).where(NoticeAcknowledgement.user_id == user_id)
    return (
        NoticeDelivery.user_id == user_id,
        Notice.status == NoticeStatus.PUBLISHED,
        Notice.id.not_in(acked),
    )


def unacknowledged(session: Session, user: User) -> list[Notice]:
    """Published notices sent to ``user`` that they have not acknowledged, safety first."""
    return list(
        session.scalars(
            select(Notice)
            .join(NoticeDelivery, NoticeDelivery.notice_id == Notice.id)
            .where(*_waiting_for(user.id))
            .options(selectinload(Notice.targets))
            .order_by(Notice.safety.desc(), Notice.published_at.desc())
        )
    )


#: The menu asks it on every page: built once (building it cost more than running it).
_COUNT_WAITING = (
    select(func.count())
    .select_from(Notice)
    .join(NoticeDelivery, NoticeDelivery.notice_id == Notice.id)
    .where(*_waiting_for(bindparam("user_id", type_=Integer)))
)


def count_unacknowledged(session: Session, user_id: int) -> int:
    """How many of :func:`unacknowledged` there are, without reading them."""
    return session.scalar(_COUNT_WAITING, {"user_id": user_id}) or 0


# --- what a notice is about -----------------------------------------------------------------------


def chain_of(session: Session, number: str) -> set[str]:
    """A part's number and every number before and after it in supersession (normal forms)."""
    release = catalogue.latest_release(session)
    norm = normalise(number)
    if release is None:
        return {norm}
    found = {norm}
    for direction in ("forward", "backward"):
        for edge in catalogue.supersessions(session, number, release=release, direction=direction):
            found.update((edge.old, edge.new))
    return found


def published(session: Session) -> list[Notice]:
    """Every published notice, safety first, newest first."""
    return _published(session)


def drafts(session: Session) -> list[Notice]:
    """Notices not yet published (for writers)."""
    return list(
        session.scalars(
            select(Notice)
            .where(Notice.status.in_((NoticeStatus.DRAFT, NoticeStatus.REVIEWED)))
            .order_by(Notice.updated_at.desc())
        )
    )


def acknowledged_at(session: Session, notice: Notice, user: User) -> datetime | None:
    ack = _acknowledged(session, notice.id, user.id)
    return ack.acknowledged_at if ack else None


def _published(session: Session) -> list[Notice]:
    return list(
        session.scalars(
            select(Notice)
            .where(Notice.status == NoticeStatus.PUBLISHED)
            .options(selectinload(Notice.targets))
            .order_by(Notice.safety.desc(), Notice.published_at.desc())
        )
    )


def about_parts(session: Session, numbers: Iterable[str]) -> list[Notice]:
    """Published notices about any of these parts: a notice naming a part reaches every number
    of its chain, old and new."""
    chains: set[str] = set()
    for number in numbers:
        chains |= chain_of(session, number)
    return about_chain(session, chains)


#: Built once: every part page asks it, and building it cost as much as running it.
_PUBLISHED_PART_TARGETS = (
    select(NoticeTarget.notice_id, NoticeTarget.value)
    .join(Notice, Notice.id == NoticeTarget.notice_id)
    .where(Notice.status == NoticeStatus.PUBLISHED, NoticeTarget.kind == TargetKind.PART)
)


def about_chain(session: Session, norms: Collection[str]) -> list[Notice]:
    """Published notices naming any of these numbers (normal forms): :func:`about_parts` for
    a caller that has the chain already (the part page reads it for its own picture). The
    parts published notices name are read as plain rows (values are kept as typed, so they are
    compared normalised here); the notices themselves only when one names the chain, which
    for nearly every part no notice does."""
    ids = {
        notice_id
        for notice_id, value in session.execute(_PUBLISHED_PART_TARGETS)
        if normalise(value) in norms
    }
    if not ids:
        return []
    return list(
        session.scalars(
            select(Notice)
            .where(Notice.id.in_(ids))
            .order_by(Notice.safety.desc(), Notice.published_at.desc())
        )
    )


def about_number(session: Session, number: str) -> list[Notice]:
    """:func:`about_parts` then :func:`about_model` for one number, as a search asks them: the
    published notices read once, and the part's chain or the model read only when a notice
    names a part or a model at all."""
    candidates = _published(session)
    kinds = {t.kind for n in candidates for t in n.targets}
    found: list[Notice] = []
    if TargetKind.PART in kinds:
        chain = chain_of(session, number)
        found += [
            n
            for n in candidates
            if any(t.kind == TargetKind.PART and normalise(t.value) in chain for t in n.targets)
        ]
    if kinds & {TargetKind.MODEL, TargetKind.PRODUCT_LINE}:
        facts = diagnostics.model_facts(session, number)
        line = (facts.product_line or "").lower() if facts else ""
        found += [
            n
            for n in candidates
            if any(
                (t.kind == TargetKind.MODEL and diagnostics.model_matches([t.value], number))
                or (t.kind == TargetKind.PRODUCT_LINE and line and t.value.lower() == line)
                for t in n.targets
            )
        ]
    return found


def about_tree(session: Session, tree_id: str) -> list[Notice]:
    return [
        n
        for n in _published(session)
        if any(t.kind == TargetKind.TREE and t.value == tree_id for t in n.targets)
    ]


def about_model(session: Session, model_number: str) -> list[Notice]:
    """Published notices naming the model (by glob) or its product line."""
    facts = diagnostics.model_facts(session, model_number)
    line = (facts.product_line or "").lower() if facts else ""
    return [
        n
        for n in _published(session)
        if any(
            (t.kind == TargetKind.MODEL and diagnostics.model_matches([t.value], model_number))
            or (t.kind == TargetKind.PRODUCT_LINE and line and t.value.lower() == line)
            for t in n.targets
        )
    ]


def safety_blocking(
    session: Session,
    user: User,
    *,
    parts: Sequence[str] = (),
    tree_id: str | None = None,
    model_number: str | None = None,
) -> list[Notice]:
    """Safety notices about these parts, this tree or this model that ``user`` has not
    acknowledged: the walk does not go on, the order is not placed, until they do."""
    any_safety = select(Notice.id).where(
        Notice.status == NoticeStatus.PUBLISHED, Notice.safety.is_(True)
    )
    if session.scalar(any_safety.limit(1)) is None:
        return []  # the common case, answered without following any chain
    found: dict[int, Notice] = {}
    candidates = about_parts(session, parts) if parts else []
    if tree_id:
        candidates += about_tree(session, tree_id)
    if model_number:
        candidates += about_model(session, model_number)
    for notice in candidates:
        if notice.safety and _acknowledged(session, notice.id, user.id) is None:
            found[notice.id] = notice
    return list(found.values())


class SafetyNoticeFirst(Conflict):
    """A safety notice must be acknowledged before this goes on."""

    def __init__(self, notices: Sequence[Notice]) -> None:
        self.notices = list(notices)
        names = ", ".join(f"{n.reference} ({n.title})" for n in self.notices)
        super().__init__(
            f"Read and acknowledge the safety notice first: {names}.",
            errors={"notices": names},
        )


def require_safety_acknowledged(
    session: Session,
    user: User,
    *,
    parts: Sequence[str] = (),
    tree_id: str | None = None,
    model_number: str | None = None,
) -> None:
    """:raises SafetyNoticeFirst: naming the notices to acknowledge."""
    blocking = safety_blocking(
        session, user, parts=parts, tree_id=tree_id, model_number=model_number
    )
    if blocking:
        raise SafetyNoticeFirst(blocking)


# --- tracking and reminders -----------------------------------------------------------------------


@dataclass
class Reader:
    name: str
    email: str
    centre: str
    acknowledged_at: datetime | None


def tracking(session: Session, notice: Notice, *, viewer: User) -> list[Reader]:
    """Who the notice went to and who acknowledged it (a centre manager: their centre's)."""
    person = person_of(viewer)
    if not policy.sees_tracking(person):
        raise NotAllowed("Engineers, admins and centre managers follow acknowledgements.")
    query = (
        select(User, NoticeDelivery, ServiceCentre.name)
        .join(NoticeDelivery, NoticeDelivery.user_id == User.id)
        .outerjoin(ServiceCentre, ServiceCentre.id == NoticeDelivery.centre_id)
        .where(NoticeDelivery.notice_id == notice.id)
        .order_by(ServiceCentre.name, User.name)
    )
    if person.role == Role.CENTRE_MANAGER:
        query = query.where(NoticeDelivery.centre_id == viewer.centre_id)
    acks = {
        a.user_id: a.acknowledged_at
        for a in session.scalars(
            select(NoticeAcknowledgement).where(NoticeAcknowledgement.notice_id == notice.id)
        )
    }
    return [
        Reader(user.name, user.email, centre or "", acks.get(user.id))
        for user, _delivery, centre in session.execute(query)
    ]


def remind(
    session: Session, *, now: datetime, after: timedelta, calendar: Calendar, mailer: Mailer
) -> int:
    """Remind those who have not acknowledged a notice ``after`` its sending (and again every
    ``after``), only in business hours. Returns how many were reminded."""
    if not calendar.is_open(now):
        return 0
    due = session.execute(
        select(NoticeDelivery, Notice, User)
        .join(Notice, Notice.id == NoticeDelivery.notice_id)
        .join(User, User.id == NoticeDelivery.user_id)
        .where(
            Notice.status == NoticeStatus.PUBLISHED,
            NoticeDelivery.sent_at <= now - after,
            or_(NoticeDelivery.reminded_at.is_(None), NoticeDelivery.reminded_at <= now - after),
            User.is_enabled.is_(True),
            ~select(NoticeAcknowledgement.id)
            .where(
                NoticeAcknowledgement.notice_id == NoticeDelivery.notice_id,
                NoticeAcknowledgement.user_id == NoticeDelivery.user_id,
            )
            .exists(),
        )
    )
    count = 0
    for delivery, notice, user in due:
        # The row decides: two sweeps at once remind once.
        claimed = session.execute(
            update(NoticeDelivery)
            .where(
                NoticeDelivery.id == delivery.id,
                or_(
                    NoticeDelivery.reminded_at.is_(None),
                    NoticeDelivery.reminded_at <= now - after,
                ),
            )
            .values(reminded_at=now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue
        mailer.queue(
            session,
            to=user.email,
            subject=f"Reminder: [{notice.reference}] {notice.title}",
            template="notice",
            notice=notice,
            person=user,
            reminder=True,
            link=mailer.link("notices.notice", notice_id=notice.id),
        )
        count += 1
    session.flush()
    return count


def drafts_by(session: Session, user: User) -> list[Notice]:
    """The notices ``user`` wrote that are not yet published, the most recently changed first."""
    return list(
        session.scalars(
            select(Notice)
            .where(
                Notice.author_id == user.id,
                Notice.status.in_((NoticeStatus.DRAFT, NoticeStatus.REVIEWED)),
            )
            .order_by(Notice.updated_at.desc(), Notice.id)
        )
    )
