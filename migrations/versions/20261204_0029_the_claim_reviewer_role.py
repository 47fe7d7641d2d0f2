"""the claim reviewer role

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-04 18:06:00.000000

Warranty claims are decided by a claim reviewer (or an admin): one more value of the users'
checked role.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | Sequence[str] | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROLES = (
    "technician",
    "centre_manager",
    "engineer",
    "agent_tier1",
    "agent_tier2",
    "admin",
    "exchange_approver",
)


def _check_roles(allowed: tuple[str, ...]) -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_users_role"), type_="check")
        batch_op.create_check_constraint(op.f("ck_users_role"), sa.column("role").in_(allowed))


def upgrade() -> None:
    _check_roles((*ROLES, "claim_reviewer"))


def downgrade() -> None:
    users = sa.table("users", sa.column("role", sa.String))
    reviewers = op.get_bind().scalar(
        sa.select(sa.func.count()).select_from(users).where(users.c.role == "claim_reviewer")
    )
    if reviewers:
        raise RuntimeError(
            f"Cannot downgrade: {reviewers} claim reviewers exist; give them another role first."
        )
    _check_roles(ROLES)
