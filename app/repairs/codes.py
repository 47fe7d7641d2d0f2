"""The symptom codes engineers maintain: the customer's complaint in a word everyone counts
the same way ("NOPWR", "NOPIC").

A retired code stays (old repairs name it) but is no longer offered for new ones. No Flask
here; services flush, never commit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.auth.models import User
from app.exceptions import Conflict, Invalid, NotAllowed, NotFound
from app.models import utcnow
from app.repairs import policy
from app.repairs.models import SymptomCode
from app.repairs.services import person_of
from app.storable import CONTROL

#: What a code is made of: letters, digits and dashes, as it is typed on a bench.
CODE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,19}")


@dataclass(frozen=True)
class CodeAsked:
    """What a keeper types for a code."""

    description: str
    product_line: str | None = None


def _may_keep(by: User) -> None:
    if not policy.may_keep_codes(person_of(by)):
        raise NotAllowed("Engineers and admins keep the symptom codes.")


def _checked(asked: CodeAsked) -> tuple[str, str | None, dict[str, str]]:
    errors: dict[str, str] = {}
    description = (asked.description or "").strip()
    line = (asked.product_line or "").strip() or None
    if not description:
        errors["description"] = "Say what the customer reports, in a few words."
    elif len(description) > 200 or CONTROL.search(description):
        errors["description"] = "At most 200 characters, no control characters."
    if line is not None and (len(line) > 40 or CONTROL.search(line)):
        errors["product_line"] = "At most 40 characters."
    return description, line, errors


def all_codes(session: Session) -> list[SymptomCode]:
    """Every code, those in use first, then the retired ones; each by code."""
    codes = session.scalars(select(SymptomCode).order_by(SymptomCode.code)).all()
    return sorted(codes, key=lambda c: c.retired_at is not None)


def in_use(session: Session, *, product_line: str | None = None) -> list[SymptomCode]:
    """The codes offered for a new repair: not retired; for a product line, its own and those
    of no line."""
    query = select(SymptomCode).where(SymptomCode.retired_at.is_(None))
    codes = session.scalars(query.order_by(SymptomCode.code)).all()
    if product_line is None:
        return list(codes)
    line = product_line.strip().lower()
    return [c for c in codes if c.product_line is None or c.product_line.lower() == line]


def get_code(session: Session, code: str) -> SymptomCode:
    """:raises NotFound: no such code."""
    found = session.get(SymptomCode, code.strip().upper())
    if found is None:
        raise NotFound(f"There is no symptom code {code}.")
    return found


def add_code(session: Session, *, code: str, asked: CodeAsked, by: User) -> SymptomCode:
    """A new code (two keepers adding the same one at once: the database keeps the first).

    :raises Invalid: naming every field with a problem.
    :raises Conflict: the code exists (retired ones too: restore it instead).
    """
    _may_keep(by)
    typed = (code or "").strip().upper()
    description, line, errors = _checked(asked)
    if not typed:
        errors["code"] = "Give the code (NOPWR, say)."
    elif not CODE.fullmatch(typed):
        errors["code"] = "1 to 20 letters, digits, dashes or underscores, starting with one."
    if errors:
        raise Invalid("The code was not added: " + "; ".join(errors.values()), errors=errors)
    said = f"{typed} is a symptom code already: edit it (or offer it again, if it was retired)."
    exists = Conflict(said, errors={"code": said})
    if session.get(SymptomCode, typed) is not None:
        raise exists
    found = SymptomCode(
        code=typed,
        description=description,
        product_line=line,
        updated_by=by.email,
        updated_at=utcnow(),
    )
    try:
        with session.begin_nested():
            session.add(found)
            session.flush()
    except IntegrityError:
        raise exists from None
    return found


def edit_code(session: Session, found: SymptomCode, *, asked: CodeAsked, by: User) -> None:
    """Change a code's description and product line (the code itself is what repairs name).

    :raises Invalid: naming every field with a problem.
    """
    _may_keep(by)
    description, line, errors = _checked(asked)
    if errors:
        raise Invalid("The code was not changed: " + "; ".join(errors.values()), errors=errors)
    found.description = description
    found.product_line = line
    found.updated_by = by.email
    found.updated_at = utcnow()
    session.flush()


def set_retired(session: Session, found: SymptomCode, *, retired: bool, by: User) -> None:
    """Retire a code (no longer offered; old repairs keep it), or bring it back."""
    _may_keep(by)
    if retired == (found.retired_at is not None):
        return  # sent twice: already so
    now = utcnow()
    found.retired_at = now if retired else None
    found.updated_by = by.email
    found.updated_at = now
    session.flush()
