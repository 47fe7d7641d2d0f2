"""The repairs core on a real database: redo detection, the status flow, attaching walks, orders
and escalations, one repair in progress per unit and centre, idempotent opening."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations import services as escalations
from app.exceptions import Conflict, NotAllowed
from app.idempotency import KeyReused
from app.orders import services as orders
from app.repairs import services
from app.repairs.models import EventKind, Repair, RepairLink, RepairStatus
from app.roles import Role
from diagnostics import services as diagnostics
from tests.escalations import escalation_settings
from tests.factories import make_centre, make_user
from tests.repairs.bench import SETTINGS, TV, ended_days_ago, load_bench, open_repair


@pytest.fixture
def bench(session: Session, tmp_path: Path) -> None:
    load_bench(session, tmp_path / "r1")


@pytest.fixture
def techs(session: Session) -> tuple[User, User]:
    """Technicians of two centres."""
    a = make_user(session, role=Role.TECHNICIAN, centre=make_centre(session, name="North"))
    b = make_user(session, role=Role.TECHNICIAN, centre=make_centre(session, name="South"))
    return a, b


def _redo_events(repair: Repair) -> list[str]:
    return [e.text for e in repair.events if e.kind == EventKind.REDO]


# --- redo ---------------------------------------------------------------------------------------


@pytest.mark.usefixtures("bench")
@pytest.mark.parametrize(("days", "redo"), [(89, True), (90, True), (91, False)])
def test_a_unit_back_within_redo_days_of_a_fix_is_a_redo_across_centres(
    session: Session, techs: tuple[User, User], days: int, redo: bool
) -> None:
    north, south = techs
    first = open_repair(session, north)
    ended_days_ago(session, first, north, days, "repaired")
    # The unit comes back at another centre, the serial typed another way.
    second = open_repair(session, south, "40-12 345")
    if redo:
        assert second.redo_of_id == first.id
        assert _redo_events(second) == [
            f"A redo: this unit was repaired {days} days ago ({first.reference})."
        ]
        assert _redo_events(first) == [
            f"Back within {days} days: {second.reference} opened at South."
        ]
        assert [r.id for r in services.redone_by(session, first)] == [second.id]
    else:
        assert second.redo_of_id is None
        assert _redo_events(second) == []
        assert _redo_events(first) == []


@pytest.mark.usefixtures("bench")
@pytest.mark.parametrize("ending", ["returned_unrepaired", "exchanged"])
def test_a_repair_that_ended_unrepaired_or_exchanged_is_no_failed_fix(
    session: Session, techs: tuple[User, User], ending: str
) -> None:
    north, _ = techs
    first = open_repair(session, north)
    if ending == "exchanged":
        # Only an approved exchange sets it; the state it leaves is what matters here.
        first.status = first.outcome = RepairStatus.EXCHANGED
        session.flush()
    else:
        ended_days_ago(session, first, north, 10, ending)
    services.change_status(session, first, to="closed", seen=ending, by=north)
    second = open_repair(session, north)
    assert second.redo_of_id is None
    assert _redo_events(second) == []


@pytest.mark.usefixtures("bench")
def test_the_redo_names_the_latest_fix_and_closing_keeps_the_outcome(
    session: Session, techs: tuple[User, User]
) -> None:
    north, _ = techs
    old = open_repair(session, north)
    ended_days_ago(session, old, north, 60, "repaired")
    services.change_status(session, old, to="closed", seen="repaired", by=north)
    assert old.outcome == RepairStatus.REPAIRED
    recent = open_repair(session, north)
    ended_days_ago(session, recent, north, 5, "repaired")
    third = open_repair(session, north)
    assert third.redo_of_id == recent.id


# --- status flow --------------------------------------------------------------------------------


@pytest.mark.usefixtures("bench")
def test_the_status_flow_allows_work_in_progress_then_an_end_then_closed(
    session: Session, techs: tuple[User, User]
) -> None:
    north, _ = techs
    repair = open_repair(session, north)
    for step in ("waiting_parts", "waiting_support", "open", "repaired", "closed"):
        services.change_status(session, repair, to=step, seen=None, by=north)
        assert repair.status == step
    assert repair.outcome == RepairStatus.REPAIRED
    assert repair.closed_at is not None
    texts = [e.text for e in repair.events if e.kind == EventKind.STATUS]
    assert texts[0] == "Open → Waiting parts"
    assert texts[-1] == "Repaired → Closed"


@pytest.mark.usefixtures("bench")
@pytest.mark.parametrize(
    ("path", "refused", "field_says"),
    [
        ([], "exchanged", "Request an exchange instead."),
        ([], "closed", "Not from here."),
        (["repaired"], "open", "Not from here."),
        (["repaired", "closed"], "repaired", "Not from here."),
        ([], "fixed", "Choose a status from the list."),
    ],
)
def test_a_status_out_of_turn_is_refused_and_changes_nothing(
    session: Session, techs: tuple[User, User], path: list[str], refused: str, field_says: str
) -> None:
    north, _ = techs
    repair = open_repair(session, north)
    for step in path:
        services.change_status(session, repair, to=step, seen=None, by=north)
    before = (repair.status, len(repair.events))
    with pytest.raises(services.RepairError) as refusal:
        services.change_status(session, repair, to=refused, seen=None, by=north)
    assert refusal.value.errors == {"status": field_says}
    assert (repair.status, len(repair.events)) == before


@pytest.mark.usefixtures("bench")
def test_a_status_changed_from_a_stale_page_is_a_conflict(
    session: Session, techs: tuple[User, User]
) -> None:
    north, south = techs
    repair = open_repair(session, north)
    services.change_status(session, repair, to="waiting_parts", seen="open", by=north)
    with pytest.raises(services.RepairChanged) as refusal:
        services.change_status(session, repair, to="repaired", seen="open", by=north)
    assert "now waiting parts" in refusal.value.message
    assert refusal.value.status == 409
    assert repair.status == RepairStatus.WAITING_PARTS
    with pytest.raises(NotAllowed):
        services.change_status(session, repair, to="repaired", seen=None, by=south)


# --- one repair in progress per unit, idempotent opening ----------------------------------------


@pytest.mark.usefixtures("bench")
def test_one_repair_in_progress_per_unit_and_centre(
    session: Session, techs: tuple[User, User]
) -> None:
    north, south = techs
    first = open_repair(session, north)
    colleague = make_user(session, role=Role.TECHNICIAN, centre=north.centre)
    with pytest.raises(services.AlreadyOpen) as refusal:
        open_repair(session, colleague, "4012345")
    assert refusal.value.repair.id == first.id
    assert first.reference in refusal.value.message
    # Another centre may hold the same unit at the same time; once it ends, a new one opens.
    assert open_repair(session, south).id != first.id
    services.change_status(session, first, to="returned_unrepaired", seen=None, by=north)
    assert open_repair(session, colleague).id != first.id


@pytest.mark.usefixtures("bench")
def test_an_idempotency_key_opens_once_and_refuses_other_content(
    session: Session, techs: tuple[User, User]
) -> None:
    north, _ = techs
    asked = services.NewRepair(TV, "4012345", "No picture")
    first, new = services.open_repair(
        session, by=north, asked=asked, settings=SETTINGS, idempotency_key="k-1"
    )
    again, new_again = services.open_repair(
        session, by=north, asked=asked, settings=SETTINGS, idempotency_key="k-1"
    )
    assert (new, new_again, again.id) == (True, False, first.id)
    other = services.NewRepair(TV, "4099999", "No sound")
    with pytest.raises(KeyReused):
        services.open_repair(
            session, by=north, asked=other, settings=SETTINGS, idempotency_key="k-1"
        )
    assert session.scalar(select(func.count()).select_from(Repair)) == 1


@pytest.mark.usefixtures("bench")
def test_opening_names_every_field_with_a_problem(
    session: Session, techs: tuple[User, User]
) -> None:
    north, _ = techs
    asked = services.NewRepair(
        "KDL-00NOPE", "", " ", purchase_on=date(2999, 1, 1), symptom_code="ZZ9"
    )
    with pytest.raises(services.RepairError) as refusal:
        services.open_repair(session, by=north, asked=asked, settings=SETTINGS)
    assert set(refusal.value.errors) == {
        "model_number",
        "serial",
        "complaint",
        "purchase_date",
        "symptom_code",
    }
    admin = make_user(session, role=Role.ADMIN)
    with pytest.raises(NotAllowed):
        open_repair(session, admin)


# --- attaching ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("bench")
def test_attaching_checks_the_centre_and_the_unit_and_links_once(
    app: Flask, session: Session, techs: tuple[User, User]
) -> None:
    north, south = techs
    repair = open_repair(session, north)
    revision = diagnostics.get_revision(session, "psu")
    # Another centre's walk, order and escalation of the same unit: refused, said as missing.
    their_walk = diagnostics.start(
        session, revision, by=south.email, centre_id=south.centre_id, model_number=TV
    )
    their_order, _ = orders.place(session, south, [orders.Asked("4-234-704-01", 1)])
    submission = escalations.Submission(
        subject="No picture", description="Blinks", category="technical", model_number=TV
    )
    settings = escalation_settings(app)
    their_ticket, _ = escalations.open_ticket(session, south, submission, settings=settings)
    for kind, ref in (
        ("walk", their_walk.id),
        ("order", str(their_order.id)),
        ("ticket", their_ticket.reference),
    ):
        with pytest.raises(services.RepairError) as refusal:
            services.attach(session, repair, kind=kind, ref=ref, by=north)
        assert refusal.value.errors == {"ref": "Check the number."}, kind
    # Our walk of another unit: refused by name.
    other_unit = diagnostics.start(
        session,
        revision,
        by=north.email,
        centre_id=north.centre_id,
        model_number=TV,
        serial="4099999",
    )
    with pytest.raises(services.RepairError) as refusal:
        services.attach(session, repair, kind="walk", ref=other_unit.id, by=north)
    assert refusal.value.errors == {"ref": "Another unit's walk."}
    # Our walk of this unit, twice: one link, one timeline line.
    ours = diagnostics.start(
        session,
        revision,
        by=north.email,
        centre_id=north.centre_id,
        model_number=TV,
        serial="4012345",
    )
    first = services.attach(session, repair, kind="walk", ref=ours.id, by=north)
    again = services.attach(session, repair, kind="walk", ref=ours.id, by=north)
    assert first.id == again.id
    assert len([e for e in repair.events if e.kind == EventKind.WALK]) == 1
    assert services.repair_of(session, first.kind, ours.id) == repair
    # Our order and our escalation attach too.
    order, _ = orders.place(session, north, [orders.Asked("4-234-704-01", 1)])
    ticket, _ = escalations.open_ticket(session, north, submission, settings=settings)
    services.attach(session, repair, kind="order", ref=str(order.id), by=north)
    services.attach(session, repair, kind="ticket", ref=ticket.reference.lower(), by=north)
    kinds = session.scalars(
        select(RepairLink.kind).where(RepairLink.repair_id == repair.id).order_by(RepairLink.id)
    ).all()
    assert kinds == ["walk", "order", "ticket"]
    # A walk that is part of a repair cannot join another (of the same unit, at the same centre).
    services.change_status(session, repair, to="returned_unrepaired", seen=None, by=north)
    next_repair = open_repair(session, north)
    with pytest.raises(Conflict) as clash:
        services.attach(session, next_repair, kind="walk", ref=ours.id, by=north)
    assert repair.reference in clash.value.message
    with pytest.raises(services.RepairError):
        services.attach(session, next_repair, kind="invoice", ref="1", by=north)


@pytest.mark.usefixtures("bench")
def test_an_order_is_linked_by_its_number_however_it_is_written(
    session: Session, techs: tuple[User, User]
) -> None:
    """Found here: "007" and "7" made two links to one order (links are unique by their text)."""
    north, _ = techs
    repair = open_repair(session, north)
    order, _ = orders.place(session, north, [orders.Asked("4-234-704-01", 1)])
    first = services.attach(session, repair, kind="order", ref=f"00{order.id}", by=north)
    again = services.attach(session, repair, kind="order", ref=str(order.id), by=north)
    assert (first.id, first.ref) == (again.id, str(order.id))
    for ref in ("0", "-1", "1e3", "2147483648"):
        with pytest.raises(services.RepairError):
            services.attach(session, repair, kind="order", ref=ref, by=north)


@pytest.mark.usefixtures("bench")
def test_a_status_read_that_is_no_status_is_named_as_such(
    session: Session, techs: tuple[User, User]
) -> None:
    """Found here: a ``seen`` that is no status was reported as the target being wrong."""
    north, _ = techs
    repair = open_repair(session, north)
    with pytest.raises(services.RepairError) as refusal:
        services.change_status(session, repair, to="repaired", seen="opened", by=north)
    assert set(refusal.value.errors) == {"seen"}
    assert "opened is not a status" in refusal.value.message
