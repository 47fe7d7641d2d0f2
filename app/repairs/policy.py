"""Who may do what to a repair, a unit's history and an exchange: one answer for the pages and
the API.

Pure functions over plain values (no Flask, no database). A repair is its centre's: another
centre's repair is answered as missing (404), and a unit's history shows other centres' repairs
without the customer's details.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.roles import Person as Person  # the policies' one actor
from app.roles import Role

#: The roles that repair units for a service centre.
REPAIRERS = frozenset({Role.TECHNICIAN, Role.CENTRE_MANAGER})
#: Who decides exchange requests the rules leave to a person.
APPROVERS = frozenset({Role.EXCHANGE_APPROVER, Role.ADMIN})
#: Who maintains the symptom codes and the exchange rules, and reads a tree's analytics.
KEEPERS = frozenset({Role.ENGINEER, Role.ADMIN})


@dataclass(frozen=True)
class RepairFacts:
    centre_id: int


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Decision(True)


def may_open(person: Person) -> Decision:
    """Technicians and managers of a service centre open repairs for it."""
    if person.role not in REPAIRERS or person.centre_id is None:
        return Decision(False, "Only people of a service centre open repairs.")
    return ALLOWED


def sees(person: Person, repair: RepairFacts) -> bool:
    """A repair is seen by its centre, by admins, and by exchange approvers (who decide on it)."""
    if person.role in APPROVERS:
        return True
    return person.role in REPAIRERS and person.centre_id == repair.centre_id


def may_work_on(person: Person, repair: RepairFacts) -> bool:
    """Its centre's technicians and managers change a repair, attach to it and ask for an
    exchange."""
    return person.role in REPAIRERS and person.centre_id == repair.centre_id


def sees_customer(person: Person, repair: RepairFacts) -> bool:
    """The customer's name and contact stay with the centre that holds the repair (and admins)."""
    return person.role == Role.ADMIN or (
        person.role in REPAIRERS and person.centre_id == repair.centre_id
    )


def may_decide_exchange(person: Person) -> bool:
    return person.role in APPROVERS


def may_keep_codes(person: Person) -> bool:
    return person.role in KEEPERS
