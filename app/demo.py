"""Demo data for ``flask --app wsgi demo load``: a service centre and one user per role.

Idempotent: what exists is left as it is, so running it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.auth import services
from app.auth.models import ServiceCentre
from app.roles import Role

DEMO_CENTRE = "Northside Repair Centre"
# ".example" is reserved for examples (RFC 2606) and accepted by email validation.
DEMO_DOMAIN = "benchside.example"


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: Role
    password: str
    created: bool


DEMO_PEOPLE = (
    ("tech", "Tomás Reyes", Role.TECHNICIAN, True),
    ("manager", "Mariam Osei", Role.CENTRE_MANAGER, True),
    ("engineer", "Elin Berg", Role.ENGINEER, False),
    ("tier1", "Priya Nair", Role.AGENT_TIER1, False),
    ("tier2", "Jonas Weber", Role.AGENT_TIER2, False),
    ("admin", "Ada Admin", Role.ADMIN, False),
)


def load_people(session: Session) -> list[DemoUser]:
    centre = services.find_centre(session, DEMO_CENTRE)
    if centre is None:
        centre = ServiceCentre(name=DEMO_CENTRE)
        session.add(centre)
        session.flush()
    result = []
    for local, name, role, at_centre in DEMO_PEOPLE:
        email = f"{local}@{DEMO_DOMAIN}"
        # Demo passwords are printed and documented on purpose: this is demo data only.
        password = f"demo-{local}-pass"
        created = services.find_user(session, email) is None
        if created:
            services.create_user(
                session,
                email=email,
                name=name,
                role=role,
                password=password,
                centre=centre if at_centre else None,
            )
        result.append(DemoUser(email, name, role, password, created))
    return result
