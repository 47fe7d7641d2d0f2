"""Tables of warranty entitlement: standard terms per product line or model, extended coverage
imported by serial, and the proof of purchase kept with a repair."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    ForeignKey,
    LargeBinary,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import Base, LineOrModelScope, checked


class CoverageKind(enum.StrEnum):
    """What an extended coverage pays for."""

    PARTS_AND_LABOUR = "parts_and_labour"
    PARTS = "parts"
    LABOUR = "labour"


class WarrantyTerm(LineOrModelScope, Base):
    """The standard warranty of a product line, or of models matching a glob (which wins):
    parts and labour may differ, counted in months from the proven purchase date."""

    __tablename__ = "warranty_terms"

    id: Mapped[int] = mapped_column(primary_key=True)
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


class ClaimStatus(enum.StrEnum):
    """A claim is drafted, submitted, then approved, rejected or sent back for information
    (edited and submitted again, the same claim); approved claims are paid in a batch."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"
    NEEDS_INFORMATION = "needs_information"
    PAID = "paid"


class LineKind(enum.StrEnum):
    LABOUR = "labour"
    PART = "part"
    HANDLING = "handling"
    TRAVEL = "travel"


class LabourRate(Base):
    """A flat-rate labour code for a product line and kind of repair, in effect from a date (a
    new amount is a new row: claims are priced at the rate of their repair's date)."""

    __tablename__ = "warranty_labour_rates"
    __table_args__ = (UniqueConstraint("code", "effective_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20))
    product_line: Mapped[str] = mapped_column(String(40))
    repair_kind: Mapped[str] = mapped_column(String(80))
    amount: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    effective_on: Mapped[date]
    updated_by: Mapped[str | None] = mapped_column(String(254))


class PaymentBatch(Base):
    """Approved claims of one centre and period, paid together."""

    __tablename__ = "warranty_payment_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("service_centres.id"), index=True)
    period_from: Mapped[date]
    period_to: Mapped[date]
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    created_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime]


class Claim(Base):
    __tablename__ = "warranty_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    repair_id: Mapped[int] = mapped_column(ForeignKey("repairs.id"), index=True)
    centre_id: Mapped[int] = mapped_column(ForeignKey("service_centres.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    status: Mapped[ClaimStatus] = mapped_column(
        checked(ClaimStatus, "claim_status", 20), default=ClaimStatus.DRAFT
    )
    labour_code: Mapped[str | None] = mapped_column(String(20))
    fault: Mapped[str | None] = mapped_column(String(20))  # the symptom code claimed for
    faulty_serial: Mapped[str | None] = mapped_column(String(40))
    replacement_serial: Mapped[str | None] = mapped_column(String(40))
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Bumped on every edit: a decision or a submission names the version it read.
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None]
    decision_reason: Mapped[str | None] = mapped_column(Text)
    payment_batch_id: Mapped[int | None] = mapped_column(ForeignKey("warranty_payment_batches.id"))

    lines: Mapped[list[ClaimLine]] = relationship(
        back_populates="claim", order_by="ClaimLine.id", cascade="all, delete-orphan"
    )
    events: Mapped[list[ClaimEvent]] = relationship(
        back_populates="claim", order_by="ClaimEvent.id", cascade="all, delete-orphan"
    )


class ClaimLine(Base):
    __tablename__ = "warranty_claim_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(
        ForeignKey("warranty_claims.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[LineKind] = mapped_column(checked(LineKind, "claim_line_kind", 10))
    description: Mapped[str] = mapped_column(String(200))
    part_number: Mapped[str | None] = mapped_column(String(40))
    order_id: Mapped[int | None]
    quantity: Mapped[int] = mapped_column(default=1)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    faulty_serial: Mapped[str | None] = mapped_column(String(40))
    replacement_serial: Mapped[str | None] = mapped_column(String(40))

    claim: Mapped[Claim] = relationship(back_populates="lines")


class ClaimEvent(Base):
    """The claim's history: created, edited, submitted, decided, paid; nothing is overwritten."""

    __tablename__ = "warranty_claim_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(
        ForeignKey("warranty_claims.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime]
    by: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)

    claim: Mapped[Claim] = relationship(back_populates="events")
