"""one exchange rule and one warranty term per scope

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-05 08:10:00.000000

A product line (in any case) or a model glob has at most one exchange rule and one warranty
term: a ``scope`` column, unique, decides it rather than a look-up that two keepers could pass
at once. Duplicates such a race left behind were dead already (the newest of a scope is the one
read): they are removed before the constraint is made.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | Sequence[str] | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ("exchange_rules", "warranty_terms")


def upgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.add_column(sa.Column("scope", sa.String(length=130), nullable=True))
        rows = sa.table(
            table,
            sa.column("id", sa.Integer),
            sa.column("product_line", sa.String),
            sa.column("model_pattern", sa.String),
            sa.column("scope", sa.String),
        )
        # As app.models.scope_key spells it.
        op.execute(
            sa.update(rows).values(
                scope=sa.case(
                    (
                        sa.func.coalesce(rows.c.model_pattern, "") != "",
                        sa.literal("model:") + rows.c.model_pattern,
                    ),
                    else_=sa.literal("line:")
                    + sa.func.lower(sa.func.coalesce(rows.c.product_line, "")),
                )
            )
        )
        newest = sa.select(sa.func.max(rows.c.id)).group_by(rows.c.scope)
        op.execute(sa.delete(rows).where(rows.c.id.not_in(newest)))
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column("scope", existing_type=sa.String(length=130), nullable=False)
            batch_op.create_unique_constraint(f"uq_{table}_scope", ["scope"])


def downgrade() -> None:
    for table in _TABLES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_constraint(f"uq_{table}_scope", type_="unique")
            batch_op.drop_column("scope")
