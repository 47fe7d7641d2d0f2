"""A small portal with something of everything: two service centres with their people, a
catalogue release, a published tree with a draft (version 2.1), orders, a ticket with an
attachment, a walk, an erratum, a synonym, an invitation. Security tests act on these through
the web, as an attacker would."""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import MetaData, select
from sqlalchemy.orm import Session

from app.auth import services as accounts
from app.auth.models import Invitation, ServiceCentre, User
from app.escalations import attachments
from app.escalations import services as escalations
from app.escalations.models import Attachment, InboundMail, Ticket
from app.extensions import current_settings
from app.mail.mailer import Mailer
from app.models import utcnow
from app.notices import attachments as notice_files
from app.notices import services as notices
from app.notices.models import Notice
from app.orders import services as orders
from app.orders.models import DELIVERED, CartLine, Order, ReturnRequest
from app.repairs import services as repairs
from app.repairs.models import ExchangeAuthorisation, ExchangeStatus, Repair
from app.repairs.settings import RepairSettings
from app.roles import Role
from app.warranty import claims
from app.warranty.models import Claim, ClaimStatus, LabourRate, WarrantyTerm
from app.warranty.proofs import attach_proof
from app.warranty.settings import WarrantySettings
from diagnostics import authoring, trees
from diagnostics import services as diagnostics
from diagnostics.models import DiagnosticSession
from parts_catalog import errata, synonyms
from parts_catalog.importer import import_release
from parts_catalog.models import Erratum, SearchSynonym
from tests.conftest import csrf_token
from tests.diagnostics.test_trees import TREE
from tests.escalations import escalation_settings
from tests.factories import PASSWORD, make_centre, make_user
from tests.parts_catalog.releases import base_release

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 200
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@dataclass
class World:
    centre_a: ServiceCentre
    centre_b: ServiceCentre
    tech_a: User
    manager_a: User
    tech_b: User
    manager_b: User
    engineer: User
    agent: User
    agent2: User
    admin: User
    order: Order  # placed by tech_a, still placed
    delivered: Order  # placed by tech_a, two delivered, one return requested
    return_request: ReturnRequest
    cart_line: CartLine  # tech_a's
    ticket: Ticket  # opened by tech_a
    ticket_file: Attachment  # sent with the ticket
    waiting_file: Attachment  # tech_a's, uploaded for the next escalation
    walk: DiagnosticSession  # started by tech_a, one question answered
    erratum: Erratum
    synonym: SearchSynonym
    invitation: Invitation
    invitation_token: str
    reset_token: str  # tech_a's
    api_token_id: int  # tech_a's, open
    held_mail: InboundMail  # names the ticket, not proven to be tech_a's: an agent decides
    repair: Repair  # tech_a's, open (KDL-55W800C 4012345)
    pending_exchange: ExchangeAuthorisation  # of another open repair of tech_a's, for an approver
    approver: User  # an exchange approver
    draft_notice: Notice  # the engineer's, waiting for a second person's review
    reviewed_notice: Notice  # ready to publish
    published_notice: Notice  # sent to tech_a, not acknowledged
    notice_file_id: int  # a PDF attached to draft_notice
    reviewer: User  # a warranty claim reviewer
    warranty_repair: Repair  # tech_a's, with a purchase date and its proof (KDL-55W800C 4077777)
    draft_claim: Claim  # of that repair, ready to submit
    submitted_claim: Claim  # of that repair, for a reviewer
    approved_claim: Claim  # of that repair, approved today, waiting for payment

    def user(self, role: Role) -> User:
        """The world's user of ``role`` (centre A's for technicians and managers)."""
        return {
            Role.TECHNICIAN: self.tech_a,
            Role.CENTRE_MANAGER: self.manager_a,
            Role.ENGINEER: self.engineer,
            Role.AGENT_TIER1: self.agent,
            Role.AGENT_TIER2: self.agent2,
            Role.ADMIN: self.admin,
            Role.EXCHANGE_APPROVER: self.approver,
            Role.CLAIM_REVIEWER: self.reviewer,
        }[role]


