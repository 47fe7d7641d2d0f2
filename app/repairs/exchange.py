"""The exchange programme: a unit whose repair would cost more than it is worth is exchanged.

A request is decided by the rules at once (approved or refused) or queued for an approver; every
decision keeps what it was made from (the estimate, the value, the rule, the walk). An approved
exchange makes the replacement-unit order and the defective unit's return (RMA) once, however
often the request is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from app.auth.models import ServiceCentre, User
from app.exceptions import Conflict, Invalid, NotAllowed, NotFound
from app.models import utcnow
from app.orders.models import Order, OrderItem, OrderKind, OrderLine, OrderStatus
from app.repairs import policy
from app.repairs.models import (
    EventKind,
    ExchangeAuthorisation,
    ExchangeRule,
    ExchangeStatus,
    LinkKind,
    Repair,
    RepairEvent,
    RepairStatus,
    UnitReturn,
)
from app.repairs.services import RepairChanged, facts_of, person_of
from diagnostics import services as diagnostics
from diagnostics.models import DiagnosticSession
from diagnostics.trees import EXCHANGE, FIX
from parts_catalog.services import latest_release

APPROVED, PENDING, REFUSED = ExchangeStatus.APPROVED, ExchangeStatus.PENDING, ExchangeStatus.REFUSED
STANDING = (APPROVED, PENDING)


@dataclass(frozen=True)
class RuleFacts:
    """A rule as the decision reads it."""

    id: int
    scope: str  # "KDL-32*" or "product line TV", for the reason
    eligible: bool
    value: Decimal | None
    exchange_only: bool
    auto_approve: bool
    advance: bool
    core_charge: Decimal | None
    return_days: int


@dataclass(frozen=True)
class Costs:
    """The fix's estimate as the decision reads it."""

    total: Decimal | None  # None: a price is missing
    tree_says_exchange: bool
    unavailable: tuple[str, ...]
    missing_prices: tuple[str, ...]


@dataclass(frozen=True)
class Verdict:
    status: ExchangeStatus
    reason: str


def _money(amount: Decimal | None) -> str:
    return "unknown" if amount is None else f"{amount:.2f}"


def decide(
    rule: RuleFacts | None, costs: Costs | None, *, value: Decimal | None, unit: str
) -> Verdict:
    """What the rules say of a request to exchange ``unit``; pure.

    Refused when no rule covers the unit or it is not eligible, or when the repair costs no more
    than the unit is worth; approved when the line is exchange-only, or when the repair would
    cost more (or cannot be done) and the rule approves at once; pending for an approver
    otherwise (the rule says a person decides, or a cost or the value is unknown).
    """
    if rule is None:
        return Verdict(REFUSED, f"No exchange programme covers {unit}.")
    if not rule.eligible:
        return Verdict(REFUSED, f"{rule.scope} is not in the exchange programme.")
    if rule.exchange_only:
        return Verdict(APPROVED, f"{rule.scope} is exchange-only: these units are not repaired.")
    if costs is None:
        return Verdict(
            REFUSED,
            "An exchange is decided from the diagnosis: walk a tree to its fix for this repair "
            "first (there is no estimate yet).",
        )
    why = None
    if costs.tree_says_exchange:
        why = "The diagnosis ends in an exchange."
    elif costs.unavailable:
        why = (
            f"The repair cannot be done: nothing can be ordered for {', '.join(costs.unavailable)}."
        )
    elif costs.total is None:
        return Verdict(
            PENDING,
            f"The repair's cost is not known (no price for {', '.join(costs.missing_prices)}): "
            "an approver decides.",
        )
    elif value is None:
        return Verdict(PENDING, f"No exchange value is known for {unit}: an approver decides.")
    elif costs.total > value:
        why = (
            f"The repair ({_money(costs.total)}) would cost more than the unit's value "
            f"({_money(value)})."
        )
    else:
        return Verdict(
            REFUSED,
            f"The repair ({_money(costs.total)}) costs no more than the unit's value "
            f"({_money(value)}): repair it.",
        )
    if rule.auto_approve:
        return Verdict(APPROVED, why)
    return Verdict(PENDING, f"{why} Exchanges of {rule.scope} are approved by a person.")


