"""Repairs, histories and exchange authorisations as JSON documents (the API's shapes).

What a viewer may not see is left out here, once, for every answer: another centre's customer
details and complaint are ``null`` (the keys stay, so a client reads one shape), and another
centre's references are ``null``.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations.models import Ticket
from app.orders.models import Order
from app.repairs import exchange, policy, services
from app.repairs.models import (
    EventKind,
    ExchangeAuthorisation,
    LinkKind,
    Repair,
    RepairLink,
    UnitReturn,
)
from app.repairs.services import PartEntry, RepairEntry, UnitHistory, WalkEntry
from diagnostics import services as diagnostics
from diagnostics.errors import UnknownSession
from parts_catalog.documents import amount

API = "/api/v1"


def _iso(value: Any) -> str | None:
    return None if value is None else str(value.isoformat())


def repair_url(reference: str) -> str:
    return f"{API}/repairs/{reference}"


def repair_summary(repair: Repair) -> dict[str, Any]:
    """What opening a repair answers: enough to follow it."""
    return {
        "id": repair.id,
        "reference": repair.reference,
        "status": repair.status.value,
        "redo_of": repair.redo_of.reference if repair.redo_of else None,
        "model_number": repair.model_number,
        "serial": repair.serial,
        "links": {
            "self": repair_url(repair.reference or ""),
            "history": f"{API}/serials/{repair.model_number}/{repair.serial_norm}/history",
            "exchange": f"{repair_url(repair.reference or '')}/exchange",
        },
    }


def _link_document(session: Session, link: RepairLink) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "kind": link.kind.value,
        "ref": link.ref,
        "linked_by": link.linked_by,
        "linked_at": _iso(link.linked_at),
    }
    if link.kind == LinkKind.WALK:
        doc["url"] = f"{API}/diagnostics/sessions/{link.ref}"
        try:
            walk = diagnostics.get(session, link.ref)
        except UnknownSession:
            return doc
        doc.update(
            tree=walk.revision.tree_id,
            title=walk.revision.title,
            outcome=walk.outcome,
            at=diagnostics.position(walk).text,
            fixed=walk.fixed,
        )
    elif link.kind == LinkKind.ORDER:
        doc["url"] = f"{API}/orders/{link.ref}"
        order = session.get(Order, int(link.ref)) if link.ref.isdigit() else None
        if order is not None:
            doc.update(kind_of_order=order.kind.value, status=order.status.value)
    else:
        doc["url"] = f"{API}/escalations/{link.ref}"
        ticket = ticket_of(session, link.ref)
        if ticket is not None:
            doc.update(subject=ticket.subject, status=ticket.status.value)
    return doc


def ticket_of(session: Session, reference: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.reference == reference))


def return_document(unit_return: UnitReturn | None) -> dict[str, Any] | None:
    if unit_return is None:
        return None
    return {
        "rma": unit_return.rma,
        "model_number": unit_return.model_number,
        "serial": unit_return.serial,
        "due_on": _iso(unit_return.due_on),
        "core_charge": amount(unit_return.core_charge),
        "received_on": _iso(unit_return.received_on),
        "charged_at": _iso(unit_return.charged_at),
    }


def authorisation_document(authorisation: ExchangeAuthorisation) -> dict[str, Any]:
    """An exchange request, its decision and what the decision was made from."""
    repair = authorisation.repair
    return {
        "authorisation": authorisation.number,
        "repair": repair.reference,
        "status": authorisation.status.value,
        "reason": authorisation.reason,
        "inputs": authorisation.inputs,
        "requested_at": _iso(authorisation.requested_at),
        "decided_by": authorisation.decided_by,
        "decided_at": _iso(authorisation.decided_at),
        "order": (
            {"id": authorisation.order_id, "url": f"{API}/orders/{authorisation.order_id}"}
            if authorisation.order_id is not None
            else None
        ),
        "rma": return_document(authorisation.unit_return),
    }


def repair_document(session: Session, repair: Repair, *, viewer: User) -> dict[str, Any]:
    """A repair with its timeline, what is attached to it, its redos and its exchanges; the
    customer's details only for its own centre (and admins)."""
    person = services.person_of(viewer)
    customer = policy.sees_customer(person, services.facts_of(repair))
    return {
        **repair_summary(repair),
        "centre_id": repair.centre_id,
        "purchase_date": _iso(repair.purchase_on),
        # The complaint's free text may name the customer: like the customer's details, it
        # stays with the centre (an approver decides from the estimate and the walk).
        "complaint": repair.complaint if customer else None,
        "symptom_code": repair.symptom_code,
        "customer_name": repair.customer_name if customer else None,
        "customer_contact": repair.customer_contact if customer else None,
        "outcome": repair.outcome.value if repair.outcome else None,
        "opened_at": _iso(repair.opened_at),
        "updated_at": _iso(repair.updated_at),
        "closed_at": _iso(repair.closed_at),
        "redone_by": [r.reference for r in services.redone_by(session, repair)],
        "timeline": [
            {
                "kind": e.kind.value,
                "by": e.by,
                "at": _iso(e.at),
                # The opening line quotes the complaint.
                "text": e.text if customer or e.kind != EventKind.OPENED else "Opened.",
            }
            for e in repair.events
        ],
        "attached": [_link_document(session, link) for link in repair.links],
        "exchanges": [authorisation_document(a) for a in exchange.for_repair(session, repair)],
    }


def _walk_document(walk: WalkEntry) -> dict[str, Any]:
    return {
        "id": walk.id if walk.own else None,
        "tree": walk.tree,
        "started_at": _iso(walk.started_at),
        "outcome": walk.outcome,
        "end": walk.end,
        "fixed": walk.fixed,
        "own": walk.own,
    }


def _part_document(part: PartEntry) -> dict[str, Any]:
    return {
        "part_number": part.part_number,
        "quantity": part.quantity,
        "ordered_at": _iso(part.ordered_at),
        "order": part.order_id,
    }


def _entry_document(entry: RepairEntry) -> dict[str, Any]:
    return {
        "reference": entry.reference,
        "centre": entry.centre,
        "own": entry.own,
        "opened_at": _iso(entry.opened_at),
        "closed_at": _iso(entry.closed_at),
        "status": entry.status.value,
        "outcome": entry.outcome.value if entry.outcome else None,
        "symptom_code": entry.symptom_code,
        "complaint": entry.complaint,
        "customer_name": entry.customer_name,
        "customer_contact": entry.customer_contact,
        "redo": entry.redo,
        "redo_of": entry.redo_of,
        "walks": [_walk_document(w) for w in entry.walks],
        "parts": [_part_document(p) for p in entry.parts],
        "exchanges": [
            {
                "authorisation": x.number,
                "status": x.status,
                "requested_at": _iso(x.requested_at),
                "rma": x.rma,
            }
            for x in entry.exchanges
        ],
    }


def history_document(found: UnitHistory) -> dict[str, Any]:
    """A unit's history as :func:`app.repairs.services.history` shaped it for its viewer."""
    return {
        "model_number": found.model_number,
        "serial": found.serial,
        "known_model": found.known_model,
        "repairs": [_entry_document(e) for e in found.repairs],
        "walks": [_walk_document(w) for w in found.walks],
    }