@pytest.fixture
def world(app: Flask, session: Session, tmp_path: Path) -> World:
    with app.test_request_context():
        import_release(session, path=base_release(tmp_path / "r1"), label="r1")
        revision = diagnostics.import_tree(session, trees.dump(TREE), by="eng", publish=True)
        centre_a, centre_b = make_centre(session), make_centre(session)
        tech_a = make_user(session, role=Role.TECHNICIAN, centre=centre_a)
        manager_a = make_user(session, role=Role.CENTRE_MANAGER, centre=centre_a)
        tech_b = make_user(session, role=Role.TECHNICIAN, centre=centre_b)
        manager_b = make_user(session, role=Role.CENTRE_MANAGER, centre=centre_b)
        engineer = make_user(session, role=Role.ENGINEER)
        agent = make_user(session, role=Role.AGENT_TIER1)
        agent2 = make_user(session, role=Role.AGENT_TIER2)
        admin = make_user(session, role=Role.ADMIN)
        one = [orders.Asked("1-474-594-12", 1)]
        order, _ = orders.place(session, tech_a, one, reference="job A-1")
        two = [orders.Asked("1-474-594-12", 2)]
        delivered, _ = orders.place(session, tech_a, two, reference="job A-2")
        for status in ("picking", "shipped", DELIVERED):
            orders.set_status(session, delivered, status)
        item = delivered.lines[0].items[0]
        return_request = orders.request_return(
            session,
            delivered,
            item.id,
            quantity=1,
            reason="damaged",
            note="cracked",
            model_number=None,
            by=tech_a.email,
        )
        orders.add_to_cart(session, tech_a, [orders.Asked("A-2072-533-A", 1)])
        cart_line = session.scalars(select(CartLine).where(CartLine.user_id == tech_a.id)).one()
        settings = escalation_settings(app)
        limit = settings.attachment_max_bytes
        ticket_file = attachments.store(session, tech_a, io.BytesIO(JPEG), "board.jpg", limit=limit)
        ticket, _ = escalations.open_ticket(
            session,
            tech_a,
            escalations.Submission(
                subject="Shuts down after 3 s",
                description="12.1 V at CN6101",
                category="technical",
                model_number="KDL-55W800C",
            ),
            settings=settings,
        )
        ticket_file.ticket_id = ticket.id
        waiting_file = attachments.store(
            session, tech_a, io.BytesIO(JPEG), "later.jpg", limit=limit
        )
        walk = diagnostics.start(session, revision, by=tech_a.email, centre_id=centre_a.id)
        diagnostics.answer(session, walk, option="2")  # now at "psu", a measurement
        draft = copy.deepcopy(TREE)
        draft["title"] = "Red LED blinks (revised)"
        authoring.save_draft(session, TREE["id"], draft, based_on="1.1", by=engineer.email)
        erratum = errata.report_wrong_fitment(
            session,
            part_number="1-474-594-11",
            model_number="KDL-55W800C",
            ref_no="101",
            release_label="r1",
            note="connector differs",
            reported_by=tech_a.email,
        )
        synonym = synonyms.add(session, words="psu", means="power board", by=engineer.email)
        invitation, invitation_token = accounts.invite(
            session,
            inviter=admin,
            email="newcomer@example.com",
            name="New Comer",
            role=Role.TECHNICIAN,
            centre=centre_a,
            valid_for=timedelta(days=1),
        )
        reset_token = accounts.make_reset_token(app.config["SECRET_KEY"], tech_a)
        accounts.issue_api_token(session, tech_a)
        [api_token] = accounts.api_tokens(session, tech_a)
        held_mail = InboundMail(
            message_id="<held@example.com>",
            sender=tech_a.email,
            raw=f"From: {tech_a.email}\r\nSubject: Re: [{ticket.reference}]\r\n"
            "Message-ID: <held@example.com>\r\n\r\nMeasured again.\r\n".encode(),
            received_at=ticket.created_at,
            outcome="held",
            ticket_id=ticket.id,
        )
        session.add(held_mail)
        repair, _ = repairs.open_repair(
            session,
            by=tech_a,
            asked=repairs.NewRepair("KDL-55W800C", "4012345", "No picture"),
            settings=RepairSettings(),
        )
        waiting, _ = repairs.open_repair(
            session,
            by=tech_a,
            asked=repairs.NewRepair("KDL-55W800C", "4099999", "No sound"),
            settings=RepairSettings(),
        )
        approver = make_user(session, role=Role.EXCHANGE_APPROVER)
        reviewer = make_user(session, role=Role.CLAIM_REVIEWER)
        notice_text = notices.NoticeInput(
            kind="service_bulletin",
            title="No picture on GN2: reseat CN7001",
            what_changes="A new first step in the no-picture tree.",
            why="Most GN2 sets with no picture have a loose LED strip connector.",
            effective_on=utcnow().date(),
            what_to_do="Reseat CN7001 before measuring the power board.",
            contact="tv-engineering@benchside.example",
        )
        draft_notice, reviewed_notice, published_notice = (
            notices.create(session, by=engineer, asked=notice_text) for _ in range(3)
        )
        for ready in (reviewed_notice, published_notice):
            notices.review(session, ready, by=admin)
        notices.publish(session, published_notice, by=engineer, mailer=app_mailer(app))
        notice_file = notice_files.attach(
            session, draft_notice, by=engineer, filename="bulletin.pdf", data=PDF, limit=10**6
        )
        pending_exchange = ExchangeAuthorisation(
            number="EXA-2026-999999",
            repair_id=waiting.id,
            status=ExchangeStatus.PENDING,
            reason="An approver decides.",
            inputs={},
            requested_by_id=tech_a.id,
            requested_at=waiting.opened_at,
        )
        session.add(pending_exchange)
        session.add(
            WarrantyTerm(product_line="TV", parts_months=24, labour_months=12, updated_at=utcnow())
        )
        session.add(
            LabourRate(
                code="TV-PSU",
                product_line="TV",
                repair_kind="Power board",
                amount=Decimal("40.00"),
                effective_on=date(2020, 1, 1),
            )
        )
        warranty_repair, _ = repairs.open_repair(
            session,
            by=tech_a,
            asked=repairs.NewRepair(
                "KDL-55W800C",
                "4077777",
                "No power",
                purchase_on=utcnow().date() - timedelta(days=100),
            ),
            settings=RepairSettings(),
        )
        attach_proof(
            session, warranty_repair, by=tech_a, content=b"%PDF-1.4\n", filename="r.pdf", limit=99
        )
        draft_claim, submitted_claim, approved_claim = (
            claims.draft_claim(
                session,
                warranty_repair,
                by=tech_a,
                labour_code="TV-PSU",
                settings=WarrantySettings(),
            )
            for _ in range(3)
        )
        submitted_claim.status = ClaimStatus.SUBMITTED
        approved_claim.status = ClaimStatus.APPROVED
        approved_claim.decided_at = utcnow()
        session.commit()
    return World(
        centre_a=centre_a,
        centre_b=centre_b,
        tech_a=tech_a,
        manager_a=manager_a,
        tech_b=tech_b,
        manager_b=manager_b,
        engineer=engineer,
        agent=agent,
        agent2=agent2,
        admin=admin,
        order=order,
        delivered=delivered,
        return_request=return_request,
        cart_line=cart_line,
        ticket=ticket,
        ticket_file=ticket_file,
        waiting_file=waiting_file,
        walk=walk,
        erratum=erratum,
        synonym=synonym,
        invitation=invitation,
        invitation_token=invitation_token,
        reset_token=reset_token,
        api_token_id=api_token.id,
        held_mail=held_mail,
        repair=repair,
        pending_exchange=pending_exchange,
        approver=approver,
        draft_notice=draft_notice,
        reviewed_notice=reviewed_notice,
        published_notice=published_notice,
        notice_file_id=notice_file.id,
        reviewer=reviewer,
        warranty_repair=warranty_repair,
        draft_claim=draft_claim,
        submitted_claim=submitted_claim,
        approved_claim=approved_claim,
    )


