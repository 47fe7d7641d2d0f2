"""Orders as JSON documents (the API's)."""

from __future__ import annotations

from typing import Any

from app.orders.models import Order, ReturnRequest
from parts_catalog.documents import amount


def order_document(order: Order) -> dict[str, Any]:
    return {
        "id": order.id,
        "reference": order.reference,
        "status": order.status,
        "kind": order.kind,
        "job": order.job,
        "release": order.release_label,
        "placed_at": order.placed_at.isoformat(),
        "total": amount(order.total),
        "currency": order.currency,
        "lines": [
            {
                "requested": line.requested,
                "quantity": line.quantity,
                "outcome": line.outcome,
                "resolution": line.resolution,
                "acknowledged_conditions": line.acknowledged,
                "items": [
                    {
                        "id": item.id,
                        "part_number": item.part_number,
                        "quantity": item.quantity,
                        "reserved": item.reserved,
                        "backordered": item.backordered,
                        "unit_price": amount(item.unit_price),
                    }
                    for item in line.items
                ],
            }
            for line in order.lines
        ],
    }


def return_document(request: ReturnRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "item": request.item_id,
        "part_number": request.item.part_number,
        "quantity": request.quantity,
        "reason": request.reason,
        "status": request.status,
        "erratum": request.erratum_id,
    }
