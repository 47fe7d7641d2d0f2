"""Escalation tickets: what the technician sent, where it is in the tiers, its response targets,
and a timeline of public replies, internal notes and events."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models import Base, checked


class TicketStatus(enum.StrEnum):
    """Where a ticket is: open (its clock running), waiting on the technician (the clock
    standing still), resolved. ``new`` is a ticket being opened."""

    NEW = "new"
    OPEN = "open"
    WAITING = "waiting_on_technician"
    RESOLVED = "resolved"


class Tier(enum.StrEnum):
    """Who answers: tier 1, then tier 2, then engineering."""

    TIER1 = "tier1"
    TIER2 = "tier2"
    ENGINEERING = "engineering"


class Priority(enum.StrEnum):
    NORMAL = "normal"
    URGENT = "urgent"


class EventKind(enum.StrEnum):
    """What a line of a ticket's timeline is."""

    MESSAGE = "message"  # the technician's (the first is the description)
    REPLY = "reply"  # an agent's public answer
    NOTE = "note"  # internal
    EVENT = "event"  # escalated, assigned, resolved...
    CONSULT = "consult"  # tier 2 asks engineering (internal)
    ADVICE = "advice"  # engineering answers (internal)


CATEGORIES = ("technical", "parts", "warranty", "other")
PRIORITIES = tuple(Priority)
TIERS = tuple(Tier)
NEW, OPEN = TicketStatus.NEW, TicketStatus.OPEN
WAITING, RESOLVED = TicketStatus.WAITING, TicketStatus.RESOLVED


class Ticket(Base):
    __tablename__ = "escalation_tickets"
    __table_args__ = (UniqueConstraint("author_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str | None] = mapped_column(String(20), unique=True)
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20))
    priority: Mapped[Priority] = mapped_column(
        checked(Priority, "ticket_priority", 10), default=Priority.NORMAL
    )
    status: Mapped[TicketStatus] = mapped_column(
        checked(TicketStatus, "ticket_status", 24), default=NEW
    )
    tier: Mapped[Tier] = mapped_column(checked(Tier, "ticket_tier", 12), default=Tier.TIER1)
    product_line: Mapped[str | None] = mapped_column(String(40))
    model_number: Mapped[str] = mapped_column(String(40))
    serial: Mapped[str | None] = mapped_column(String(40))
    diagnostic_session: Mapped[str | None] = mapped_column(String(32))
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # e.g. the diagnostic path
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    centre_id: Mapped[int | None] = mapped_column(ForeignKey("service_centres.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(80))
    # What the key was sent with (app.idempotency.fingerprint); None before migration 0024.
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    first_response_due: Mapped[datetime]
    resolution_due: Mapped[datetime]
    first_responded_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    # While the ticket waits for the technician its clock stands still: the working time spent
    # waiting is added to the resolution target when the technician answers.
    paused_at: Mapped[datetime | None]
    # The assignee was reminded of the coming target (once per target).
    reminded_at: Mapped[datetime | None]
    # Tier 2 asked engineering and awaits the answer; the ticket stays in tier 2 meanwhile.
    consult_since: Mapped[datetime | None]

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.id", cascade="all, delete-orphan"
    )


class TicketEvent(Base):
    """A public reply, an internal note (never shown or mailed to the technician), or an event
    (escalated, assigned, status changed)."""

    __tablename__ = "escalation_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("escalation_tickets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EventKind] = mapped_column(checked(EventKind, "event_kind", 12))
    public: Mapped[bool]
    author: Mapped[str] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class EscalationDraft(Base):
    """What a technician has typed into the form so far, saved every few seconds: the browser's
    storage alone does not survive a crash."""

    __tablename__ = "escalation_drafts"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    # One draft per walk ("" for none): a second walk's prefill never overwrites the first's text.
    diagnostic_session: Mapped[str] = mapped_column(
        String(32), primary_key=True, default="", server_default=""
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_at: Mapped[datetime]


class InboundMail(Base):
    """Every message handed to ``mail ingest``, stored raw before anything else happens to it."""

    __tablename__ = "inbound_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    sender: Mapped[str | None] = mapped_column(String(254))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime]
    # threaded, opened, ignored, unknown_sender, held, accepted, rejected, refused: ...
    outcome: Mapped[str] = mapped_column(String(40))
    # The ticket it went into, or (held) the ticket it names.
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("escalation_tickets.id"))
    # The agent who accepted or rejected a held message, and when.
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]


class Attachment(Base):
    """A file sent with an escalation: uploaded on its own (a file refused never touches the
    text), kept in the database (never under the web root, and on every node alike), and tied
    to the ticket on submit."""

    __tablename__ = "escalation_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)  # the stored file's name
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    ticket_id: Mapped[int | None] = mapped_column(
        ForeignKey("escalation_tickets.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int]
    uploaded_at: Mapped[datetime]
    # Loaded only when the file is downloaded. Files from before migration 0015 have none and
    # are read from UPLOAD_DIR under ``token``.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
