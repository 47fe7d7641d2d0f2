"""The home page's work queue: each kind of work reaches the right person and never another
(two centres, every role), on SQLite and PostgreSQL; and the page of each role acts in one tap."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Connection, event
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations.models import OPEN, RESOLVED, WAITING, Ticket, Tier
from app.home.queue import Queue, queue_for
from app.models import utcnow
from app.notices.models import (
    Notice,
    NoticeAcknowledgement,
    NoticeDelivery,
    NoticeKind,
    NoticeStatus,
)
from app.orders.models import (
    Order,
    OrderItem,
    OrderLine,
    OrderStatus,
    ReturnReason,
    ReturnRequest,
    ReturnStatus,
)
from app.repairs import services as repairs
from app.repairs.models import ExchangeAuthorisation, ExchangeStatus, Repair, UnitReturn
from app.repairs.settings import RepairSettings
from app.roles import Role
from app.warranty.models import Claim, ClaimStatus
from diagnostics import services as diagnostics
from parts_catalog import errata
from parts_catalog.importer import import_release
from tests.conftest import AuthActions
from tests.factories import make_centre, make_user
from tests.parts_catalog.releases import base_release

HUM_TREE = (
    "id: hum\ntitle: Loud hum from the power board\nproduct_line: TV\nmodels: ['KDL-*']\n"
    "start: where\nnodes:\n"
    "  where: {kind: choice, text: 'Where is the hum?', options: [{label: board, next: fix}, "
    "{label: speaker, next: fix}]}\n"
    "  fix: {kind: fix, text: Replace the power board, parts: [{part: '1-474-594-11', qty: 1}]}\n"
)
DRAFT_TREE = (
    "id: dim\ntitle: Picture dims after an hour\nproduct_line: TV\nmodels: ['KDL-*']\n"
    "start: fix\nnodes:\n  fix: {kind: fix, text: Replace the LED strip}\n"
)
PEOPLE = (
    "tech_a",
    "tech_a2",
    "tech_b",
    "manager_a",
    "manager_b",
    "engineer",
    "engineer2",
    "agent1",
    "agent1b",
    "agent2",
    "admin",
    "approver",
    "reviewer",
)
ROLE_OF = {
    "tech_a": Role.TECHNICIAN,
    "tech_a2": Role.TECHNICIAN,
    "tech_b": Role.TECHNICIAN,
    "manager_a": Role.CENTRE_MANAGER,
    "manager_b": Role.CENTRE_MANAGER,
    "engineer": Role.ENGINEER,
    "engineer2": Role.ENGINEER,
    "agent1": Role.AGENT_TIER1,
    "agent1b": Role.AGENT_TIER1,
    "agent2": Role.AGENT_TIER2,
    "admin": Role.ADMIN,
    "approver": Role.EXCHANGE_APPROVER,
    "reviewer": Role.CLAIM_REVIEWER,
}
#: Each role's sections, in order: exactly these.
SECTIONS = {
    Role.TECHNICIAN: [
        "walks",
        "my-repairs",
        "my-escalations",
        "claims-sent-back",
        "orders",
        "notices-waiting",
    ],
    Role.CENTRE_MANAGER: [
        "late-escalations",
        "my-repairs",
        "returns",
        "unit-returns",
        "claims-sent-back",
        "orders",
        "notices-waiting",
    ],
    Role.ENGINEER: ["errata", "escalated-trees", "drafts", "notices-waiting"],
    Role.AGENT_TIER1: ["assigned", "unassigned", "late-tickets", "notices-waiting"],
    Role.AGENT_TIER2: ["assigned", "unassigned", "late-tickets", "notices-waiting"],
    Role.ADMIN: [
        "late-tickets",
        "exchanges-to-decide",
        "claims-to-review",
        "returns",
        "errata",
        "notices-waiting",
    ],
    Role.EXCHANGE_APPROVER: ["exchanges-to-decide", "notices-waiting"],
    Role.CLAIM_REVIEWER: ["claims-to-review", "notices-waiting"],
}

Seen = set[tuple[str, str]]


@dataclass
class World:
    now: datetime
    people: dict[str, User]
    #: what each person's queue holds: (section, item key)
    expected: dict[str, Seen] = field(default_factory=dict)
    #: the labels of some things, for the page tests
    labels: dict[str, str] = field(default_factory=dict)

    def expect(self, section: str, key: str, *names: str) -> None:
        for name in names:
            self.expected.setdefault(name, set()).add((section, key))


def _ticket(
    session: Session,
    number: int,
    author: User,
    now: datetime,
    *,
    tier: Tier = Tier.TIER1,
    first_due: timedelta,
    resolution_due: timedelta = timedelta(days=2),
    responded: bool = False,
    status: str = OPEN,
    assignee: User | None = None,
    walk: str | None = None,
    created: timedelta = timedelta(hours=-3),
) -> Ticket:
    ticket = Ticket(
        reference=f"ESC-2026-{number:06d}",
        subject=f"Ticket {number} subject",
        description="It hums.",
        category="technical",
        status=status,
        tier=tier,
        product_line="TV",
        model_number="KDL-55W800C",
        diagnostic_session=walk,
        author_id=author.id,
        centre_id=author.centre_id,
        assignee_id=assignee.id if assignee else None,
        created_at=now + created,
        first_response_due=now + first_due,
        resolution_due=now + resolution_due,
        first_responded_at=now + created + timedelta(minutes=5) if responded else None,
        paused_at=now - timedelta(minutes=30) if status == WAITING else None,
    )
    session.add(ticket)
    session.flush()
    return ticket


def _order(session: Session, by: User, status: OrderStatus, now: datetime) -> Order:
    order = Order(
        centre_id=by.centre_id,
        placed_by_id=by.id,
        status=status,
        release_label="r1",
        placed_at=now - timedelta(days=1),
        updated_at=now - timedelta(days=1),
        lines=[
            OrderLine(
                requested="1-474-594-11",
                quantity=1,
                outcome="current",
                resolution={},
                items=[
                    OrderItem(part_number="1-474-594-11", quantity=1, reserved=1, backordered=0)
                ],
            )
        ],
    )
    session.add(order)
    session.flush()
    return order


def _return(session: Session, order: Order, status: ReturnStatus, now: datetime) -> ReturnRequest:
    request = ReturnRequest(
        item_id=order.lines[0].items[0].id,
        quantity=1,
        reason=ReturnReason.WRONG_PART,
        status=status,
        requested_by="someone@example.com",
        requested_at=now - timedelta(hours=2),
    )
    session.add(request)
    session.flush()
    return request


def _unit_return(
    session: Session, repair: Repair, rma: str, due_on: date, *, received: bool = False
) -> UnitReturn:
    authorisation = ExchangeAuthorisation(
        repair_id=repair.id,
        status=ExchangeStatus.APPROVED,
        reason="Beyond economic repair",
        inputs={},
        requested_by_id=repair.technician_id,
        requested_at=utcnow(),
        decided_by="rules",
        decided_at=utcnow(),
    )
    session.add(authorisation)
    session.flush()
    unit = UnitReturn(
        rma=rma,
        authorisation_id=authorisation.id,
        model_number=repair.model_number,
        serial=repair.serial,
        due_on=due_on,
        received_on=due_on if received else None,
    )
    session.add(unit)
    session.flush()
    return unit


def _exchange(session: Session, repair: Repair, number: str, status: ExchangeStatus) -> None:
    session.add(
        ExchangeAuthorisation(
            number=number,
            repair_id=repair.id,
            status=status,
            reason="The repair costs more than the unit is worth",
            inputs={},
            requested_by_id=repair.technician_id,
            requested_at=utcnow() - timedelta(days=1),
        )
    )
    session.flush()


def _claim(
    session: Session, repair: Repair, reference: str, by: User, status: ClaimStatus, now: datetime
) -> Claim:
    claim = Claim(
        reference=reference,
        repair_id=repair.id,
        centre_id=repair.centre_id,
        created_by_id=by.id,
        status=status,
        total=Decimal("84.50"),
        flags=["labour above the code's usual time"] if status == ClaimStatus.SUBMITTED else [],
        created_at=now - timedelta(days=3),
        updated_at=now - timedelta(days=1),
        submitted_at=now - timedelta(days=2),
        decided_at=now - timedelta(days=1) if status == ClaimStatus.NEEDS_INFORMATION else None,
        decision_reason="Photo of the serial plate, please"
        if status == ClaimStatus.NEEDS_INFORMATION
        else None,
    )
    session.add(claim)
    session.flush()
    return claim


def _notice(
    session: Session,
    number: int,
    author: User,
    status: NoticeStatus,
    now: datetime,
    *,
    safety: bool = False,
    to: tuple[User, ...] = (),
) -> Notice:
    notice = Notice(
        reference=f"SB-2026-{number:04d}" if status == NoticeStatus.PUBLISHED else None,
        kind=NoticeKind.SERVICE_BULLETIN,
        safety=safety,
        title=f"Notice {number} title",
        what_changes="A capacitor.",
        why="It fails.",
        effective_on=now.date(),
        what_to_do="Replace it.",
        contact="eng@example.com",
        status=status,
        author_id=author.id,
        created_at=now - timedelta(days=1),
        updated_at=now - timedelta(days=1, minutes=-number),
        published_at=now - timedelta(hours=1) if status == NoticeStatus.PUBLISHED else None,
    )
    session.add(notice)
    session.flush()
    for person in to:
        session.add(
            NoticeDelivery(
                notice_id=notice.id, user_id=person.id, centre_id=person.centre_id, sent_at=now
            )
        )
    session.flush()
    return notice


@pytest.fixture
def world(session: Session, tmp_path: Path) -> World:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    hum = diagnostics.import_tree(session, HUM_TREE, publish=True, by="eng@example.com")
    now = utcnow()
    centre_a, centre_b = make_centre(session, name="Northside"), make_centre(session, name="South")
    centre_of = {"a": centre_a, "a2": centre_a, "b": centre_b}
    people = {
        name: make_user(session, role=ROLE_OF[name], centre=centre_of.get(name.split("_")[-1]))
        for name in PEOPLE
    }
    w = World(now=now, people=people)
    p = people

    # Walks: an unfinished one each for tech A and tech B; tech A's finished one never shows.
    walk_a = diagnostics.start(session, hum, by=p["tech_a"].email, centre_id=centre_a.id)
    walk_b = diagnostics.start(session, hum, by=p["tech_b"].email, centre_id=centre_b.id)
    done = diagnostics.start(session, hum, by=p["tech_a"].email, centre_id=centre_a.id)
    diagnostics.answer(session, done, option="board", at_node="where")
    assert done.outcome is not None
    w.expect("walks", walk_a.id, "tech_a")
    w.expect("walks", walk_b.id, "tech_b")

    # Repairs: two at centre A (tech A's and a colleague's), one at B, one at A ended.
    settings = RepairSettings(redo_days=90)

    def repair(user: User, serial: str) -> Repair:
        asked = repairs.NewRepair("KDL-55W800C", serial, "Hums loudly")
        opened, _ = repairs.open_repair(session, by=user, asked=asked, settings=settings)
        return opened

    rep_a, rep_a2, rep_b = (
        repair(p["tech_a"], "4010001"),
        repair(p["tech_a2"], "4010002"),
        repair(p["tech_b"], "4010003"),
    )
    ended = repair(p["tech_a"], "4010004")
    repairs.change_status(session, ended, to="returned_unrepaired", seen="open", by=p["tech_a"])
    for r in (rep_a, rep_a2):
        w.expect("my-repairs", str(r.reference), "tech_a", "tech_a2", "manager_a")
    w.expect("my-repairs", str(rep_b.reference), "tech_b", "manager_b")
    w.labels["repair_a"], w.labels["repair_b"] = str(rep_a.reference), str(rep_b.reference)

    # Escalations.
    late_a = _ticket(session, 1, p["tech_a"], now, first_due=timedelta(hours=-1), walk=walk_a.id)
    waiting_a = _ticket(
        session,
        2,
        p["tech_a"],
        now,
        first_due=timedelta(hours=-2),
        responded=True,
        status=WAITING,
        assignee=p["agent1"],
    )
    open_b = _ticket(
        session, 3, p["tech_b"], now, tier=Tier.TIER2, first_due=timedelta(hours=2), walk=walk_b.id
    )
    late_b = _ticket(
        session,
        4,
        p["tech_b"],
        now,
        tier=Tier.TIER2,
        first_due=timedelta(days=-2),
        resolution_due=timedelta(hours=-1),
        responded=True,
        assignee=p["agent2"],
    )
    resolved = _ticket(session, 5, p["tech_a"], now, first_due=timedelta(days=-3), status=RESOLVED)
    # An old ticket from a walk: outside the window of "most escalated".
    _ticket(
        session,
        6,
        p["tech_b"],
        now,
        first_due=timedelta(days=-40),
        responded=True,
        status=RESOLVED,
        walk=walk_b.id,
        created=timedelta(days=-45),
    )
    ref = {t: str(t.reference) for t in (late_a, waiting_a, open_b, late_b, resolved)}
    w.expect("my-escalations", ref[late_a], "tech_a")
    w.expect("my-escalations", ref[waiting_a], "tech_a")
    w.expect("my-escalations", ref[open_b], "tech_b")
    w.expect("my-escalations", ref[late_b], "tech_b")
    w.expect("late-escalations", ref[late_a], "manager_a")
    w.expect("late-escalations", ref[late_b], "manager_b")
    w.expect("assigned", ref[waiting_a], "agent1")
    w.expect("assigned", ref[late_b], "agent2")
    w.expect("unassigned", ref[late_a], "agent1", "agent1b")
    w.expect("unassigned", ref[open_b], "agent2")
    w.expect("late-tickets", ref[late_a], "agent1", "agent1b", "admin")
    w.expect("late-tickets", ref[late_b], "agent2", "admin")
    w.expect("escalated-trees", "hum", "engineer", "engineer2")
    w.labels["ticket_a"], w.labels["ticket_b"] = ref[late_a], ref[late_b]

    # Orders, returns of parts, exchanged units owed back.
    order_a = _order(session, p["tech_a"], OrderStatus.PLACED, now)
    order_a2 = _order(session, p["tech_a2"], OrderStatus.SHIPPED, now)
    delivered = _order(session, p["tech_a"], OrderStatus.DELIVERED, now)
    order_b = _order(session, p["tech_b"], OrderStatus.PICKING, now)
    w.expect("orders", str(order_a.id), "tech_a", "manager_a")
    w.expect("orders", str(order_a2.id), "tech_a2", "manager_a")
    w.expect("orders", str(order_b.id), "tech_b", "manager_b")
    return_a = _return(session, delivered, ReturnStatus.REQUESTED, now)
    _return(session, order_a2, ReturnStatus.ACCEPTED, now)
    return_b = _return(session, order_b, ReturnStatus.REQUESTED, now)
    w.expect("returns", str(return_a.id), "manager_a", "admin")
    w.expect("returns", str(return_b.id), "manager_b", "admin")
    unit_a = _unit_return(session, rep_a, "RMA-A-1", now.date() - timedelta(days=1))
    _unit_return(session, rep_a2, "RMA-A-2", now.date(), received=True)
    unit_b = _unit_return(session, rep_b, "RMA-B-1", now.date() + timedelta(days=5))
    w.expect("unit-returns", str(unit_a.rma), "manager_a")
    w.expect("unit-returns", str(unit_b.rma), "manager_b")

    # Exchange requests the rules left to a person: the approvers' (and admins'); a refused one
    # is nobody's work.
    asking = repair(p["tech_a"], "4010005")
    w.expect("my-repairs", str(asking.reference), "tech_a", "tech_a2", "manager_a")
    _exchange(session, asking, "EXA-2026-000901", ExchangeStatus.PENDING)
    _exchange(session, ended, "EXA-2026-000902", ExchangeStatus.REFUSED)
    w.expect("exchanges-to-decide", "EXA-2026-000901", "approver", "admin")

    # Warranty claims: a submitted one for reviewers; sent back for information, to the
    # technician who wrote it and to the centre's manager; a draft waits for nobody else.
    _claim(session, rep_b, "WC-2026-000001", p["tech_b"], ClaimStatus.SUBMITTED, now)
    _claim(session, rep_a, "WC-2026-000002", p["tech_a"], ClaimStatus.NEEDS_INFORMATION, now)
    _claim(session, rep_a2, "WC-2026-000003", p["tech_a2"], ClaimStatus.NEEDS_INFORMATION, now)
    _claim(session, rep_a, "WC-2026-000004", p["tech_a"], ClaimStatus.DRAFT, now)
    w.expect("claims-to-review", "WC-2026-000001", "reviewer", "admin")
    w.expect("claims-sent-back", "WC-2026-000002", "tech_a", "manager_a")
    w.expect("claims-sent-back", "WC-2026-000003", "tech_a2", "manager_a")

    # The catalogue's errata: the open one for engineers and admins.
    erratum = errata.report_wrong_fitment(
        session,
        part_number="1-474-594-11",
        model_number="KDL-55W800C",
        ref_no=None,
        release_label="r1",
        note="Does not fit",
        reported_by=p["tech_a"].email,
    )
    settled = errata.report_wrong_fitment(
        session,
        part_number="1-474-594-11",
        model_number="KDL-40",
        ref_no=None,
        release_label="r1",
        note=None,
        reported_by=p["tech_b"].email,
    )
    errata.resolve_erratum(session, settled.id, by=p["engineer"].email, resolution="Fixed")
    w.expect("errata", str(erratum.id), "engineer", "engineer2", "admin")

    # Drafts: a tree draft and a notice draft of the engineer's; the second engineer's reviewed
    # notice; a published notice is nobody's draft.
    diagnostics.import_tree(session, DRAFT_TREE, by=p["engineer"].email)
    w.expect("drafts", "tree-dim", "engineer")
    draft = _notice(session, 1, p["engineer"], NoticeStatus.DRAFT, now)
    reviewed = _notice(session, 2, p["engineer2"], NoticeStatus.REVIEWED, now)
    w.expect("drafts", f"notice-{draft.id}", "engineer")
    w.expect("drafts", f"notice-{reviewed.id}", "engineer2")

    # Notices to acknowledge: what was sent to a person and not yet acknowledged.
    to_centres = _notice(
        session,
        3,
        p["engineer"],
        NoticeStatus.PUBLISHED,
        now,
        safety=True,
        to=(p["tech_a"], p["tech_b"], p["manager_a"]),
    )
    session.add(
        NoticeAcknowledgement(notice_id=to_centres.id, user_id=p["tech_a"].id, acknowledged_at=now)
    )
    to_agents = _notice(session, 4, p["engineer"], NoticeStatus.PUBLISHED, now, to=(p["agent1"],))
    w.expect("notices-waiting", str(to_centres.id), "tech_b", "manager_a")
    w.expect("notices-waiting", str(to_agents.id), "agent1")
    w.labels["safety_notice"], w.labels["plain_notice"] = to_centres.title, to_agents.title
    w.labels["plain_notice_id"] = str(to_agents.id)
    session.commit()
    return w


def _seen(queue: Queue) -> Seen:
    return {(section.id, item.key) for section in queue.sections for item in section.items}


def test_each_kind_of_work_reaches_the_right_person_and_never_another(
    session: Session, world: World
) -> None:
    for name, person in world.people.items():
        queue = queue_for(session, person, now=world.now)
        assert [s.id for s in queue.sections] == SECTIONS[Role(person.role)], name
        assert _seen(queue) == world.expected.get(name, set()), name


def test_targets_and_lateness_are_shown_as_the_database_decides(
    session: Session, world: World
) -> None:
    tech_a = queue_for(session, world.people["tech_a"], now=world.now)
    mine = tech_a.section("my-escalations")
    assert mine is not None
    # What waits for the technician's own answer comes first, with no target (clock stopped).
    waiting, late = mine.items
    assert (waiting.flag, waiting.due, waiting.late) == ("Waiting for your answer", None, False)
    assert late.late
    assert late.due is not None
    assert late.due < world.now
    assert late.due_label == "First response by"
    tech_b = queue_for(session, world.people["tech_b"], now=world.now)
    theirs = tech_b.section("my-escalations")
    assert theirs is not None
    by_key = {item.key: item for item in theirs.items}
    assert by_key["ESC-2026-000003"].late is False
    assert by_key["ESC-2026-000003"].due_label == "First response by"
    assert by_key["ESC-2026-000004"].late is True  # answered, but past its resolution
    assert by_key["ESC-2026-000004"].due_label == "Resolution by"
    # The unit owed back yesterday is late; the one due in five days is not.
    units = queue_for(session, world.people["manager_a"], now=world.now).section("unit-returns")
    assert units is not None
    assert [(i.key, i.late) for i in units.items] == [("RMA-A-1", True)]
    # Orders nearest to arriving first: shipped before placed.
    orders = queue_for(session, world.people["manager_a"], now=world.now).section("orders")
    assert orders is not None
    assert [i.detail.split(" ·")[0] for i in orders.items] == ["shipped", "placed"]
    trees = queue_for(session, world.people["engineer"], now=world.now).section("escalated-trees")
    assert trees is not None
    assert [(i.key, i.detail) for i in trees.items] == [("hum", "2 escalations")]


def test_approvers_and_reviewers_see_what_waits_for_their_decision(
    session: Session, world: World
) -> None:
    approver = queue_for(session, world.people["approver"], now=world.now)
    waiting = approver.section("exchanges-to-decide")
    assert waiting is not None
    (request,) = waiting.items
    assert request.label == "EXA-2026-000901 · KDL-55W800C · 4010005"
    assert request.detail.startswith("requested 1 day ago · The repair costs more")
    reviewer = queue_for(session, world.people["reviewer"], now=world.now)
    claims = reviewer.section("claims-to-review")
    assert claims is not None
    (claim,) = claims.items
    assert (claim.label, claim.detail, claim.flag) == (
        "WC-2026-000001 · 84.50",
        "submitted 2 days ago",
        "1 flag",
    )
    sent_back = queue_for(session, world.people["tech_a"], now=world.now).section(
        "claims-sent-back"
    )
    assert sent_back is not None
    (answer,) = sent_back.items
    assert answer.flag == "Waiting for your answer"
    assert answer.detail == "sent back 1 day ago · Photo of the serial plate, please"


def _statements(connection: Connection, person: User, now: datetime) -> int:
    """How many statements one person's queue takes, read through a fresh session (nothing
    already loaded hides a lazy load)."""
    count = 0

    def counted(*_: object) -> None:
        nonlocal count
        count += 1

    event.listen(connection, "before_cursor_execute", counted)
    try:
        with Session(bind=connection, join_transaction_mode="create_savepoint") as fresh:
            queue_for(fresh, fresh.get_one(User, person.id), now=now)
    finally:
        event.remove(connection, "before_cursor_execute", counted)
    return count - 1  # the person's own row


def _more_of_everything(session: Session, world: World, start: int) -> None:
    """Four more of every kind, for both centres and both tiers."""
    p, now = world.people, world.now
    hum = diagnostics.get_revision(session, "hum")
    settings = RepairSettings(redo_days=90)
    for n, tech in enumerate((p["tech_a"], p["tech_b"]) * 2, start=start):
        diagnostics.start(session, hum, by=tech.email, centre_id=tech.centre_id)
        asked = repairs.NewRepair("KDL-55W800C", f"40200{n}", "Hums")
        repair, _ = repairs.open_repair(session, by=tech, asked=asked, settings=settings)
        _unit_return(session, repair, f"RMA-X-{n}", now.date())
        asking, _ = repairs.open_repair(
            session,
            by=tech,
            asked=repairs.NewRepair("KDL-55W800C", f"40300{n}", "Hums"),
            settings=settings,
        )
        _exchange(session, asking, f"EXA-2026-0009{n}", ExchangeStatus.PENDING)
        for reference, status in (
            (f"WC-2026-0001{n}", ClaimStatus.SUBMITTED),
            (f"WC-2026-0002{n}", ClaimStatus.NEEDS_INFORMATION),
        ):
            _claim(session, repair, reference, tech, status, now)
        order = _order(session, tech, OrderStatus.SHIPPED, now)
        _return(session, order, ReturnStatus.REQUESTED, now)
        tier = Tier.TIER1 if n % 2 else Tier.TIER2
        agent = p["agent1"] if tier == Tier.TIER1 else p["agent2"]
        _ticket(session, n, tech, now, tier=tier, first_due=timedelta(hours=-1))
        _ticket(session, n + 50, tech, now, tier=tier, first_due=timedelta(hours=1), assignee=agent)
        errata.report_wrong_fitment(
            session,
            part_number="1-474-594-11",
            model_number=f"KDL-{n}",
            ref_no=None,
            release_label="r1",
            note=None,
            reported_by=tech.email,
        )
        _notice(session, n, p["engineer"], NoticeStatus.PUBLISHED, now, to=tuple(p.values()))
        _notice(session, n + 50, p["engineer"], NoticeStatus.DRAFT, now)
    session.commit()


def test_a_queue_takes_as_many_statements_for_many_items_as_for_a_few(
    connection: Connection, session: Session, world: World
) -> None:
    _more_of_everything(session, world, 10)
    few = {n: _statements(connection, person, world.now) for n, person in world.people.items()}
    _more_of_everything(session, world, 20)
    many = {n: _statements(connection, person, world.now) for n, person in world.people.items()}
    assert many == few
    assert max(many.values()) <= 15


def _section(page: str, section_id: str) -> str:
    """The HTML of one section of the home page ("" when it is not there)."""
    match = re.search(rf'<section [^>]*id="{section_id}".*?</section>', page, re.S)
    return match.group(0) if match else ""


def test_each_role_s_page_shows_its_queue_and_acts_in_one_tap(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    p, labels = world.people, world.labels

    def home(name: str) -> str:
        auth.login(user=p[name])
        response = client.get("/")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        auth.logout()
        return page

    page = home("tech_a")
    walks = _section(page, "walks")
    assert "Resume: Loud hum from the power board" in walks
    assert "/diagnose/sessions/" in walks
    repairs_html = _section(page, "my-repairs")
    assert f'href="/repairs/{labels["repair_a"]}"' in repairs_html
    assert labels["repair_b"] not in page  # another centre's repair
    escalated = _section(page, "my-escalations")
    assert f'href="/escalations/{labels["ticket_a"]}"' in escalated
    assert "Waiting for your answer" in escalated
    assert "Late" in escalated
    assert "First response by" in escalated
    assert re.search(r'<time datetime="[^"]+">\w+day \d\d \w+ \d{4}, \d\d:\d\d', escalated)
    assert labels["ticket_b"] not in page
    assert "Track: Order" in _section(page, "orders")
    # Tech A acknowledged the safety notice: it is gone; nothing else waits there.
    assert labels["safety_notice"] not in page
    assert 'id="notices-waiting-none"' in page

    page = home("tech_b")
    notices_html = _section(page, "notices-waiting")
    assert "Safety" in notices_html
    assert labels["safety_notice"] in notices_html
    # A safety notice is read before it is acknowledged: no one-tap button for it.
    assert "Acknowledge</button>" not in notices_html
    assert '?next=/"' in notices_html  # reading it comes back home
    assert labels["repair_a"] not in page
    assert labels["ticket_a"] not in page

    page = home("manager_a")
    assert labels["ticket_a"] in _section(page, "late-escalations")
    assert labels["ticket_b"] not in page
    assert "RMA-A-1" in _section(page, "unit-returns")
    assert "Due back by" in _section(page, "unit-returns")
    assert "RMA-B-1" not in page
    assert "Return of 1-474-594-11" in _section(page, "returns")

    page = home("engineer")
    assert 'href="/catalog/errata#resolution-' in _section(page, "errata")
    assert "Analytics: Loud hum from the power board" in _section(page, "escalated-trees")
    drafts_html = _section(page, "drafts")
    assert "Edit: Picture dims after an hour" in drafts_html
    assert "Notice 1 title" in drafts_html
    assert "Notice 2 title" not in drafts_html

    page = home("agent1")
    assert labels["ticket_a"] in _section(page, "unassigned")
    assert labels["ticket_a"] in _section(page, "late-tickets")
    assert labels["ticket_b"] not in page
    plain = _section(page, "notices-waiting")
    assert f'action="/notices/{labels["plain_notice_id"]}/acknowledge"' in plain
    assert "Acknowledge</button>" in plain

    page = home("approver")
    assert 'href="/exchanges/EXA-2026-000901"' in _section(page, "exchanges-to-decide")
    page = home("reviewer")
    assert 'href="/claims/WC-2026-000001"' in _section(page, "claims-to-review")
    assert "WC-2026-000002" not in page

    page = home("admin")
    late = _section(page, "late-tickets")
    assert labels["ticket_a"] in late
    assert labels["ticket_b"] in late
    assert 'href="/orders/returns#d-' in _section(page, "returns")


def test_acknowledging_from_home_takes_one_tap_and_comes_back_home(
    client: FlaskClient, auth: AuthActions, world: World
) -> None:
    auth.login(user=world.people["agent1"])
    response = client.post(
        f"/notices/{world.labels['plain_notice_id']}/acknowledge",
        data={"csrf_token": auth.csrf(), "next": "/"},
    )
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert world.labels["plain_notice"] not in page
    assert 'id="notices-waiting-none"' in page


def test_an_empty_queue_says_so_and_offers_the_main_actions(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(Role.TECHNICIAN)
    page = client.get("/").get_data(as_text=True)
    assert "Nothing waits for you right now" in page
    assert "No walk left half-way." in page
    for action in ('href="/repairs/new"', 'href="/diagnose"', 'href="/escalations/new"'):
        assert action in page
    # No list of work is shown empty: each says its sentence among the quiet ones.
    assert all(_section(page, sid) == "" for sid in SECTIONS[Role.TECHNICIAN])
    assert 'id="walks-none"' in page
