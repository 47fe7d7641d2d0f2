"""The exchange programme on a real database: each decision (approved, pending, refused) with
the inputs it stores for audit, which rule applies, the order and RMA an approval makes, the
approvers' decisions, and the core charge on units not returned in time."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.exceptions import Conflict, Invalid, NotAllowed
from app.models import utcnow
from app.orders.models import Order, OrderKind
from app.repairs import exchange
from app.repairs.models import ExchangeAuthorisation, RepairStatus, UnitReturn
from app.roles import Role
from parts_catalog.models import ModelVersion
from tests.factories import make_user
from tests.repairs.bench import (
    CAMERA,
    FIX_COST,
    SMALL_TV,
    TV,
    load_bench,
    open_repair,
    rule,
    walk_to_fix,
)


@pytest.fixture
def bench(session: Session, tmp_path: Path) -> None:
    load_bench(session, tmp_path / "r1")


@pytest.fixture
def tech(session: Session) -> User:
    return make_user(session, role=Role.TECHNICIAN)


def _count(session: Session, table: Any) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


def _asked(
    session: Session, tech: User, *, model_number: str = TV, tree: str | None = "psu"
) -> ExchangeAuthorisation:
    repair = open_repair(session, tech, model_number=model_number)
    if tree:
        walk_to_fix(session, repair, tech, tree)
    authorisation, new = exchange.request_exchange(session, repair, by=tech)
    assert new
    return authorisation


# --- approved -----------------------------------------------------------------------------------


@pytest.mark.usefixtures("bench")
def test_a_repair_costing_more_than_the_value_is_approved_with_its_inputs(
    session: Session, tech: User
) -> None:
    line = rule(session, product_line="TV", value=Decimal("100.00"), core_charge=Decimal("35.00"))
    authorisation = _asked(session, tech)
    assert authorisation.status == "approved", authorisation.reason
    assert authorisation.reason == (
        f"The repair ({FIX_COST}) would cost more than the unit's value (100.00)."
    )
    assert authorisation.decided_by == "rules"
    inputs = authorisation.inputs
    assert inputs["value"] == "100.00"
    assert inputs["value_source"] == "rule"
    assert inputs["rule"]["id"] == line.id
    assert inputs["rule"]["scope"] == "Product line TV"
    assert inputs["estimate"]["total"] == str(FIX_COST)
    assert inputs["estimate"]["parts"] == [
        {"number": "1-474-594-12", "qty": 1, "unit_price": "89.00"}
    ]
    walk = authorisation.repair.links[0].ref
    assert inputs["walk"]["id"] == walk
    assert inputs["walk"]["tree"] == "psu"
    assert inputs["walk"]["node"] == "end"
    # The replacement order and the defective unit's return, once.
    order = session.get_one(Order, authorisation.order_id)
    assert order.kind == OrderKind.EXCHANGE
    assert order.reference == authorisation.number
    assert order.job == authorisation.repair.reference
    unit_return = authorisation.unit_return
    assert unit_return is not None
    assert unit_return.rma
    assert unit_return.rma.startswith("RMA-")
    assert unit_return.due_on == utcnow().date() + timedelta(days=15)
    assert unit_return.core_charge == Decimal("35.00")
    assert authorisation.repair.status == RepairStatus.EXCHANGED
    assert authorisation.repair.outcome == RepairStatus.EXCHANGED
    # Asking again answers with it: no second order or RMA.
    again, new = exchange.request_exchange(session, authorisation.repair, by=tech)
    assert (again.id, new) == (authorisation.id, False)
    assert (_count(session, Order), _count(session, UnitReturn)) == (1, 1)


@pytest.mark.usefixtures("bench")
def test_the_catalogue_value_applies_when_the_rule_has_none(session: Session, tech: User) -> None:
    rule(session, product_line="tv")  # a product line matched whatever its case
    authorisation = _asked(session, tech, model_number=SMALL_TV)  # worth 90.00
    assert authorisation.status == "approved", authorisation.reason
    assert authorisation.inputs["value"] == "90.00"
    assert authorisation.inputs["value_source"] == "catalogue"


@pytest.mark.usefixtures("bench")
def test_an_exchange_only_line_is_approved_without_a_diagnosis(
    session: Session, tech: User
) -> None:
    line = rule(session, model_pattern="KDL-32*", exchange_only=True, advance=True)
    authorisation = _asked(session, tech, model_number=SMALL_TV, tree=None)
    assert authorisation.status == "approved"
    assert authorisation.reason == "KDL-32* is exchange-only: these units are not repaired."
    assert authorisation.inputs["rule"]["id"] == line.id
    assert authorisation.inputs["rule"]["advance"] is True
    assert authorisation.inputs["estimate"] is None
    assert authorisation.inputs["walk"] is None
    texts = [e.text for e in authorisation.repair.events]
    assert any("shipping now: advance exchange" in t for t in texts)


@pytest.mark.usefixtures("bench")
def test_a_tree_that_ends_in_an_exchange_is_approved(session: Session, tech: User) -> None:
    rule(session, product_line="TV")  # the TV is worth 400.00: more than the repair
    authorisation = _asked(session, tech, tree="swap")
    assert authorisation.status == "approved", authorisation.reason
    assert authorisation.reason == "The diagnosis ends in an exchange."
    assert authorisation.inputs["estimate"]["recommend_exchange"] is True


@pytest.mark.usefixtures("bench")
def test_a_model_rule_wins_over_its_product_line(session: Session, tech: User) -> None:
    rule(session, product_line="TV", value=Decimal("2000.00"))
    model_rule = rule(session, model_pattern="KDL-55*", value=Decimal("50.00"))
    authorisation = _asked(session, tech)
    assert authorisation.status == "approved", authorisation.reason
    assert authorisation.inputs["rule"]["id"] == model_rule.id
    assert authorisation.inputs["rule"]["scope"] == "KDL-55*"
    assert exchange.rule_for(session, CAMERA, "Camera") is None


# --- pending ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("bench")
def test_a_rule_that_leaves_it_to_a_person_queues_it_with_its_inputs(
    session: Session, tech: User
) -> None:
    rule(session, product_line="TV", value=Decimal("100.00"), auto_approve=False)
    authorisation = _asked(session, tech)
    assert authorisation.status == "pending"
    assert authorisation.reason.endswith("Exchanges of Product line TV are approved by a person.")
    assert authorisation.decided_by is None
    assert authorisation.order_id is None
    assert authorisation.unit_return is None
    assert authorisation.inputs["estimate"]["total"] == str(FIX_COST)
    assert authorisation.inputs["rule"]["auto_approve"] is False
    assert authorisation.repair.status == RepairStatus.OPEN
    assert exchange.pending(session) == [authorisation]
    # A repeat while it waits answers with it.
    again, new = exchange.request_exchange(session, authorisation.repair, by=tech)
    assert (again.id, new) == (authorisation.id, False)


@pytest.mark.usefixtures("bench")
def test_an_unknown_price_queues_it(session: Session, tech: User) -> None:
    rule(session, product_line="TV", value=Decimal("100.00"))
    authorisation = _asked(session, tech, tree="speaker")
    assert authorisation.status == "pending"
    assert "no price for 1-999-000-11" in authorisation.reason
    assert authorisation.inputs["estimate"]["total"] is None
    assert authorisation.inputs["estimate"]["missing_prices"] == ["1-999-000-11"]


@pytest.mark.usefixtures("bench")
def test_an_unknown_value_queues_it(session: Session, tech: User) -> None:
    rule(session, product_line="TV")
    repair = open_repair(session, tech)
    walk_to_fix(session, repair, tech)
    # The catalogue's value is gone (a later release dropped it, say).
    for row in session.scalars(select(ModelVersion)):
        row.exchange_value = None
    session.flush()
    authorisation, _ = exchange.request_exchange(session, repair, by=tech)
    assert authorisation.status == "pending"
    assert authorisation.inputs["value"] is None
    assert "No exchange value is known" in authorisation.reason


# --- refused ------------------------------------------------------------------------------------


@pytest.mark.usefixtures("bench")
@pytest.mark.parametrize(
    ("rules", "reason"),
    [
        ([], "No exchange programme covers KDL-55W800C (TV)."),
        ([{"product_line": "TV", "eligible": False}], "Product line TV is not in the exchange"),
        (
            [{"product_line": "TV", "value": Decimal("300.00")}],
            f"The repair ({FIX_COST}) costs no more than the unit's value (300.00): repair it.",
        ),
    ],
    ids=["no rule", "not eligible", "cost below value"],
)
def test_a_refusal_says_why_and_keeps_its_inputs(
    session: Session, tech: User, rules: list[dict[str, Any]], reason: str
) -> None:
    made = [rule(session, **values) for values in rules]
    authorisation = _asked(session, tech)
    assert authorisation.status == "refused"
    assert authorisation.reason.startswith(reason)
    assert authorisation.decided_by == "rules"
    assert authorisation.inputs["rule"] == (
        None if not made else authorisation.inputs["rule"] | {"id": made[0].id}
    )
    assert authorisation.inputs["estimate"]["total"] == str(FIX_COST)
    assert authorisation.order_id is None
    assert (_count(session, Order), _count(session, UnitReturn)) == (0, 0)
    assert authorisation.repair.status == RepairStatus.OPEN
    # A refusal does not stand: asking again (after another walk, say) decides afresh.
    again, new = exchange.request_exchange(session, authorisation.repair, by=tech)
    assert new
    assert again.id != authorisation.id


@pytest.mark.usefixtures("bench")
def test_without_a_walk_at_a_fix_there_is_nothing_to_decide_from(
    session: Session, tech: User
) -> None:
    rule(session, product_line="TV", value=Decimal("10.00"))
    authorisation = _asked(session, tech, tree=None)
    assert authorisation.status == "refused"
    assert "walk a tree to its fix" in authorisation.reason
    other = open_repair(session, tech, "4099999")
    with pytest.raises(Invalid):
        exchange.request_exchange(session, other, by=tech, walk_id="not-its-walk")


# --- approvers ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("bench")
def test_an_approver_decides_a_pending_request_once(session: Session, tech: User) -> None:
    rule(
        session,
        product_line="TV",
        value=Decimal("100.00"),
        auto_approve=False,
        core_charge=Decimal("20.00"),
        return_days=7,
    )
    authorisation = _asked(session, tech)
    approver = make_user(session, role=Role.EXCHANGE_APPROVER, name="Ada Approver")
    with pytest.raises(NotAllowed):
        exchange.decide_pending(session, authorisation, by=tech, approve=True, note="")
    with pytest.raises(Invalid):
        exchange.decide_pending(session, authorisation, by=approver, approve=False, note=" ")
    exchange.decide_pending(session, authorisation, by=approver, approve=True, note="")
    assert authorisation.status == "approved"
    assert authorisation.decided_by == "Ada Approver"
    assert authorisation.inputs["estimate"]["total"] == str(FIX_COST)  # kept as it was asked
    assert authorisation.unit_return is not None
    assert authorisation.unit_return.core_charge == Decimal("20.00")
    assert authorisation.unit_return.due_on == utcnow().date() + timedelta(days=7)
    assert authorisation.repair.status == RepairStatus.EXCHANGED
    with pytest.raises(Conflict):
        exchange.decide_pending(session, authorisation, by=approver, approve=False, note="no")
    assert (_count(session, Order), _count(session, UnitReturn)) == (1, 1)
    found = exchange.authorisation_for(session, approver, authorisation.number or "")
    assert found.id == authorisation.id


# --- the core charge ----------------------------------------------------------------------------


@pytest.mark.usefixtures("bench")
def test_charge_overdue_marks_each_late_return_once(
    session: Session, tech: User, runner: FlaskCliRunner
) -> None:
    rule(session, product_line="TV", value=Decimal("50.00"), core_charge=Decimal("35.00"))
    late = _asked(session, tech)
    received = _asked(session, tech, model_number=SMALL_TV)
    assert late.unit_return is not None
    assert received.unit_return is not None
    due = late.unit_return.due_on
    approver = make_user(session, role=Role.EXCHANGE_APPROVER)
    exchange.receive_unit(session, received.unit_return.rma or "", by=approver, on=due)
    session.commit()
    on_time = runner.invoke(args=["repairs", "charge-overdue", "--today", due.isoformat()])
    assert on_time.exit_code == 0, on_time.output
    assert on_time.output.strip() == f"0 overdue returns charged (as of {due.isoformat()})."
    day_after = (due + timedelta(days=1)).isoformat()
    first = runner.invoke(args=["repairs", "charge-overdue", "--today", day_after])
    assert first.exit_code == 0, first.output
    assert f"{late.unit_return.rma}: {TV} 4012345" in first.output
    assert "1 overdue return charged" in first.output
    second = runner.invoke(args=["repairs", "charge-overdue", "--today", day_after])
    assert "0 overdue returns charged" in second.output
    session.expire_all()
    charged = session.scalars(select(UnitReturn).where(UnitReturn.charged_at.is_not(None))).all()
    assert [r.rma for r in charged] == [late.unit_return.rma]
    assert date.fromisoformat(day_after) > due
