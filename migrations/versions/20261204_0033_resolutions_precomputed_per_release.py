"""resolutions precomputed per release

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04 23:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | Sequence[str] | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "catalog_resolution_versions",
        sa.Column("number_norm", sa.String(length=40), nullable=False),
        sa.Column("valid_from", sa.Integer(), nullable=False),
        sa.Column("valid_to", sa.Integer(), nullable=True),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "number_norm", "valid_from", name=op.f("pk_catalog_resolution_versions")
        ),
    )
    # Releases imported before are resolved by walking their rows, as before: the next import
    # computes every answer.
    with op.batch_alter_table("catalog_releases", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("precomputed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("catalog_releases", schema=None) as batch_op:
        batch_op.drop_column("precomputed")
    op.drop_table("catalog_resolution_versions")
