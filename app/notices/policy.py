"""Who may write, review, publish and follow notices: pure functions over plain values."""

from __future__ import annotations

from app.roles import Person as Person  # the policies' one actor
from app.roles import Role

WRITERS = frozenset({Role.ENGINEER, Role.ADMIN})


def may_write(person: Person) -> bool:
    """Engineers and admins write and publish notices."""
    return person.role in WRITERS


def may_review(person: Person, *, author_id: int) -> bool:
    """A second engineer, or an admin, reviews a notice: never its author."""
    return person.role in WRITERS and person.id != author_id


def sees_tracking(person: Person) -> bool:
    """Who acknowledged: writers see everyone, a centre manager their centre."""
    return person.role in WRITERS or (
        person.role == Role.CENTRE_MANAGER and person.centre_id is not None
    )
