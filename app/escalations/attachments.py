"""Files sent with an escalation: the type decided by the content, not by the name; limits on
size and count; kept in the database, so that every node serves them."""

from __future__ import annotations

import codecs
import re
import secrets
from pathlib import Path
from typing import IO

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations.models import Attachment, Ticket
from app.exceptions import Invalid, NotFound
from app.storable import CONTROL
from parts_catalog.sqltypes import utcnow

MAX_PER_TICKET = 5
# What a technician sends: photos, logs, PDFs. Decided from the first bytes.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)


#: A text file may not pass for what a browser would render: a name promising a photo or a PDF,
#: or content that is a web page or an SVG drawing.
NAMED_BINARY = frozenset({".jpg", ".jpeg", ".png", ".gif", ".pdf", ".svg", ".webp", ".bmp"})
MARKUP = re.compile(r"\s*(?:\ufeff)?\s*<(?:!doctype|html|svg|\?xml|script|body|head|iframe)", re.I)


class Refused(Invalid):
    """A file that cannot be attached; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, errors={"files": message})


class TooMany(Refused):
    """The escalation already has its files."""

    def __init__(self) -> None:
        super().__init__(f"At most {MAX_PER_TICKET} files with one escalation.")


def _hold(session: Session, column: ColumnElement[int], value: int) -> None:
    """Lock one row until the transaction ends, so that the files of one owner are counted and
    added one request at a time. An UPDATE that changes nothing does it on PostgreSQL (a row
    lock) and on SQLite (the first write serialises writers), where FOR UPDATE is ignored."""
    table = column.table
    session.execute(update(table).where(column == value).values({column.key: column}))


def _count(session: Session, user: User, ticket: Ticket | None) -> int:
    """Files on ``ticket``, or (None) the user's files waiting for their next escalation; the
    owner's row is locked first (see :func:`_hold`)."""
    if ticket is not None:
        _hold(session, Ticket.__table__.c.id, ticket.id)
        where = Attachment.ticket_id == ticket.id
    else:
        _hold(session, User.__table__.c.id, user.id)
        where = (Attachment.user_id == user.id) & Attachment.ticket_id.is_(None)
    return session.scalar(select(func.count()).select_from(Attachment).where(where)) or 0


def kind_of(head: bytes) -> str | None:
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    try:
        # Incremental: the sample may end inside a character that the next byte completes.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return None
    return "text/plain" if b"\x00" not in head else None


def store(
    session: Session, user: User, stream: IO[bytes], filename: str, *, limit: int
) -> Attachment:
    """Keep one uploaded file for the user's next escalation (at most ``limit`` bytes; no more
    than one byte beyond it is read).

    :raises Refused: too large, of a type that is not a photo, a log or a PDF, or one too many.
    """
    return keep(session, user, stream.read(limit + 1), filename, limit=limit)


def keep(
    session: Session,
    user: User,
    data: bytes,
    filename: str,
    *,
    limit: int,
    ticket: Ticket | None = None,
) -> Attachment:
    """Check one file's size and type and store it, for the user's next escalation or, given
    ``ticket``, with that ticket (a file that came by mail).

    :raises Refused: too large, empty, or of a type that is not a photo, a log or a PDF.
    :raises TooMany: the escalation (or the one being written) has its files already.
    """
    if len(data) > limit:
        raise Refused(f"“{filename}” is larger than {_size(limit)}.")
    if not data:
        raise Refused(f"“{filename}” is empty.")
    content_type = kind_of(data[:4096])
    if content_type is None:
        raise Refused(f"“{filename}” is not a photo (JPEG, PNG), a text log or a PDF.")
    if content_type == "text/plain":
        if Path(filename).suffix.lower() in NAMED_BINARY:
            raise Refused(f"“{filename}” is named as a photo or a PDF but is text.")
        if MARKUP.match(data[:4096].decode("utf-8", errors="replace")):
            raise Refused(f"“{filename}” is a web page or a drawing, not a log.")
    # Counted under the owner's lock, held until commit: twenty parallel uploads kept eleven.
    if _count(session, user, ticket) >= MAX_PER_TICKET:
        raise TooMany()
    attachment = Attachment(
        token=secrets.token_hex(16),
        content=data,
        user_id=user.id,
        ticket_id=ticket.id if ticket is not None else None,
        filename=CONTROL.sub("", Path(filename.replace("\\", "/")).name)[:200] or "file",
        content_type=content_type,
        size=len(data),
        uploaded_at=utcnow(),
    )
    session.add(attachment)
    session.flush()
    return attachment


def _size(n: int) -> str:
    return f"{n / 1048576:g} MB" if n >= 1048576 else f"{n / 1024:g} KB"


def send_with(session: Session, user: User, ticket: Ticket) -> list[Attachment]:
    """The user's waiting files go with their new escalation (under the same lock as uploads:
    one that arrives meanwhile waits for the next escalation)."""
    _hold(session, User.__table__.c.id, user.id)
    files = waiting_for(session, user)[:MAX_PER_TICKET]
    for attachment in files:
        attachment.ticket_id = ticket.id
    session.flush()
    return files


def waiting_for(session: Session, user: User) -> list[Attachment]:
    """Files uploaded for the escalation being written (kept across an error or a reload)."""
    return list(
        session.scalars(
            select(Attachment)
            .where(Attachment.user_id == user.id, Attachment.ticket_id.is_(None))
            .order_by(Attachment.id)
        )
    )


def remove(session: Session, user: User, attachment_id: int) -> None:
    """Take back a file the user uploaded for the escalation being written.

    :raises NotFound: no such file of theirs, or it went with an escalation already.
    """
    found = session.get(Attachment, attachment_id)
    if found is None or found.user_id != user.id or found.ticket_id is not None:
        raise NotFound("There is no such file waiting for your escalation.")
    session.delete(found)
    session.flush()


def of_ticket(session: Session, ticket: Ticket) -> list[Attachment]:
    """The files sent with ``ticket``, in the order they came."""
    return list(
        session.scalars(
            select(Attachment).where(Attachment.ticket_id == ticket.id).order_by(Attachment.id)
        )
    )


def one_of(session: Session, ticket: Ticket, attachment_id: int) -> Attachment:
    """One file of ``ticket`` (the caller has checked that the ticket may be seen).

    :raises NotFound: the ticket has no such file.
    """
    found = session.get(Attachment, attachment_id)
    if found is None or found.ticket_id != ticket.id:
        raise NotFound("There is nothing at this address. Check it, or start again from the menu.")
    return found


def content_of(attachment: Attachment, upload_dir: Path) -> bytes:
    """The file's bytes (from the database; files from before migration 0015 from
    ``upload_dir``)."""
    if attachment.content is not None:
        return attachment.content
    return (upload_dir / "escalations" / attachment.token).read_bytes()
