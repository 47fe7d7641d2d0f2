"""Files with a notice: PDFs and pictures (JPEG, PNG), the type decided by the content, not the
name; kept in the database. A file is part of what is reviewed: adding or removing one sends a
reviewed notice back to draft, and a published notice's files no longer change."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations.attachments import kind_of
from app.exceptions import Conflict, Invalid, NotAllowed, NotFound
from app.models import utcnow
from app.notices import policy
from app.notices.models import Notice, NoticeAttachment, NoticeStatus
from app.notices.services import person_of
from app.storable import CONTROL

MAX_PER_NOTICE = 10
KINDS = {"application/pdf": "PDF", "image/jpeg": "JPEG", "image/png": "PNG"}


class Refused(Invalid):
    """A file that cannot be attached; the message says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message, errors={"file": message})


def _changing(session: Session, notice: Notice, *, by: User) -> None:
    """Claim the notice for a change of its files: a draft stays one, a reviewed notice goes
    back to draft (its review was of other files). The row is locked (PostgreSQL) or the
    database's write lock taken (SQLite) until commit, so files are counted one request at a
    time.

    :raises Conflict: published or withdrawn meanwhile.
    """
    if not policy.may_write(person_of(by)):
        raise NotAllowed("Engineers and admins attach files to notices.")
    done = session.execute(
        update(Notice)
        .where(
            Notice.id == notice.id,
            Notice.status.in_((NoticeStatus.DRAFT, NoticeStatus.REVIEWED)),
        )
        .values(
            status=NoticeStatus.DRAFT,
            reviewed_by_id=None,
            reviewed_at=None,
            version=Notice.version + 1,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(notice)
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(
            f"{notice.reference} is {notice.status.value}: its files no longer change "
            "(write a new notice)."
        )


def attach(
    session: Session, notice: Notice, *, by: User, filename: str, data: bytes, limit: int
) -> NoticeAttachment:
    """Keep one file with a draft (or reviewed) notice.

    :raises Refused: empty, larger than ``limit`` bytes, not a PDF, JPEG or PNG, or one file
        too many.
    :raises Conflict: the notice is published.
    """
    if len(data) > limit:
        raise Refused(f"“{filename}” is larger than {limit / 1048576:g} MB.")
    if not data:
        raise Refused(f"“{filename}” is empty.")
    content_type = kind_of(data[:4096])
    if content_type not in KINDS:
        raise Refused(f"“{filename}” is not a PDF or a picture (JPEG, PNG).")
    _changing(session, notice, by=by)
    count = session.scalar(
        select(func.count())
        .select_from(NoticeAttachment)
        .where(NoticeAttachment.notice_id == notice.id)
    )
    if (count or 0) >= MAX_PER_NOTICE:
        raise Refused(f"At most {MAX_PER_NOTICE} files with one notice.")
    attachment = NoticeAttachment(
        notice_id=notice.id,
        filename=CONTROL.sub("", Path(filename.replace("\\", "/")).name)[:200] or "file",
        content_type=content_type,
        size=len(data),
        uploaded_by_id=by.id,
        uploaded_at=utcnow(),
        content=data,
    )
    session.add(attachment)
    session.flush()
    return attachment


def listed(session: Session, notice: Notice) -> list[NoticeAttachment]:
    """The notice's files, without their content."""
    return list(
        session.scalars(
            select(NoticeAttachment)
            .where(NoticeAttachment.notice_id == notice.id)
            .order_by(NoticeAttachment.id)
        )
    )


def one_of(session: Session, notice: Notice, attachment_id: int) -> NoticeAttachment:
    found = session.scalar(
        select(NoticeAttachment).where(
            NoticeAttachment.id == attachment_id, NoticeAttachment.notice_id == notice.id
        )
    )
    if found is None:
        raise NotFound(f"{notice.reference} has no file {attachment_id}.")
    return found


def remove(session: Session, notice: Notice, attachment_id: int, *, by: User) -> str:
    """Take a file off a draft (or reviewed) notice; returns its name."""
    found = one_of(session, notice, attachment_id)
    _changing(session, notice, by=by)
    name = found.filename
    session.delete(found)
    session.flush()
    return name
