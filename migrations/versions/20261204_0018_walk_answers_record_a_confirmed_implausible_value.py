"""walk answers record a confirmed implausible value

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 11:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("diagnostic_session_answers", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "implausible_confirmed_at",
                parts_catalog.sqltypes.UTCDateTime(timezone=True),
                nullable=True,
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("diagnostic_session_answers", schema=None) as batch_op:
        batch_op.drop_column("implausible_confirmed_at")
