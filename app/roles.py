"""The roles of DESIGN.md; one per account."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.StrEnum):
    TECHNICIAN = "technician"
    CENTRE_MANAGER = "centre_manager"
    ENGINEER = "engineer"
    AGENT_TIER1 = "agent_tier1"
    AGENT_TIER2 = "agent_tier2"
    ADMIN = "admin"
    EXCHANGE_APPROVER = "exchange_approver"
    CLAIM_REVIEWER = "claim_reviewer"

    @property
    def label(self) -> str:
        return {
            Role.TECHNICIAN: "Technician",
            Role.CENTRE_MANAGER: "Service-centre manager",
            Role.ENGINEER: "Product engineer",
            Role.AGENT_TIER1: "Support agent (tier 1)",
            Role.AGENT_TIER2: "Support agent (tier 2)",
            Role.ADMIN: "Administrator",
            Role.EXCHANGE_APPROVER: "Exchange approver",
            Role.CLAIM_REVIEWER: "Warranty claim reviewer",
        }[self]


@dataclass(frozen=True)
class Person:
    """Who acts, as the features' policies see them: the account, its role, its centre."""

    id: int
    role: Role
    centre_id: int | None = None
