"""The warranty services' settings (built once in ``create_app`` from ``config.py``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class WarrantySettings:
    """:param handling_fee: paid per approved exchange (``WARRANTY_HANDLING_FEE``).
    :param travel_lines: product lines repaired at the customer's, whose claims may carry
        travel (``WARRANTY_TRAVEL_LINES``).
    :param auto_approve_under: claims below this total with no flags are approved by the rules
        (``WARRANTY_AUTO_APPROVE_UNDER``; 0: every claim is reviewed).
    :param redo_days: the window of a duplicate claim for the same serial and fault
        (``REDO_DAYS``).
    :param proof_max_bytes: the largest proof of purchase (``ATTACHMENT_MAX_BYTES``).
    """

    handling_fee: Decimal = Decimal("15.00")
    travel_lines: tuple[str, ...] = ("TV",)
    auto_approve_under: Decimal = Decimal("0")
    redo_days: int = 90
    proof_max_bytes: int = 10 * 1024 * 1024

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> WarrantySettings:
        return cls(
            handling_fee=Decimal(str(config["WARRANTY_HANDLING_FEE"])),
            travel_lines=tuple(config["WARRANTY_TRAVEL_LINES"]),
            auto_approve_under=Decimal(str(config["WARRANTY_AUTO_APPROVE_UNDER"])),
            redo_days=int(config["REDO_DAYS"]),
            proof_max_bytes=int(config["ATTACHMENT_MAX_BYTES"]),
        )
