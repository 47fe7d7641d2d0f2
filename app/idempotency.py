"""Idempotency keys: a request sent twice (a double click, a client's retry) acts once.

One rule for every feature that takes a key (orders, escalations, and whatever comes next):

- a key is at most ``MAX_KEY_LENGTH`` printable ASCII characters; a longer one is refused, never
  cut (two keys that differ after the cut would otherwise collide);
- the record the key made keeps a fingerprint of what was asked; the same key with the same
  content answers with that record, with other content it is a :class:`KeyReused` (409);
- the database decides between two requests racing with one key: the record carries a unique
  constraint on (owner, key), the insert runs in a savepoint, and the loser answers with the
  winner's record.

Flask-free: services call it with their session.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.exceptions import Conflict, Invalid

MAX_KEY_LENGTH = 80


class Keyed(Protocol):
    """A record made under an idempotency key."""

    fingerprint: str | None


R = TypeVar("R", bound=Keyed)


class KeyTooLong(Invalid):
    def __init__(self) -> None:
        super().__init__(
            f"The Idempotency-Key is longer than {MAX_KEY_LENGTH} characters: send a shorter one "
            "(a UUID is 36).",
            errors={"idempotency_key": f"At most {MAX_KEY_LENGTH} characters."},
        )


class KeyReused(Conflict):
    """The key made a record from other content: nothing new was made."""

    def __init__(self, record: Any, what: str) -> None:
        self.record = record
        super().__init__(
            f"This Idempotency-Key already made {what} from other content, so nothing new was "
            "made. Send a new key for a new request."
        )


def checked_key(raw: str | None) -> str | None:
    """The key as it will be stored, ``None`` when none was sent.

    :raises KeyTooLong: over ``MAX_KEY_LENGTH`` characters.
    :raises Invalid: characters other than printable ASCII.
    """
    key = (raw or "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise KeyTooLong()
    if not key.isascii() or not key.isprintable():
        raise Invalid(
            "The Idempotency-Key must be printable ASCII (a UUID, say).",
            errors={"idempotency_key": "Printable ASCII only."},
        )
    return key


def fingerprint(content: Any) -> str:
    """A digest of what was asked: the same content, spelled the same way, matches."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def replay(earlier: R, digest: str, *, describe: Callable[[R], str]) -> R:
    """The earlier record if it was made from the same content (``describe`` names a record in
    the refusal: "order 12", "ESC-2026-000123").

    :raises KeyReused: it was made from other content. Records made before fingerprints were
        kept (``None``) cannot be compared, and stand.
    """
    if earlier.fingerprint not in (None, digest):
        raise KeyReused(earlier, describe(earlier))
    return earlier


def insert_once(
    session: Session, record: R, *, find: Callable[[], R | None], describe: Callable[[R], str]
) -> tuple[R, bool]:
    """Add ``record`` (its key and fingerprint set) in a savepoint; if another request with the
    same key won the race, answer with its record instead. Returns the record and whether it is
    the one just made.

    :raises KeyReused: the winner was made from other content.
    """
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError:
        earlier = find()
        if earlier is None:
            raise  # another constraint failed: not a race on the key
        assert record.fingerprint is not None
        return replay(earlier, record.fingerprint, describe=describe), False
    return record, True