# --- rules --------------------------------------------------------------------------------------


def _rule_facts(rule: ExchangeRule) -> RuleFacts:
    scope = rule.model_pattern or f"Product line {rule.product_line}"
    return RuleFacts(
        rule.id,
        scope,
        rule.eligible,
        rule.value,
        rule.exchange_only,
        rule.auto_approve,
        rule.advance,
        rule.core_charge,
        rule.return_days,
    )


def rule_for(session: Session, model_number: str, product_line: str | None) -> ExchangeRule | None:
    """The rule for a model: one whose model glob matches wins over its product line's; among
    equals, the newest."""
    rules = list(session.scalars(select(ExchangeRule).order_by(ExchangeRule.id.desc())))
    for rule in rules:
        if rule.model_pattern and diagnostics.model_matches([rule.model_pattern], model_number):
            return rule
    line = (product_line or "").strip().lower()
    for rule in rules:
        if not rule.model_pattern and line and (rule.product_line or "").lower() == line:
            return rule
    return None


# --- requests -----------------------------------------------------------------------------------


def _standing(session: Session, repair: Repair) -> ExchangeAuthorisation | None:
    return session.scalar(
        select(ExchangeAuthorisation).where(
            ExchangeAuthorisation.repair_id == repair.id,
            ExchangeAuthorisation.status.in_(STANDING),
        )
    )


def _walk_at_fix(session: Session, repair: Repair, walk_id: str | None) -> DiagnosticSession | None:
    """The walk an exchange is judged by: the one named (it must be the repair's), else the
    repair's latest walk that reached a fix or an exchange."""
    attached = [link.ref for link in repair.links if link.kind == LinkKind.WALK]
    if walk_id:
        if walk_id not in attached:
            raise Invalid(
                "That walk is not part of this repair.", errors={"walk": "Attach it first."}
            )
        attached = [walk_id]
    walks = session.scalars(
        select(DiagnosticSession)
        .where(DiagnosticSession.id.in_(attached), DiagnosticSession.outcome.in_((FIX, EXCHANGE)))
        .options(selectinload(DiagnosticSession.revision), selectinload(DiagnosticSession.answers))
        .order_by(DiagnosticSession.updated_at.desc())
    ).all()
    return walks[0] if walks else None


