"""A walk, an order and an escalation of a unit under repair: offered to its repair, attached,
and then saying "Part of REP-..." on their pages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations.models import Ticket
from app.orders import services as orders
from app.orders.models import Order
from app.repairs import exchange, services
from app.repairs.models import LinkKind, Repair, RepairLink
from app.roles import Role
from diagnostics import services as diagnostics
from diagnostics.models import DiagnosticSession
from tests.conftest import AuthActions
from tests.factories import make_centre, make_user
from tests.repairs.bench import TV, load_bench, open_repair, rule

SERIAL = "4012345"


@dataclass
class Bench:
    tech: User  # of North
    other: User  # a technician of South
    repair: Repair  # North's, open, of TV 4012345


@pytest.fixture
def bench(session: Session, tmp_path: Path) -> Bench:
    load_bench(session, tmp_path / "r1")
    tech = make_user(session, role=Role.TECHNICIAN, centre=make_centre(session, name="North"))
    other = make_user(session, role=Role.TECHNICIAN, centre=make_centre(session, name="South"))
    repair = open_repair(session, tech, SERIAL, complaint="Dead after a storm")
    session.commit()
    return Bench(tech, other, repair)


def _walk(
    session: Session, by: User, *, serial: str | None = "40-12 345", model: str | None = TV
) -> DiagnosticSession:
    """A walk started from Diagnose (not from the repair), the serial typed another way."""
    walk = diagnostics.start(
        session,
        diagnostics.get_revision(session, "psu"),
        by=by.email,
        centre_id=by.centre_id,
        model_number=model,
        serial=serial,
    )
    session.commit()
    return walk


def _links(session: Session, repair: Repair) -> list[tuple[str, str]]:
    session.expire_all()
    return [
        (link.kind.value, link.ref)
        for link in session.scalars(select(RepairLink).where(RepairLink.repair_id == repair.id))
    ]


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- walks --------------------------------------------------------------------------------------


def test_a_walk_of_the_unit_offers_its_repair_and_attaches_to_it(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    walk = _walk(session, bench.tech)
    auth.login(user=bench.tech)
    page = _text(client.get(f"/diagnose/sessions/{walk.id}").get_data(as_text=True))
    assert f"This unit is being repaired: {bench.repair.reference}" in page
    assert "Attach this walk" in page
    response = client.post(
        f"/diagnose/sessions/{walk.id}/repair",
        data={"repair": bench.repair.reference, "csrf_token": auth.csrf()},
    )
    assert response.status_code == 302
    assert _links(session, bench.repair) == [("walk", walk.id)]
    page = _text(client.get(f"/diagnose/sessions/{walk.id}").get_data(as_text=True))
    assert f"Part of {bench.repair.reference}" in page
    assert "Attach this walk" not in page
    # Again (a double click): nothing more.
    client.post(
        f"/diagnose/sessions/{walk.id}/repair",
        data={"repair": bench.repair.reference, "csrf_token": auth.csrf()},
    )
    assert _links(session, bench.repair) == [("walk", walk.id)]


@pytest.mark.parametrize(
    ("serial", "model"), [(None, TV), ("4099999", TV), (SERIAL, None)], ids=str
)
def test_a_walk_without_the_unit_is_offered_nothing(
    client: FlaskClient,
    auth: AuthActions,
    session: Session,
    bench: Bench,
    serial: str | None,
    model: str | None,
) -> None:
    walk = _walk(session, bench.tech, serial=serial, model=model)
    auth.login(user=bench.tech)
    page = client.get(f"/diagnose/sessions/{walk.id}").get_data(as_text=True)
    assert bench.repair.reference not in page


def test_another_centres_walk_is_not_offered_its_repair_nor_attached(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    walk = _walk(session, bench.other)
    auth.login(user=bench.other)
    page = client.get(f"/diagnose/sessions/{walk.id}").get_data(as_text=True)
    assert bench.repair.reference not in page
    response = client.post(
        f"/diagnose/sessions/{walk.id}/repair",
        data={"repair": bench.repair.reference, "csrf_token": auth.csrf()},
        follow_redirects=True,
    )
    assert f"No repair {bench.repair.reference} for you" in response.get_data(as_text=True)
    assert _links(session, bench.repair) == []


def test_a_walk_of_another_unit_is_refused_with_the_reason(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    walk = _walk(session, bench.tech, serial="4099999")
    auth.login(user=bench.tech)
    response = client.post(
        f"/diagnose/sessions/{walk.id}/repair",
        data={"repair": bench.repair.reference, "csrf_token": auth.csrf()},
        follow_redirects=True,
    )
    assert "That walk is of serial 4099999" in response.get_data(as_text=True)
    assert _links(session, bench.repair) == []


# --- orders -------------------------------------------------------------------------------------


def _order(session: Session, by: User, job: str | None) -> Order:
    order, _ = orders.place(
        session, by, [orders.Asked("1-474-594-12", 1)], kind="warranty", job=job
    )
    session.commit()
    return order


@pytest.mark.parametrize("job", ["40-12345", "rep"], ids=["serial", "reference"])
def test_an_order_for_the_unit_offers_its_repair_and_attaches_to_it(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench, job: str
) -> None:
    reference = bench.repair.reference or ""
    order = _order(session, bench.tech, reference.lower() if job == "rep" else job)
    auth.login(user=bench.tech)
    page = _text(client.get(f"/orders/{order.id}").get_data(as_text=True))
    assert f"This unit is being repaired: {reference}" in page
    assert "Attach this order" in page
    response = client.post(
        f"/orders/{order.id}/repair", data={"repair": reference, "csrf_token": auth.csrf()}
    )
    assert response.status_code == 302
    assert _links(session, bench.repair) == [("order", str(order.id))]
    page = _text(client.get(f"/orders/{order.id}").get_data(as_text=True))
    assert f"Part of {reference}" in page
    assert "Attach this order" not in page


def test_an_order_placed_with_a_repairs_reference_is_part_of_it(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    reference = bench.repair.reference or ""
    auth.login(user=bench.tech)
    client.post(
        "/orders/cart/add",
        data={"number": "1-474-594-12", "quantity": "1", "csrf_token": auth.csrf()},
    )
    cart = client.get("/orders/cart").get_data(as_text=True)
    assert f'<option value="{reference}">{TV} {SERIAL}</option>' in cart  # offered as the job
    key = re.search(r'name="key"[^>]*value="([^"]+)"', cart)
    assert key is not None
    response = client.post(
        "/orders/cart/place",
        data={
            "key": key.group(1),
            "kind": "warranty",
            "job": reference.lower(),
            "csrf_token": auth.csrf(),
        },
        follow_redirects=True,
    )
    assert f"It is part of {reference}." in response.get_data(as_text=True)
    [order] = session.scalars(select(Order)).all()
    assert _links(session, bench.repair) == [("order", str(order.id))]


def test_an_order_for_another_job_is_offered_nothing(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    order = _order(session, bench.tech, "JOB-77")
    auth.login(user=bench.tech)
    assert bench.repair.reference not in client.get(f"/orders/{order.id}").get_data(as_text=True)


def test_an_exchange_order_names_its_repair(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    rule(session, product_line="TV", exchange_only=True)
    authorisation, _ = exchange.request_exchange(session, bench.repair, by=bench.tech)
    session.commit()
    auth.login(user=bench.tech)
    page = _text(client.get(f"/orders/{authorisation.order_id}").get_data(as_text=True))
    assert f"Part of {bench.repair.reference}" in page
    assert "exchanged" in page


# --- escalations --------------------------------------------------------------------------------


def _escalate(
    client: FlaskClient, auth: AuthActions, walk: DiagnosticSession, *, model: str = TV
) -> str:
    form = client.get(f"/escalations/new?session={walk.id}").get_data(as_text=True)
    key = re.search(r'name="key"[^>]*value="([^"]+)"', form)
    assert key is not None
    response = client.post(
        "/escalations/new",
        data={
            "csrf_token": auth.csrf(),
            "key": key.group(1),
            "diagnostic_session": walk.id,
            "subject": "Power board replaced, still dead",
            "description": "12 V present at CN6101",
            "category": "technical",
            "model_number": model,
            "serial": SERIAL,
            "priority": "normal",
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    found = re.search(r"ESC-\d{4}-\d{6}", response.get_data(as_text=True))
    assert found is not None
    return found.group(0)


def test_an_escalation_from_a_walk_of_a_repair_becomes_part_of_it(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    walk = services.start_walk(session, bench.repair, tree_id="psu", by=bench.tech)
    session.commit()
    auth.login(user=bench.tech)
    form = _text(client.get(f"/escalations/new?session={walk.id}").get_data(as_text=True))
    assert f"Sent from a walk of {bench.repair.reference}" in form
    reference = _escalate(client, auth, walk)
    assert ("ticket", reference) in _links(session, bench.repair)
    ticket = session.scalar(select(Ticket).where(Ticket.reference == reference))
    assert ticket is not None
    page = _text(client.get(f"/escalations/{reference}").get_data(as_text=True))
    assert f"Part of {bench.repair.reference}" in page
    assert services.repair_of(session, LinkKind.TICKET, reference) is not None


def test_an_escalation_from_a_loose_walk_stays_on_its_own(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    walk = _walk(session, bench.tech)
    auth.login(user=bench.tech)
    reference = _escalate(client, auth, walk)
    assert _links(session, bench.repair) == []
    assert bench.repair.reference not in client.get(f"/escalations/{reference}").get_data(
        as_text=True
    )


def test_an_agent_reading_the_ticket_is_not_shown_the_centres_repair(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    walk = services.start_walk(session, bench.repair, tree_id="psu", by=bench.tech)
    session.commit()
    auth.login(user=bench.tech)
    reference = _escalate(client, auth, walk)
    auth.logout()
    auth.login(Role.AGENT_TIER1)
    page = _text(client.get(f"/escalations/{reference}").get_data(as_text=True))
    # Agents answer tickets; the repair is its centre's (and approvers'): not named to them.
    assert bench.repair.reference not in page


def test_an_escalation_about_another_model_is_opened_but_not_attached(
    client: FlaskClient, auth: AuthActions, session: Session, bench: Bench
) -> None:
    """The technician typed another model on the form: the ticket is opened all the same (it
    never depends on the repair), and stays out of a repair of another unit."""
    walk = services.start_walk(session, bench.repair, tree_id="psu", by=bench.tech)
    session.commit()
    auth.login(user=bench.tech)
    reference = _escalate(client, auth, walk, model="KDL-32R400")
    assert session.scalar(select(Ticket).where(Ticket.reference == reference)) is not None
    assert [kind for kind, _ref in _links(session, bench.repair)] == ["walk"]
