"""Who may do what to whose account: pure answers over plain values, asked by the services (and
through them by every page and the command line), never decided in a view.

Admins manage everyone. A centre manager invites technicians and managers to their own centre,
and sees and withdraws the invitations of that centre; a manager of no centre manages nobody.
Only admins enable or disable accounts and add service centres, and nobody disables themselves.
An API token is its owner's alone.
"""

from __future__ import annotations

from typing import Protocol

from app.roles import Role

#: The roles that belong to a service centre.
CENTRE_ROLES = frozenset({Role.TECHNICIAN, Role.CENTRE_MANAGER})
#: The roles a centre manager may give.
MANAGER_INVITES = (Role.TECHNICIAN, Role.CENTRE_MANAGER)
#: Who opens the people pages at all (each then sees what :func:`managed_centre` allows).
PEOPLE_MANAGERS = frozenset({Role.ADMIN, Role.CENTRE_MANAGER})


class Person(Protocol):
    """What a rule needs of an account (a ``User`` row is one)."""

    @property
    def id(self) -> int: ...
    @property
    def role(self) -> Role: ...
    @property
    def centre_id(self) -> int | None: ...


class Everyone:
    """The scope of an admin: every centre, and the staff of none."""

    def __repr__(self) -> str:
        return "EVERYONE"


EVERYONE = Everyone()


def managed_centre(actor: Person) -> int | Everyone | None:
    """Whose people ``actor`` manages: :data:`EVERYONE`, one centre's id, or ``None`` (nobody:
    not a manager, or a manager of no centre, who manages nobody rather than everybody)."""
    if actor.role is Role.ADMIN:
        return EVERYONE
    if actor.role is Role.CENTRE_MANAGER and actor.centre_id is not None:
        return actor.centre_id
    return None


def manages_centre_of(actor: Person, centre_id: int | None) -> bool:
    """Whether ``actor`` manages the people (and invitations) of ``centre_id``."""
    scope = managed_centre(actor)
    return scope is EVERYONE or (scope is not None and scope == centre_id)


def invitable_roles(inviter: Person) -> list[Role]:
    """The roles ``inviter`` may give, in the order a form offers them."""
    if inviter.role is Role.ADMIN:
        return list(Role)
    if inviter.role is Role.CENTRE_MANAGER:
        return list(MANAGER_INVITES)
    return []


def may_invite(inviter: Person, *, role: Role, centre_id: int | None) -> bool:
    """Admins invite anyone; a centre manager invites technicians and managers to their centre."""
    if inviter.role is Role.ADMIN:
        return True
    return (
        inviter.role is Role.CENTRE_MANAGER
        and role in MANAGER_INVITES
        and centre_id is not None
        and centre_id == inviter.centre_id
    )


def may_invite_staff(inviter: Person) -> bool:
    """Whether ``inviter`` may invite someone of no centre (the manufacturer's staff)."""
    return inviter.role is Role.ADMIN


def needs_centre(role: Role) -> bool:
    """Technicians and centre managers belong to a service centre."""
    return role in CENTRE_ROLES


def may_see_invitation(actor: Person, *, centre_id: int | None) -> bool:
    """Whether ``actor`` may know of an invitation to ``centre_id`` (else it is not found)."""
    return manages_centre_of(actor, centre_id)


def may_revoke_invitation(actor: Person, *, role: Role, centre_id: int | None) -> bool:
    """Withdrawing an invitation takes what giving it took."""
    return may_invite(actor, role=role, centre_id=centre_id)


def may_set_enabled(actor: Person, target: Person) -> bool:
    """Admins enable and disable accounts, other than their own (nobody locks themselves out)."""
    return actor.role is Role.ADMIN and actor.id != target.id


def may_manage_centres(actor: Person) -> bool:
    return actor.role is Role.ADMIN


def owns_token(actor: Person, *, owner_id: int) -> bool:
    """An API token is revoked by its owner only (anyone else is told there is no such token)."""
    return actor.id == owner_id
