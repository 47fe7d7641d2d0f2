"""warranty terms, extended coverage and proofs of purchase

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-04 17:48:07.865849

Warranty entitlement (issue 17): standard terms per product line or model glob, extended
coverage imported by serial or serial range, and the proof of purchase kept with a repair.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import parts_catalog.sqltypes

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warranty_coverage_imports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("imported_by", sa.String(length=254), nullable=False),
        sa.Column("imported_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warranty_coverage_imports")),
    )
    op.create_table(
        "warranty_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("product_line", sa.String(length=40), nullable=True),
        sa.Column("model_pattern", sa.String(length=80), nullable=True),
        sa.Column("parts_months", sa.Integer(), nullable=False),
        sa.Column("labour_months", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.String(length=254), nullable=True),
        sa.Column("updated_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warranty_terms")),
    )
    op.create_table(
        "warranty_coverage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("import_id", sa.Integer(), nullable=False),
        sa.Column("model_norm", sa.String(length=40), nullable=False),
        sa.Column("model_number", sa.String(length=40), nullable=False),
        sa.Column("serial_from", sa.String(length=40), nullable=False),
        sa.Column("serial_to", sa.String(length=40), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "parts_and_labour",
                "parts",
                "labour",
                name="coverage_kind",
                native_enum=False,
                create_constraint=True,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["import_id"],
            ["warranty_coverage_imports.id"],
            name=op.f("fk_warranty_coverage_import_id_warranty_coverage_imports"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warranty_coverage")),
    )
    with op.batch_alter_table("warranty_coverage", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_warranty_coverage_import_id"), ["import_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_warranty_coverage_model_norm"), ["model_norm"], unique=False
        )

    op.create_table(
        "warranty_purchase_proofs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("repair_id", sa.Integer(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=80), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=254), nullable=False),
        sa.Column("uploaded_at", parts_catalog.sqltypes.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["repair_id"],
            ["repairs.id"],
            name=op.f("fk_warranty_purchase_proofs_repair_id_repairs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warranty_purchase_proofs")),
    )
    with op.batch_alter_table("warranty_purchase_proofs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_warranty_purchase_proofs_repair_id"), ["repair_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("warranty_purchase_proofs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warranty_purchase_proofs_repair_id"))

    op.drop_table("warranty_purchase_proofs")
    with op.batch_alter_table("warranty_coverage", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_warranty_coverage_model_norm"))
        batch_op.drop_index(batch_op.f("ix_warranty_coverage_import_id"))

    op.drop_table("warranty_coverage")
    op.drop_table("warranty_terms")
    op.drop_table("warranty_coverage_imports")
