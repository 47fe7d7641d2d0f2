"""Walks as JSON documents (the API's, and the data the pages render)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import abort, current_app
from flask_login import current_user

from app.roles import Role
from diagnostics.models import DiagnosticSession
from diagnostics.services import Estimate, PartLine, WalkState
from diagnostics.trees import CHOICE, MEASURE, Limits, Node
from diagnostics.walk import Step
from parts_catalog.documents import amount, resolution_document


def may_change(walk_session: DiagnosticSession) -> bool:
    """Whether the signed-in user may answer, go back or give feedback: the one who started
    the walk, a colleague at the same service centre, or an admin. Anyone signed in may read it
    by its link."""
    if current_user.email == walk_session.started_by or current_user.role == Role.ADMIN:
        return True
    centre_id = getattr(current_user, "centre_id", None)
    return walk_session.centre_id is not None and centre_id == walk_session.centre_id


def require_change(walk_session: DiagnosticSession) -> None:
    if not may_change(walk_session):
        abort(
            403,
            "This walk belongs to another service centre: you can read it by its link, and "
            "start your own from Diagnose.",
        )


def tree_limits() -> Limits:
    """How big a tree document may be (TREE_MAX_BYTES, TREE_MAX_NODES)."""
    config = current_app.config
    return Limits(max_bytes=config["TREE_MAX_BYTES"], max_nodes=config["TREE_MAX_NODES"])


def labour_rate() -> Decimal | None:
    """The signed-in user's centre's labour rate (none for people without a centre)."""
    centre = getattr(current_user, "centre", None)
    rate: Decimal | None = centre.labour_rate if centre is not None else None
    return rate


def node_document(
    node: Node, state: WalkState | None = None, *, release: str = ""
) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": node.id, "kind": node.kind, "text": node.text}
    if node.kind == CHOICE:
        doc["options"] = [o.label for o in node.options]
    if node.kind == MEASURE:
        doc["unit"] = node.unit
        if node.plausible is not None:
            doc["plausible"] = plausible_document(*node.plausible, node.unit)
        doc["ranges"] = [
            {"from": r.low, "below": r.high, "label": r.describe(node.unit)} for r in node.ranges
        ]
    if state is not None and state.node.id == node.id and state.estimate is not None:
        doc["parts"] = [part_document(line, release=release) for line in state.parts]
        doc["labour_minutes"] = node.labour_minutes or 0
        doc["estimate"] = estimate_document(state.estimate)
    return doc


def plausible_document(low: float, high: float, unit: str | None) -> dict[str, Any]:
    u = f" {unit}" if unit else ""
    return {"min": _number(low), "max": _number(high), "label": f"{low:g} to {high:g}{u}"}


def _number(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def part_document(line: PartLine, *, release: str) -> dict[str, Any]:
    return {
        "requested": line.requested,
        "quantity": line.qty,
        "fits_model": line.fits,
        "resolution": resolution_document(line.resolution, release=release),
        "order": [
            {
                "part_number": o.number,
                "quantity": o.qty,
                "unit_price": amount(o.unit_price),
                "currency": o.currency,
                "stock": o.stock,
                "status": o.status,
            }
            for o in line.order
        ],
    }


def estimate_document(estimate: Estimate) -> dict[str, Any]:
    return {
        "parts_total": amount(estimate.parts_total),
        "labour": amount(estimate.labour),
        "total": amount(estimate.total),
        "exchange_value": amount(estimate.exchange_value),
        "recommend_exchange": estimate.recommend_exchange,
        "missing_prices": list(estimate.missing_prices),
        "unavailable": list(estimate.unavailable),
    }


def path_document(path: list[Step]) -> list[dict[str, Any]]:
    return [_step_document(s) for s in path]


def _step_document(step: Step) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "node": step.node,
        "kind": step.kind,
        "text": step.text,
        "answer": step.answer,
    }
    if step.kind == MEASURE:
        # When a value outside the plausible range was confirmed after re-measuring, else null.
        confirmed = step.implausible_confirmed_at
        doc["implausible_confirmed_at"] = confirmed.isoformat() if confirmed else None
    return doc


def session_document(state: WalkState, *, release: str) -> dict[str, Any]:
    walk_session = state.session
    return {
        "id": walk_session.id,
        "tree": state.revision.tree_id,
        "revision": state.revision.number,
        "title": state.tree.title,
        "model": walk_session.model_number,
        "serial": walk_session.serial,
        "code": walk_session.code,
        "started_by": walk_session.started_by,
        "started_at": walk_session.started_at.isoformat(),
        "node": node_document(state.node, state, release=release),
        "path": path_document(state.path),
        "outcome": walk_session.outcome,
        "fixed": walk_session.fixed,
    }
