"""Add row digests to catalogue versions

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 13:50:41.767758
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_fitment_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_digest", sa.BigInteger(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_catalog_fitment_versions_valid_to"))
        batch_op.create_index(
            "ix_catalog_fitment_versions_valid_to_digest", ["valid_to", "row_digest"], unique=False
        )

    with op.batch_alter_table("catalog_model_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_digest", sa.BigInteger(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_catalog_model_versions_valid_to"))
        batch_op.create_index(
            "ix_catalog_model_versions_valid_to_digest", ["valid_to", "row_digest"], unique=False
        )

    with op.batch_alter_table("catalog_part_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_digest", sa.BigInteger(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_catalog_part_versions_valid_to"))
        batch_op.create_index(
            "ix_catalog_part_versions_valid_to_digest", ["valid_to", "row_digest"], unique=False
        )

    with op.batch_alter_table("catalog_supersession_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("row_digest", sa.BigInteger(), nullable=True))
        batch_op.drop_index(batch_op.f("ix_catalog_supersession_versions_valid_to"))
        batch_op.create_index(
            "ix_catalog_supersession_versions_valid_to_digest",
            ["valid_to", "row_digest"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("catalog_supersession_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_supersession_versions_valid_to_digest")
        batch_op.create_index(
            batch_op.f("ix_catalog_supersession_versions_valid_to"), ["valid_to"], unique=False
        )
        batch_op.drop_column("row_digest")

    with op.batch_alter_table("catalog_part_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_part_versions_valid_to_digest")
        batch_op.create_index(
            batch_op.f("ix_catalog_part_versions_valid_to"), ["valid_to"], unique=False
        )
        batch_op.drop_column("row_digest")

    with op.batch_alter_table("catalog_model_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_model_versions_valid_to_digest")
        batch_op.create_index(
            batch_op.f("ix_catalog_model_versions_valid_to"), ["valid_to"], unique=False
        )
        batch_op.drop_column("row_digest")

    with op.batch_alter_table("catalog_fitment_versions", schema=None) as batch_op:
        batch_op.drop_index("ix_catalog_fitment_versions_valid_to_digest")
        batch_op.create_index(
            batch_op.f("ix_catalog_fitment_versions_valid_to"), ["valid_to"], unique=False
        )
        batch_op.drop_column("row_digest")
