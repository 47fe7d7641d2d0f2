"""Who may do what to an order, a return or a cart line: one answer for the pages and the API.

Pure functions over plain values (no Flask, no database). Which views a role may open at all is
declared on the views (``app.access``); these answer for one object. An object a person may not
see is answered as missing (404), so that ids do not tell what exists.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.roles import Person as Person  # the policies' one actor
from app.roles import Role

#: The roles that order and return parts for a service centre.
ORDERERS = frozenset({Role.TECHNICIAN, Role.CENTRE_MANAGER})


@dataclass(frozen=True)
class OrderFacts:
    placed_by_id: int
    centre_id: int | None


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


class Scope(enum.StrEnum):
    """Whose orders a person sees."""

    ALL = "all"
    CENTRE = "centre"
    OWN = "own"
    NONE = "none"


def scope(person: Person) -> Scope:
    """Staff (admins) see every order, a centre manager the centre's, anyone else their own
    orders placed for their centre; a manager of no centre, none."""
    if person.role == Role.ADMIN:
        return Scope.ALL
    if person.role == Role.CENTRE_MANAGER:
        return Scope.CENTRE if person.centre_id is not None else Scope.NONE
    return Scope.OWN


def sees(person: Person, order: OrderFacts) -> bool:
    """The order is in the person's :func:`scope`."""
    match scope(person):
        case Scope.ALL:
            return True
        case Scope.CENTRE:
            return order.centre_id == person.centre_id
        case Scope.OWN:
            return order.placed_by_id == person.id and order.centre_id == person.centre_id
        case _:
            return False


def may_order(person: Person) -> Decision:
    """Technicians and managers of a service centre order for it."""
    if person.role not in ORDERERS or person.centre_id is None:
        return Decision(False, "Only people of a service centre can order.")
    return ALLOWED


def may_cancel(person: Person, order: OrderFacts) -> bool:
    """Whoever sees an order may cancel it (whether it still can be is the order's state)."""
    return sees(person, order)


def may_return(person: Person, order: OrderFacts) -> Decision:
    """Those who order for the centre send its parts back."""
    if not sees(person, order):
        return Decision(False, "This order is not yours to see.")
    if person.role not in ORDERERS:
        return Decision(False, "Returns are asked by the service centre that ordered.")
    return ALLOWED


def may_change_status(person: Person) -> bool:
    """Staff move orders forward."""
    return person.role == Role.ADMIN


def sees_all_returns(person: Person) -> bool:
    """Admins see every return; anyone else, their centre's."""
    return person.role == Role.ADMIN


def may_decide_return(person: Person) -> bool:
    """Staff decide returns; a centre manager follows the centre's."""
    return person.role == Role.ADMIN


def owns_cart_line(person: Person, line_user_id: int) -> bool:
    """A cart is its owner's alone."""
    return person.id == line_user_id
