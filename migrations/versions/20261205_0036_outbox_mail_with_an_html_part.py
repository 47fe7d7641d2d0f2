"""outbox mail with an html part

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-05 08:20:00.000000

A message may carry an HTML alternative beside its text (a ticket's diagnostic path reads as a
table); messages queued before carry none and go out as text, as they always did.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | Sequence[str] | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.add_column(sa.Column("body_html", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages") as batch:
        batch.drop_column("body_html")
