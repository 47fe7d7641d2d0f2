"""The catalogue's answers as plain JSON-ready dicts: one shape for the API and the CLI."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from parts_catalog.services import Fitment, PartInfo, ReleaseDiff
from parts_catalog.supersession import Edge, Resolution


def amount(value: Decimal | None) -> str | None:
    """Money as the API writes it: a string with two decimals (never a float)."""
    return None if value is None else f"{value:.2f}"


def edge_document(edge: Edge) -> dict[str, Any]:
    return {
        "old": edge.old_number,
        "new": edge.new_number,
        "quantity": edge.quantity,
        "interchangeability": edge.interchangeability,
        "effective_on": edge.effective_on.isoformat() if edge.effective_on else None,
        "note": edge.note,
        "serial_from": edge.serial_from,
        "serial_to": edge.serial_to,
    }


def resolution_document(resolution: Resolution, *, release: str) -> dict[str, Any]:
    return {
        "requested": resolution.requested,
        "known": resolution.known,
        "outcome": resolution.outcome,
        "release": release,
        "chain": [edge_document(edge) for edge in resolution.chain],
        "result": [
            {
                "part_number": item.part_number,
                "quantity": item.quantity,
                "status": item.status,
                "condition": item.condition,
                "safety_critical": item.safety_critical,
            }
            for item in resolution.result
        ],
        "notes": list(resolution.notes),
        "requires_confirmation": resolution.requires_confirmation,
    }


def part_document(part: PartInfo) -> dict[str, Any]:
    return {
        "part_number": part.number,
        "normalised": part.number_norm,
        "description": part.description,
        "category": part.category,
        "unit_price": amount(part.unit_price),
        "currency": part.currency,
        "status": part.status,
        "safety_critical": part.safety_critical,
        "listed": part.listed,
    }


def fitment_document(fitment: Fitment) -> dict[str, Any]:
    return {
        "model_number": fitment.model_number,
        "model_name": fitment.model_name,
        "product_line": fitment.product_line,
        "part_number": fitment.part_number,
        "description": fitment.part_description,
        "ref_no": fitment.ref_no,
        "diagram": fitment.diagram,
        "quantity": fitment.quantity,
        "serial_from": fitment.serial_from,
        "serial_to": fitment.serial_to,
        "safety_critical": fitment.safety_critical,
    }


def _plain(value: object) -> object:
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return value


def diff_document(diff: ReleaseDiff) -> dict[str, Any]:
    return {
        "from": diff.old,
        "to": diff.new,
        "counts": diff.counts,
        "added": [part_document(p) for p in diff.added],
        "removed": [part_document(p) for p in diff.removed],
        "changed": [
            {
                "part_number": change.number,
                "fields": {
                    name: {"from": _plain(before), "to": _plain(after)}
                    for name, (before, after) in change.fields.items()
                },
            }
            for change in diff.changed
        ],
        "newly_superseded": [edge_document(edge) for edge in diff.newly_superseded],
    }