def _inputs(
    session: Session, repair: Repair, walk: DiagnosticSession | None
) -> tuple[dict[str, Any], RuleFacts | None, Costs | None, Decimal | None]:
    """What the decision is made from, as stored for audit, and as the decision reads it."""
    facts = diagnostics.model_facts(session, repair.model_number)
    product_line = facts.product_line if facts else None
    rule = rule_for(session, repair.model_number, product_line)
    rule_facts = _rule_facts(rule) if rule else None
    catalogue_value = facts.exchange_value if facts else None
    value = rule.value if rule and rule.value is not None else catalogue_value
    inputs: dict[str, Any] = {
        "model": repair.model_number,
        "serial": repair.serial,
        "product_line": product_line,
        "purchase_on": repair.purchase_on.isoformat() if repair.purchase_on else None,
        "value": _amount(value),
        "value_source": "rule" if rule and rule.value is not None else "catalogue",
        "rule": None,
        "walk": None,
        "estimate": None,
    }
    if rule_facts is not None:
        inputs["rule"] = {
            "id": rule_facts.id,
            "scope": rule_facts.scope,
            "eligible": rule_facts.eligible,
            "value": _amount(rule_facts.value),
            "exchange_only": rule_facts.exchange_only,
            "auto_approve": rule_facts.auto_approve,
            "advance": rule_facts.advance,
            "core_charge": _amount(rule_facts.core_charge),
            "return_days": rule_facts.return_days,
        }
    costs = None
    if walk is not None:
        centre = session.get(ServiceCentre, repair.centre_id)
        rate = centre.labour_rate if centre else None
        state = diagnostics.state(session, walk, labour_rate=rate)
        estimate = state.estimate
        inputs["walk"] = {
            "id": walk.id,
            "tree": walk.revision.tree_id,
            "revision": walk.revision.number,
            "node": state.node.id,
            "fix": state.node.text,
        }
        if estimate is not None:
            costs = Costs(
                estimate.total,
                state.node.kind == EXCHANGE,
                estimate.unavailable,
                estimate.missing_prices,
            )
            inputs["estimate"] = {
                "parts_total": _amount(estimate.parts_total),
                "labour": _amount(estimate.labour),
                "labour_rate": _amount(rate),
                "total": _amount(estimate.total),
                "catalogue_exchange_value": _amount(estimate.exchange_value),
                "recommend_exchange": estimate.recommend_exchange,
                "missing_prices": list(estimate.missing_prices),
                "unavailable": list(estimate.unavailable),
                "parts": [
                    {"number": line.number, "qty": line.qty, "unit_price": _amount(line.unit_price)}
                    for part in state.parts
                    for line in part.order
                ],
            }
    return inputs, rule_facts, costs, value


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def request_exchange(
    session: Session, repair: Repair, *, by: User, walk_id: str | None = None
) -> tuple[ExchangeAuthorisation, bool]:
    """Ask to exchange a repair's unit; returns the authorisation and whether it is new.

    While one is approved or pending, asking again (a double click, a retry) answers with it:
    one order and one RMA, whatever the timing. A refused request may be asked again (after a
    new walk, say).

    :raises NotAllowed: not the repair's centre.
    :raises Invalid: the repair has ended, or the walk named is not the repair's.
    """
    if not policy.may_work_on(person_of(by), facts_of(repair)):
        raise NotAllowed("Only the repair's own service centre asks for its exchange.")
    standing = _standing(session, repair)
    if standing is not None:
        return standing, False
    if not repair.status.in_progress:
        raise Invalid(
            f"{repair.reference} is {repair.status.label.lower()}: there is nothing to exchange."
        )
    walk = _walk_at_fix(session, repair, walk_id)
    inputs, rule, costs, value = _inputs(session, repair, walk)
    verdict = decide(rule, costs, value=value, unit=_unit(repair, inputs))
    now = utcnow()
    authorisation = ExchangeAuthorisation(
        repair_id=repair.id,
        status=verdict.status,
        reason=verdict.reason,
        inputs=inputs,
        requested_by_id=by.id,
        requested_at=now,
        decided_by=None if verdict.status == PENDING else "rules",
        decided_at=None if verdict.status == PENDING else now,
    )
    try:
        with session.begin_nested():
            session.add(authorisation)
            session.flush()
    except IntegrityError:
        standing = _standing(session, repair)
        if standing is None:
            raise
        return standing, False
    authorisation.number = f"EXA-{now:%Y}-{authorisation.id:06d}"
    repair.events.append(
        _timeline(
            f"Exchange {authorisation.number} {verdict.status.value}: {verdict.reason}",
            by=by.name or by.email,
            at=now,
        )
    )
    if verdict.status == APPROVED:
        _fulfil(session, authorisation, repair, rule, now=now)
    session.flush()
    return authorisation, True


def _unit(repair: Repair, inputs: dict[str, Any]) -> str:
    line = inputs["product_line"]
    return repair.model_number + (f" ({line})" if line else "")


@dataclass(frozen=True)
class Outlook:
    """What a request to exchange a repair's unit would be decided from, and what the rules
    would say if it were sent now: the repair page's "recommend exchange" (it reads the
    programme's value, which may differ from the catalogue's that the walk's estimate uses)."""

    walk_id: str | None
    inputs: dict[str, Any]
    verdict: Verdict

    @property
    def recommended(self) -> bool:
        return self.verdict.status != REFUSED


def outlook(session: Session, repair: Repair) -> Outlook:
    """The decision a request would get now; nothing is stored."""
    walk = _walk_at_fix(session, repair, None)
    inputs, rule, costs, value = _inputs(session, repair, walk)
    verdict = decide(rule, costs, value=value, unit=_unit(repair, inputs))
    return Outlook(walk.id if walk else None, inputs, verdict)


