"""Plain factory functions: ``make_x(session, **overrides)`` with sequence defaults."""

from __future__ import annotations

import itertools
from typing import Any

from sqlalchemy.orm import Session

from app.auth import services
from app.auth.models import ServiceCentre, User
from app.roles import Role

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def make_centre(session: Session, **overrides: Any) -> ServiceCentre:
    centre = ServiceCentre(name=overrides.pop("name", f"Centre {next(_seq)}"), **overrides)
    session.add(centre)
    session.flush()
    return centre


def make_user(
    session: Session,
    *,
    role: Role = Role.TECHNICIAN,
    email: str | None = None,
    password: str = PASSWORD,
    centre: ServiceCentre | None = None,
    name: str | None = None,
) -> User:
    number = next(_seq)
    if centre is None and role in (Role.TECHNICIAN, Role.CENTRE_MANAGER):
        centre = make_centre(session)
    return services.create_user(
        session,
        email=email or f"{role.value}{number}@example.com",
        name=name or f"{role.label} {number}",
        role=role,
        password=password,
        centre=centre,
    )
