"""Tables of warranty entitlement: standard terms per product line or model, extended coverage
imported by serial, and the proof of purchase kept with a repair."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models import Base, checked


class CoverageKind(enum.StrEnum):
    """What an extended coverage pays for."""

    PARTS_AND_LABOUR = "parts_and_labour"
    PARTS = "parts"
    LABOUR = "labour"


class WarrantyTerm(Base):
    """The standard warranty of a product line, or of models matching a glob (which wins):
    parts and labour may differ, counted in months from the proven purchase date."""

    __tablename__ = "warranty_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_line: Mapped[str | None] = mapped_column(String(40))
    model_pattern: Mapped[str | None] = mapped_column(String(80))
    parts_months: Mapped[int]
    labour_months: Mapped[int]
    updated_by: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime]


class CoverageImport(Base):
    """One CSV of extended coverage, as imported (kept: each row names its import)."""

    __tablename__ = "warranty_coverage_imports"

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(200))
    rows: Mapped[int]
    imported_by: Mapped[str] = mapped_column(String(254))
    imported_at: Mapped[datetime]


class ExtendedCoverage(Base):
    """Coverage beyond the standard term for a serial or a serial range of a model."""

    __tablename__ = "warranty_coverage"

    id: Mapped[int] = mapped_column(primary_key=True)
    import_id: Mapped[int] = mapped_column(
        ForeignKey("warranty_coverage_imports.id", ondelete="CASCADE"), index=True
    )
    model_norm: Mapped[str] = mapped_column(String(40), index=True)
    model_number: Mapped[str] = mapped_column(String(40))
    serial_from: Mapped[str] = mapped_column(String(40))  # normalised; a single serial: both ends
    serial_to: Mapped[str] = mapped_column(String(40))
    ends_on: Mapped[date]
    kind: Mapped[CoverageKind] = mapped_column(checked(CoverageKind, "coverage_kind", 20))
    note: Mapped[str | None] = mapped_column(String(200))


class PurchaseProof(Base):
    """The proof of purchase of a repair's unit (a receipt or an invoice: PDF or a photo)."""

    __tablename__ = "warranty_purchase_proofs"

    id: Mapped[int] = mapped_column(primary_key=True)
    repair_id: Mapped[int] = mapped_column(ForeignKey("repairs.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_by: Mapped[str] = mapped_column(String(254))
    uploaded_at: Mapped[datetime]
