"""Tables of notices: the notice with its required parts, what it targets, who it was sent
to, and who acknowledged it when."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import Base, checked


class NoticeKind(enum.StrEnum):
    SERVICE_BULLETIN = "service_bulletin"  # a known fault and its fix
    PART_NOTICE = "part_notice"  # supersession, recall, safety
    POLICY_CHANGE = "policy_change"
    SUPPORT_CHANGE = "support_change"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


class NoticeStatus(enum.StrEnum):
    DRAFT = "draft"
    REVIEWED = "reviewed"  # by a second engineer or an admin; an edit sends it back to draft
    PUBLISHED = "published"
    WITHDRAWN = "withdrawn"


class TargetKind(enum.StrEnum):
    """What a notice is about (product lines, models by glob, parts with their whole chain,
    trees) and whom it is for (centres, roles)."""

    PRODUCT_LINE = "product_line"
    MODEL = "model"
    PART = "part"
    TREE = "tree"
    CENTRE = "centre"
    ROLE = "role"


class Notice(Base):
    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    kind: Mapped[NoticeKind] = mapped_column(checked(NoticeKind, "notice_kind", 20))
    safety: Mapped[bool] = mapped_column(default=False, server_default=false())
    title: Mapped[str] = mapped_column(String(200))
    # The required parts, each its own field (Markdown, sanitised when shown).
    what_changes: Mapped[str] = mapped_column(Text)
    why: Mapped[str] = mapped_column(Text)
    effective_on: Mapped[date]
    what_to_do: Mapped[str] = mapped_column(Text)
    contact: Mapped[str] = mapped_column(Text)
    status: Mapped[NoticeStatus] = mapped_column(
        checked(NoticeStatus, "notice_status", 12), default=NoticeStatus.DRAFT
    )
    version: Mapped[int] = mapped_column(default=1)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reviewed_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    # A bulletin may carry a change published with it: a draft tree revision, and supersession
    # rows imported as a delta release (named by the notice's reference) when it is published.
    carries_tree_id: Mapped[str | None] = mapped_column(String(80))
    carries_tree_revision: Mapped[int | None]
    carries_supersessions: Mapped[list[dict[str, str]] | None] = mapped_column(JSON)
    carried_release: Mapped[str | None] = mapped_column(String(64))

    targets: Mapped[list[NoticeTarget]] = relationship(
        back_populates="notice", order_by="NoticeTarget.id", cascade="all, delete-orphan"
    )


class NoticeTarget(Base):
    __tablename__ = "notice_targets"
    __table_args__ = (UniqueConstraint("notice_id", "kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    kind: Mapped[TargetKind] = mapped_column(checked(TargetKind, "notice_target_kind", 16))
    value: Mapped[str] = mapped_column(String(80))  # as typed; parts and models matched normalised

    notice: Mapped[Notice] = relationship(back_populates="targets")


class NoticeDelivery(Base):
    """A notice sent to one person (once: the unique constraint decides, whatever retries)."""

    __tablename__ = "notice_deliveries"
    __table_args__ = (UniqueConstraint("notice_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    centre_id: Mapped[int | None]
    sent_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]


class NoticeAcknowledgement(Base):
    __tablename__ = "notice_acknowledgements"
    __table_args__ = (UniqueConstraint("notice_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    acknowledged_at: Mapped[datetime]


class NoticeAttachment(Base):
    """A PDF or a picture with a notice: kept in the database, as escalation files are, so that
    every node serves it; part of what is reviewed."""

    __tablename__ = "notice_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int]
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    uploaded_at: Mapped[datetime]
    # Loaded only when the file is downloaded.
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