def app_mailer(app: Flask) -> Mailer:
    """The app's mailer (its settings are read in an app context)."""
    with app.app_context():
        return current_settings().mail


def sign_in(app: Flask, user: User | None, **client_options: object) -> FlaskClient:
    """A new client (a browser of its own), signed in as ``user`` unless that is ``None``."""
    client = app.test_client(**client_options)
    if user is not None:
        response = client.post(
            "/login",
            data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client)},
        )
        assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture
def client_for(app: Flask) -> Callable[[User | None], FlaskClient]:
    return lambda user: sign_in(app, user)


_schemas: dict[str, MetaData] = {}  # the migrations' schema, read once per database


def database_state(session: Session) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, to tell whether a request changed anything at all."""
    connection = session.connection()
    tables = _schemas.get(str(connection.engine.url))
    if tables is None:
        tables = _schemas[str(connection.engine.url)] = MetaData()
        tables.reflect(connection)
    return {
        name: sorted((tuple(row) for row in connection.execute(select(table))), key=repr)
        for name, table in sorted(tables.tables.items())
        if name != "alembic_version"
    }


class InlineCode(HTMLParser):
    """Collects what the Content-Security-Policy would block in a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script" and "src" not in {name for name, _ in attrs}:
            self.found.append("<script> without src")
        if tag == "style":
            self.found.append("<style> element")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name == "style":
                self.found.append(f"<{tag} style=…>")
            if name in ("href", "src", "action", "formaction") and (
                value or ""
            ).strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    return parser.found
