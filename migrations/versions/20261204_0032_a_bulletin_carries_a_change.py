"""a bulletin carries a change

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04 18:57:42.389176

A bulletin may carry a change published with it: a draft tree revision, and supersession rows
imported as a delta release named by the notice\'s reference.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | Sequence[str] | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carries_tree_id", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("carries_tree_revision", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("carries_supersessions", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("carried_release", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_column("carried_release")
        batch_op.drop_column("carries_supersessions")
        batch_op.drop_column("carries_tree_revision")
        batch_op.drop_column("carries_tree_id")