def _timeline(text: str, *, by: str, at: datetime) -> RepairEvent:
    return RepairEvent(kind=EventKind.EXCHANGE, by=by, at=at, text=text)


def _fulfil(
    session: Session,
    authorisation: ExchangeAuthorisation,
    repair: Repair,
    rule: RuleFacts | None,
    *,
    now: datetime,
) -> None:
    """The replacement-unit order and the defective unit's return; the repair is exchanged.

    Called once per authorisation: by the request that approved it, or by the approver whose
    conditional update moved it from pending.
    """
    release = latest_release(session)
    order = Order(
        centre_id=repair.centre_id,
        placed_by_id=authorisation.requested_by_id,
        reference=authorisation.number,
        kind=OrderKind.EXCHANGE,
        job=repair.reference,
        status=OrderStatus.PLACED,
        release_label=release.label if release else "",
        placed_at=now,
        updated_at=now,
    )
    line = OrderLine(
        requested=repair.model_number,
        quantity=1,
        outcome="exchange",
        resolution={
            "requested": repair.model_number,
            "outcome": "exchange",
            "notes": [f"replacement unit for {repair.serial} ({authorisation.number})"],
        },
    )
    # The replacement comes from the exchange stock, not the parts stock: nothing to reserve.
    line.items.append(
        OrderItem(
            part_number=repair.model_number, quantity=1, reserved=1, backordered=0, unit_price=None
        )
    )
    order.lines.append(line)
    session.add(order)
    session.flush()
    authorisation.order_id = order.id
    return_days = rule.return_days if rule else 15
    due_on: date = now.date() + timedelta(days=return_days)
    unit_return = UnitReturn(
        model_number=repair.model_number,
        serial=repair.serial,
        due_on=due_on,
        core_charge=rule.core_charge if rule else None,
    )
    authorisation.unit_return = unit_return
    session.flush()
    unit_return.rma = f"RMA-{now:%Y}-{unit_return.id:06d}"
    charge = (
        f"; a core charge of {_money(unit_return.core_charge)} applies if it has not arrived"
        if unit_return.core_charge is not None
        else ""
    )
    advance = bool(rule and rule.advance)
    repair.events.append(
        _timeline(
            f"Replacement unit ordered (order {order.id}"
            + (
                ", shipping now: advance exchange"
                if advance
                else ", shipping when the unit arrives"
            )
            + f"). Return the defective unit under {unit_return.rma} by {due_on.isoformat()}"
            + charge
            + ".",
            by="Benchside",
            at=now,
        )
    )
    if repair.status.in_progress:
        done = session.execute(
            update(Repair)
            .where(Repair.id == repair.id, Repair.status == repair.status)
            .values(
                status=RepairStatus.EXCHANGED,
                outcome=RepairStatus.EXCHANGED,
                closed_at=repair.closed_at or now,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            session.refresh(repair)
            raise RepairChanged(repair)
        session.refresh(repair)


# --- approvers ----------------------------------------------------------------------------------


def pending(session: Session) -> list[ExchangeAuthorisation]:
    """Requests waiting for an approver, oldest first."""
    return list(
        session.scalars(
            select(ExchangeAuthorisation)
            .where(ExchangeAuthorisation.status == PENDING)
            .options(selectinload(ExchangeAuthorisation.repair))
            .order_by(ExchangeAuthorisation.requested_at)
        )
    )


def authorisation_for(session: Session, user: User, number: str) -> ExchangeAuthorisation:
    """:raises NotFound: none of that number, or not one this person may see."""
    found = session.scalar(
        select(ExchangeAuthorisation).where(ExchangeAuthorisation.number == number.strip().upper())
    )
    if found is None or not policy.sees(person_of(user), facts_of(found.repair)):
        raise NotFound(f"No exchange {number} for you: check the number.")
    return found


def decide_pending(
    session: Session, authorisation: ExchangeAuthorisation, *, by: User, approve: bool, note: str
) -> None:
    """An approver's decision on a pending request (two approvers at once: the first decides).

    :raises NotAllowed: not an approver.
    :raises Invalid: no reason given for a refusal.
    :raises Conflict: it was decided meanwhile, or approved when its repair has ended.
    """
    if not policy.may_decide_exchange(person_of(by)):
        raise NotAllowed("Exchange approvers and admins decide exchanges.")
    note = note.strip()
    if not approve and not note:
        raise Invalid(
            "Say why the exchange is refused: the centre reads it.",
            errors={"note": "Give the reason."},
        )
    repair = authorisation.repair
    if approve and authorisation.status == PENDING and not repair.status.in_progress:
        # The centre ended the repair while the request waited (repaired it, say): a
        # replacement unit now would be sent for a unit that is back with its customer.
        raise Conflict(
            f"{repair.reference} was {repair.status.label.lower()} meanwhile, so it cannot be "
            f"exchanged: refuse {authorisation.number}, saying so."
        )
    now = utcnow()
    name = by.name or by.email
    status = APPROVED if approve else REFUSED
    reason = f"{'Approved' if approve else 'Refused'} by {name}" + (f": {note}" if note else ".")
    done = session.execute(
        update(ExchangeAuthorisation)
        .where(
            ExchangeAuthorisation.id == authorisation.id, ExchangeAuthorisation.status == PENDING
        )
        .values(status=status, decided_by=name, decided_at=now, reason=reason)
        .execution_options(synchronize_session=False)
    )
    session.refresh(authorisation)
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            f"{authorisation.number} was decided meanwhile ({authorisation.status.value}): "
            "nothing was changed."
        )
    repair.events.append(
        _timeline(f"Exchange {authorisation.number} {status.value}: {reason}", by=name, at=now)
    )
    if approve:
        rule_doc = authorisation.inputs.get("rule")
        rule = None
        if rule_doc:
            rule = RuleFacts(
                int(rule_doc["id"]),
                str(rule_doc["scope"]),
                bool(rule_doc["eligible"]),
                _decimal(rule_doc.get("value")),
                bool(rule_doc["exchange_only"]),
                bool(rule_doc["auto_approve"]),
                bool(rule_doc["advance"]),
                _decimal(rule_doc.get("core_charge")),
                int(rule_doc["return_days"]),
            )
        _fulfil(session, authorisation, repair, rule, now=now)
    session.flush()


def _decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def for_repair(session: Session, repair: Repair) -> list[ExchangeAuthorisation]:
    return list(
        session.scalars(
            select(ExchangeAuthorisation)
            .where(ExchangeAuthorisation.repair_id == repair.id)
            .order_by(ExchangeAuthorisation.id)
        )
    )


def charge_overdue(session: Session, *, today: date) -> list[UnitReturn]:
    """Mark the core charge on returns not received by their due date (once each, even when two
    runs overlap or the unit is received at that moment: each mark is a conditional update)."""
    overdue = list(
        session.scalars(
            select(UnitReturn).where(
                UnitReturn.received_on.is_(None),
                UnitReturn.charged_at.is_(None),
                UnitReturn.core_charge.is_not(None),
                UnitReturn.due_on < today,
            )
        )
    )
    now = utcnow()
    charged = []
    for unit_return in overdue:
        done = session.execute(
            update(UnitReturn)
            .where(
                UnitReturn.id == unit_return.id,
                UnitReturn.charged_at.is_(None),
                UnitReturn.received_on.is_(None),
            )
            .values(charged_at=now)
            .execution_options(synchronize_session=False)
        )
        session.refresh(unit_return)
        if done.rowcount == 1:  # type: ignore[attr-defined]
            charged.append(unit_return)
    session.flush()
    return charged


def receive_unit(session: Session, rma: str, *, by: User, on: date) -> UnitReturn:
    """The defective unit arrived (no core charge from then on)."""
    if not policy.may_decide_exchange(person_of(by)):
        raise NotAllowed("Exchange approvers and admins receive returned units.")
    unit_return = session.scalar(select(UnitReturn).where(UnitReturn.rma == rma.strip().upper()))
    if unit_return is None:
        raise NotFound(f"No return {rma}.")
    if unit_return.received_on is None:
        unit_return.received_on = on
        session.flush()
    return unit_return
