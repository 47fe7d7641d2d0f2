"""Demo data for ``flask --app wsgi demo load``: a service centre and one user per role; symptom
codes, the exchange programme's rules, warranty terms and labour rates, and a repair under way.

Idempotent: what exists is left as it is, so running it twice changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import services
from app.auth.models import ServiceCentre
from app.mail.mailer import Mailer
from app.models import utcnow
from app.notices import services as notices
from app.notices.models import Notice
from app.notices.services import NoticeInput
from app.repairs import services as repairs
from app.repairs.models import ExchangeRule, SymptomCode
from app.repairs.settings import RepairSettings
from app.roles import Role
from app.warranty.models import LabourRate, WarrantyTerm
from diagnostics import services as diagnostics
from parts_catalog import services as catalogue

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
    ("approver", "Abel Mensah", Role.EXCHANGE_APPROVER, False),
    ("reviewer", "Rosa Lindqvist", Role.CLAIM_REVIEWER, False),
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


# --- repairs: symptom codes, the exchange programme, one repair under way ------------------------

DEMO_SYMPTOMS = (
    ("NOPIC", "No picture (sound may work)", "TV"),
    ("NOPOW", "Does not turn on", None),
    ("NOSND", "No sound", None),
    ("LENS", "Lens error or lens does not extend", "Camera"),
    ("PAIR", "Does not pair over Bluetooth", "Headphones"),
)
#: The smallest GN2 set: a new power board and half an hour's labour (89.00 + 22.50 at the
#: default 45.00 an hour) cost more than the 100.00 it is worth, so its exchange is approved.
SMALL_TV = "KDL-43W800C"
DEMO_SERIAL = "4012345"


#: Standard warranty per product line: (parts months, labour months).
DEMO_TERMS = (("TV", 24, 12), ("Camera", 12, 12))
#: Flat-rate labour codes: (code, product line, kind of repair, amount).
DEMO_RATES = (
    ("TV-PSU", "TV", "Power board", "40.00"),
    ("TV-MAIN", "TV", "Main board", "55.00"),
    ("TV-PANEL", "TV", "Panel or backlight", "90.00"),
    ("CAM-LENS", "Camera", "Lens unit", "30.00"),
    ("CAM-SENS", "Camera", "Image sensor", "45.00"),
)
DEMO_RATES_FROM = date(2025, 1, 1)


def load_warranty(session: Session) -> list[str]:
    """Warranty terms (TVs 24 months parts, 12 labour; cameras 12 and 12) and labour rates;
    what exists is kept. Returns what was added."""
    added = []
    now = utcnow()
    for line, parts, labour in DEMO_TERMS:
        exists = session.scalar(
            select(WarrantyTerm.id).where(
                WarrantyTerm.product_line == line, WarrantyTerm.model_pattern.is_(None)
            )
        )
        if exists is None:
            session.add(
                WarrantyTerm(
                    product_line=line,
                    parts_months=parts,
                    labour_months=labour,
                    updated_by="demo",
                    updated_at=now,
                )
            )
            added.append(f"warranty term for {line}")
    for code, line, kind, amount in DEMO_RATES:
        if session.scalar(select(LabourRate.id).where(LabourRate.code == code)) is None:
            session.add(
                LabourRate(
                    code=code,
                    product_line=line,
                    repair_kind=kind,
                    amount=Decimal(amount),
                    effective_on=DEMO_RATES_FROM,
                    updated_by="demo",
                )
            )
            added.append(f"labour rate {code}")
    session.flush()
    return added


def load_repairs(session: Session, *, settings: RepairSettings) -> list[str]:
    """Symptom codes, exchange rules (TVs: approved at once when a repair would cost more than
    the set is worth, the small set worth 100.00; cameras: exchange-only) and one repair under
    way, walked to its fix; what exists is kept. Returns what was added, for the summary."""
    added = []
    now = utcnow()
    for code, description, line in DEMO_SYMPTOMS:
        if session.get(SymptomCode, code) is None:
            session.add(
                SymptomCode(
                    code=code,
                    description=description,
                    product_line=line,
                    updated_by="demo",
                    updated_at=now,
                )
            )
            added.append(f"symptom code {code}")
    rules = (
        ExchangeRule(
            product_line="TV",
            auto_approve=True,
            core_charge=Decimal("60.00"),
            return_days=15,
            note="Exchanged when a repair would cost more than the set is worth.",
            updated_by="demo",
            updated_at=now,
        ),
        ExchangeRule(
            model_pattern=SMALL_TV,
            value=Decimal("100.00"),
            auto_approve=True,
            core_charge=Decimal("40.00"),
            return_days=15,
            note="The small set: worth less than most board repairs.",
            updated_by="demo",
            updated_at=now,
        ),
        ExchangeRule(
            product_line="Camera",
            exchange_only=True,
            advance=True,
            core_charge=Decimal("120.00"),
            return_days=10,
            note="Cameras are exchanged, never repaired at a centre.",
            updated_by="demo",
            updated_at=now,
        ),
    )
    for rule in rules:
        exists = session.scalar(
            select(ExchangeRule.id).where(
                ExchangeRule.product_line.is_(None)
                if rule.product_line is None
                else ExchangeRule.product_line == rule.product_line,
                ExchangeRule.model_pattern.is_(None)
                if rule.model_pattern is None
                else ExchangeRule.model_pattern == rule.model_pattern,
            )
        )
        if exists is None:
            session.add(rule)
            added.append(f"exchange rule for {rule.model_pattern or rule.product_line}")
    session.flush()
    added += load_warranty(session)
    tech = services.find_user(session, f"tech@{DEMO_DOMAIN}")
    if tech is None or repairs.in_progress_for(
        session, centre_id=tech.centre_id or 0, model_number=SMALL_TV, serial=DEMO_SERIAL
    ):
        return added
    repair, _ = repairs.open_repair(
        session,
        by=tech,
        asked=repairs.NewRepair(
            SMALL_TV,
            DEMO_SERIAL,
            "No picture. The red standby light blinks twice, then again after a pause.",
            symptom_code="NOPIC",
            # Bought seven months ago: in warranty (parts and labour) once the receipt is added.
            purchase_on=utcnow().date() - timedelta(days=210),
            customer_name="Ana Lima",
            customer_contact="+44 20 7946 0321",
        ),
        settings=settings,
    )
    # Walked to the power board: on its page the repair now costs more than the set is worth.
    walk = repairs.start_walk(session, repair, tree_id="tv-standby-blink-gn2", by=tech)
    diagnostics.answer(session, walk, option="2")
    diagnostics.answer(session, walk, value=10.9)
    repairs.add_note(
        session, repair, text="Customer asks whether a replacement set is possible.", by=tech
    )
    added.append(f"repair {repair.reference}")
    return added


DEMO_NOTICES = (
    NoticeInput(
        kind="part_notice",
        safety=True,
        title="Power board GL2: discharge C512 before handling, fit GL2A only",
        what_changes="1-474-594-11 (GL2) is withdrawn; **1-474-594-12 (GL2A)** replaces it.",
        why="Capacitor C512 on early GL2 boards can hold a charge after the set is unplugged.",
        effective_on=date(2026, 3, 1),
        what_to_do="Unplug the set, wait five minutes and discharge C512 through a 2 kΩ "
        "resistor before removing the board. Order 1-474-594-12; return any 1-474-594-11 "
        "in stock.",
        contact="TV engineering, tv-engineering@benchside.example",
        targets={"part": ["1-474-594-11"]},
    ),
    NoticeInput(
        kind="support_change",
        title="Escalations by the portal or mail only: the support phone line closes",
        what_changes="The technical support phone line closes.",
        why="A written escalation keeps every measurement and photo with the repair, and gets "
        "a reference and a response time at once.",
        effective_on=date(2027, 1, 4),
        what_to_do="Use **Escalate** in the portal, or mail escalations@benchside.local; "
        "urgent cases (a customer waiting) are answered within two business hours.",
        contact="Support, support@benchside.example",
    ),
)


def load_notices(session: Session, *, mailer: Mailer) -> list[str]:
    """A published safety notice about the demo power board and a support change, written by
    the demo engineer and reviewed by the demo admin; what exists is kept."""
    author = services.find_user(session, f"engineer@{DEMO_DOMAIN}")
    reviewer = services.find_user(session, f"admin@{DEMO_DOMAIN}")
    if author is None or reviewer is None or catalogue.latest_release(session) is None:
        return []
    added = []
    for asked in DEMO_NOTICES:
        if session.scalar(select(Notice.id).where(Notice.title == asked.title)) is not None:
            continue
        notice = notices.create(session, by=author, asked=asked)
        notices.review(session, notice, by=reviewer)
        notices.publish(session, notice, by=author, mailer=mailer)
        added.append(f"notice {notice.reference}")
    return added
