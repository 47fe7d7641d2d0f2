"""Tables owned by diagnostics.

A tree is named by its slug (``tree_id``) and kept as revisions: draft, published (at most one
per tree), retired. A walk (``DiagnosticSession``) is pinned to the revision it started on and
keeps every answer with its time; going back marks answers as taken back rather than deleting
them, so the page can offer what was answered before.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, MetaData, String, Text, UniqueConstraint, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from parts_catalog.models import NAMING_CONVENTION, NUMBER
from parts_catalog.sqltypes import UTCDateTime

DRAFT, PUBLISHED, RETIRED = "draft", "published", "retired"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TreeRevision(Base):
    __tablename__ = "diagnostic_tree_revisions"
    __table_args__ = (
        UniqueConstraint("tree_id", "number"),
        Index(None, "status", "tree_id"),
        # At most one draft per tree, whatever races.
        Index(
            "uq_diagnostic_tree_revisions_one_draft",
            "tree_id",
            unique=True,
            postgresql_where=text("status = 'draft'"),
            sqlite_where=text("status = 'draft'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_id: Mapped[str] = mapped_column(String(80))
    number: Mapped[int]
    status: Mapped[str] = mapped_column(String(12), default=DRAFT)
    title: Mapped[str] = mapped_column(String(200))
    product_line: Mapped[str | None] = mapped_column(String(40))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped on every save of a draft: a save based on an older version is refused (409), so two
    # engineers never silently overwrite each other.
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    updated_by: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    codes: Mapped[list[TreeCode]] = relationship(
        back_populates="revision", cascade="all, delete-orphan"
    )


class TreeCode(Base):
    """A self-diagnosis code that opens a published revision (kept for lookups by code)."""

    __tablename__ = "diagnostic_tree_codes"

    revision_id: Mapped[int] = mapped_column(
        ForeignKey("diagnostic_tree_revisions.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(40), primary_key=True, index=True)

    revision: Mapped[TreeRevision] = relationship(back_populates="codes")


class DiagnosticSession(Base):
    __tablename__ = "diagnostic_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # unguessable: shared by link
    revision_id: Mapped[int] = mapped_column(ForeignKey("diagnostic_tree_revisions.id"))
    started_by: Mapped[str] = mapped_column(String(254))
    # The starter's service centre (an id, not a key: accounts belong to the web layer): its
    # colleagues may continue the walk; anyone signed in may read it by its link.
    centre_id: Mapped[int | None]
    model_number: Mapped[str | None] = mapped_column(NUMBER)
    serial: Mapped[str | None] = mapped_column(String(40))
    code: Mapped[str | None] = mapped_column(String(40))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(12))  # the terminal's kind, once reached
    fixed: Mapped[bool | None]
    feedback: Mapped[str | None] = mapped_column(Text)
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    revision: Mapped[TreeRevision] = relationship()
    answers: Mapped[list[SessionAnswer]] = relationship(
        back_populates="session", order_by="SessionAnswer.id", cascade="all, delete-orphan"
    )


class SessionAnswer(Base):
    __tablename__ = "diagnostic_session_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("diagnostic_sessions.id", ondelete="CASCADE"), index=True
    )
    node: Mapped[str] = mapped_column(String(80))
    option: Mapped[str | None] = mapped_column(String(200))
    value: Mapped[float | None]
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    taken_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A value outside the node's plausible range, taken only because the technician confirmed
    # it after re-measuring: when they did (None for every other answer).
    implausible_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    session: Mapped[DiagnosticSession] = relationship(back_populates="answers")


class TreeChange(Base):
    """Who did what to a tree, and when: created, saved, uploaded, published, retired."""

    __tablename__ = "diagnostic_tree_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    tree_id: Mapped[str] = mapped_column(String(80), index=True)
    revision: Mapped[int]
    action: Mapped[str] = mapped_column(String(20))
    by: Mapped[str | None] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)
