"""The repair pages: opening a repair (a form that keeps what was typed), its page with the
redo banners, the status by compare-and-set, attaching, diagnosing, the exchange, the unit's
history across centres, and the home page's "My open repairs"."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.models import utcnow
from app.orders.models import Order, OrderKind
from app.repairs import services
from app.repairs.models import (
    ExchangeAuthorisation,
    ExchangeRule,
    Repair,
    RepairStatus,
    SymptomCode,
    UnitReturn,
)
from app.repairs.settings import RepairSettings
from app.roles import Role
from diagnostics import services as diagnostics
from parts_catalog.importer import import_release
from tests.conftest import AuthActions, csrf_token
from tests.factories import make_centre, make_user
from tests.parts_catalog.releases import base_release

SETTINGS = RepairSettings(redo_days=90)
#: A tree that stands at its fix at once: the power board (84.50) and 30 minutes of labour.
PSU_TREE = (
    "id: psu\ntitle: No power\nproduct_line: TV\nmodels: ['KDL-*']\nstart: fix\n"
    "nodes:\n  fix: {kind: fix, text: Replace the power board, "
    "parts: [{part: '1-474-594-11', qty: 1}], labour_minutes: 30}\n"
)


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r1"), label="r1")
    diagnostics.import_tree(session, PSU_TREE, publish=True, by="eng@example.com")
    session.add(
        SymptomCode(code="NOPOW", description="No power", product_line="TV", updated_at=utcnow())
    )
    session.add(
        SymptomCode(code="OLD", description="Retired", updated_at=utcnow(), retired_at=utcnow())
    )
    session.commit()


@pytest.fixture
def tech(auth: AuthActions, catalogue: None) -> User:
    return auth.login(Role.TECHNICIAN)


def _post_new(client: FlaskClient, auth: AuthActions, **fields: str) -> tuple[int, str, str]:
    data = {
        "model_number": "kdl-55w800c",
        "serial": "4012345",
        "complaint": "No picture, the red LED blinks twice",
        "csrf_token": auth.csrf(),
        **fields,
    }
    response = client.post("/repairs/new", data=data)
    return response.status_code, response.headers.get("Location", ""), response.get_data(True)


def _open(session: Session, user: User, serial: str = "4012345", **kw: str) -> Repair:
    asked = services.NewRepair("KDL-55W800C", serial, kw.pop("complaint", "No power"), **kw)  # type: ignore[arg-type]
    repair, _ = services.open_repair(session, by=user, asked=asked, settings=SETTINGS)
    session.commit()
    return repair


def test_a_technician_opens_a_repair_and_finds_it_on_home_and_in_the_list(
    client: FlaskClient, auth: AuthActions, tech: User, session: Session
) -> None:
    form = client.get("/repairs/new").get_data(as_text=True)
    assert 'name="model_number"' in form
    assert "NOPOW: No power" in form
    assert "OLD" not in form  # a retired code is not offered
    status, location, _ = _post_new(
        client,
        auth,
        purchase_date="2025-06-01",
        symptom_code="NOPOW",
        customer_name="Ana Lima",
        customer_contact="+351 555 0101",
    )
    assert status == 303, location
    reference = location.rsplit("/", 1)[-1]
    assert re.fullmatch(r"REP-\d{4}-\d{6}", reference)
    page = client.get(location).get_data(as_text=True)
    assert "KDL-55W800C" in page
    assert "No picture, the red LED blinks twice" in page
    assert "Ana Lima" in page
    assert "2025-06-01" in page
    assert "Opened: No picture" in page  # the timeline
    home = client.get("/").get_data(as_text=True)
    assert "<title>Home · Benchside</title>" in home
    assert "My open repairs" in home
    assert reference in home
    assert "mine" in home
    listing = client.get("/repairs").get_data(as_text=True)
    assert reference in listing
    assert "New repair" in listing


def test_a_form_with_an_error_keeps_everything_typed(
    client: FlaskClient, auth: AuthActions, tech: User, session: Session
) -> None:
    status, _, page = _post_new(
        client,
        auth,
        model_number="KDL-99NOPE",
        serial="SN 77-1",
        complaint="Cracked <screen> & no sound",
        purchase_date="2025-02-03",
        symptom_code="NOPOW",
        customer_name="Bo Chen",
        customer_contact="bo@example.com",
    )
    assert status == 422
    assert "KDL-99NOPE is not a model in the catalogue" in page
    for typed in ('value="KDL-99NOPE"', 'value="SN 77-1"', 'value="2025-02-03"', "Bo Chen"):
        assert typed in page
    assert "Cracked &lt;screen&gt; &amp; no sound" in page
    assert re.search(r'<option selected value="NOPOW">', page)
    assert 'value="bo@example.com"' in page
    # Mandatory fields: marked in the label and required.
    assert re.search(r'<input[^>]*id="model_number"[^>]*required', page)
    assert re.search(r'<textarea[^>]*id="complaint"[^>]*required', page)
    assert session.scalar(select(func.count()).select_from(Repair)) == 0
    # A date that is not one comes back as typed, with its error.
    status, _, page = _post_new(client, auth, purchase_date="31/31/2025")
    assert status == 422
    assert 'value="31/31/2025"' in page


def test_the_form_is_prefilled_from_a_model_and_serial(client: FlaskClient, tech: User) -> None:
    page = client.get("/repairs/new?model=KDL-55W800C&serial=4012345").get_data(as_text=True)
    assert 'value="KDL-55W800C"' in page
    assert 'value="4012345"' in page


def test_a_unit_already_in_repair_offers_to_continue_that_repair(
    client: FlaskClient, auth: AuthActions, tech: User, session: Session
) -> None:
    standing = _open(session, tech)
    status, _, page = _post_new(client, auth, serial="40-123-45")
    assert status == 409
    assert f"Continue {standing.reference}" in page
    assert 'value="40-123-45"' in page
    assert session.scalar(select(func.count()).select_from(Repair)) == 1


def test_a_double_click_opens_one_repair(
    client: FlaskClient, auth: AuthActions, tech: User, session: Session
) -> None:
    first = _post_new(client, auth, key="k-1")
    second = _post_new(client, auth, key="k-1")
    assert first[0] == second[0] == 303
    assert first[1] == second[1]
    assert session.scalar(select(func.count()).select_from(Repair)) == 1


def test_another_centre_gets_404_and_sees_the_history_without_customer_details(
    app: object, client: FlaskClient, auth: AuthActions, tech: User, session: Session
) -> None:
    repair = _open(session, tech, customer_name="Ana Lima", customer_contact="ana@example.com")
    services.change_status(session, repair, to="repaired", seen="open", by=tech)
    session.commit()
    other = make_user(session, role=Role.TECHNICIAN, centre=make_centre(session))
    auth.logout()
    auth.login(user=other)
    assert client.get(f"/repairs/{repair.reference}").status_code == 404
    history = client.get("/serials/KDL-55W800C/4012345")
    page = history.get_data(as_text=True)
    assert history.status_code == 200
    assert "A repair" in page
    assert "Repaired" in page
    for private in ("Ana Lima", "ana@example.com", str(repair.reference), "No power"):
        assert private not in page
    auth.logout()
    auth.login(user=tech)
    own = client.get("/serials/kdl-55w800c/4012345").get_data(as_text=True)
    assert "Ana Lima" in own
    assert str(repair.reference) in own


def test_the_status_changes_from_what_the_page_showed(
    client: FlaskClient, auth: AuthActions, tech: User, session: Session
) -> None:
    repair = _open(session, tech)
    page = client.get(f"/repairs/{repair.reference}").get_data(as_text=True)
    assert "/escalations/new?model=KDL-55W800C&amp;serial=4012345" in page  # no walk yet
    url = f"/repairs/{repair.reference}/status"
    done = client.post(
        url, data={"status": "waiting_parts", "seen": "open", "csrf_token": auth.csrf()}
    )
    assert done.status_code == 303
    session.refresh(repair)
    assert repair.status == RepairStatus.WAITING_PARTS
    # A stale page (it still said "open"): nothing changes, and the page says why.
    stale = client.post(
        url,
        data={"status": "repaired", "seen": "open", "csrf_token": auth.csrf()},
        follow_redirects=True,
    )
    assert "was changed meanwhile" in stale.get_data(as_text=True)
    session.refresh(repair)
    assert repair.status == RepairStatus.WAITING_PARTS
    page = client.get(f"/repairs/{repair.reference}").get_data(as_text=True)
    assert "Open → Waiting parts" in page


def test_a_refused_note_or_attachment_keeps_what_was_typed(
    client: FlaskClient, auth: AuthActions, tech: User, session: Session
) -> None:
    repair = _open(session, tech)
    refused = client.post(
        f"/repairs/{repair.reference}/attach",
        data={"kind": "walk", "ref": "no-such-walk", "csrf_token": auth.csrf()},
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'value="no-such-walk"' in page
    assert "There is no walk no-such-walk of your centre" in page
    empty = client.post(
        f"/repairs/{repair.reference}/notes", data={"text": "   ", "csrf_token": auth.csrf()}
    )
    assert empty.status_code == 422
    noted = client.post(
        f"/repairs/{repair.reference}/notes",
        data={"text": "Customer <b>called</b>", "csrf_token": auth.csrf()},
        follow_redirects=True,
    )
    assert "Customer &lt;b&gt;called&lt;/b&gt;" in noted.get_data(as_text=True)


def test_diagnose_then_an_exchange_approved_by_the_rules_makes_one_order_and_one_rma(
    client: FlaskClient, auth: AuthActions, tech: User, session: Session
) -> None:
    session.add(
        ExchangeRule(
            product_line="TV",
            value=Decimal("50.00"),
            core_charge=Decimal("25.00"),
            updated_at=utcnow(),
        )
    )
    session.commit()
    repair = _open(session, tech)
    page = client.get(f"/repairs/{repair.reference}").get_data(as_text=True)
    assert '<option value="psu">No power</option>' in page
    started = client.post(
        f"/repairs/{repair.reference}/diagnose", data={"tree": "psu", "csrf_token": auth.csrf()}
    )
    assert started.status_code == 303
    assert "/diagnose/sessions/" in started.headers["Location"]
    walk_id = started.headers["Location"].rsplit("/", 1)[-1]
    page = client.get(f"/repairs/{repair.reference}").get_data(as_text=True)
    assert "Walk: No power" in page
    # Escalate from the repair's walk; order the parts from the walk at its fix.
    assert f'href="/escalations/new?session={walk_id}">Escalate</a>' in page
    assert f'href="/diagnose/sessions/{walk_id}">Order parts</a>' in page
    assert "Replace the power board" in page
    # 84.50 (the board) + 22.50 (30 min at 45.00) against the programme's 50.00.
    assert "111.50" in page
    assert "50.00" in page
    assert "Request an exchange" in page
    url = f"/repairs/{repair.reference}/exchange"
    first = client.post(url, data={"csrf_token": auth.csrf()})
    second = client.post(url, data={"csrf_token": auth.csrf()})
    assert first.status_code == second.status_code == 303
    page = client.get(f"/repairs/{repair.reference}").get_data(as_text=True)
    rma = session.scalars(select(UnitReturn)).one()
    assert rma.rma
    assert rma.rma in page
    assert rma.due_on.isoformat() in page
    assert "approved" in page
    assert "Exchanged" in page
    assert "Request an exchange" not in page
    assert session.scalar(select(func.count()).select_from(ExchangeAuthorisation)) == 1
    orders = session.scalars(select(Order).where(Order.kind == OrderKind.EXCHANGE)).all()
    assert len(orders) == 1
    assert f'href="/orders/{orders[0].id}"' in page


def test_a_repair_cheaper_than_the_unit_is_not_offered_an_exchange(
    client: FlaskClient, auth: AuthActions, tech: User, session: Session
) -> None:
    session.add(ExchangeRule(product_line="TV", value=Decimal("900.00"), updated_at=utcnow()))
    session.commit()
    repair = _open(session, tech)
    services.start_walk(session, repair, tree_id="psu", by=tech)
    session.commit()
    page = client.get(f"/repairs/{repair.reference}").get_data(as_text=True)
    assert "costs no more than the unit&#39;s value" in page
    assert "Request an exchange" not in page


def test_a_redo_is_shown_on_both_repairs_with_the_earlier_fix(
    client: FlaskClient, auth: AuthActions, tech: User, session: Session
) -> None:
    first = _open(session, tech)
    services.start_walk(session, first, tree_id="psu", by=tech)
    services.change_status(session, first, to="repaired", seen="open", by=tech)
    first.closed_at = utcnow() - timedelta(days=30)
    session.commit()
    second = _open(session, tech, complaint="Dead again")
    assert second.redo_of_id == first.id
    page = client.get(f"/repairs/{second.reference}").get_data(as_text=True)
    assert f'A redo of <a href="/repairs/{first.reference}">{first.reference}</a>' in page
    assert "repaired 30 days before" in page
    assert "Replace the power board" in page
    earlier = client.get(f"/repairs/{first.reference}").get_data(as_text=True)
    assert f'Came back as <a href="/repairs/{second.reference}">{second.reference}</a>' in earlier
    assert "within 30 days" in earlier
    history = client.get("/serials/KDL-55W800C/4012345").get_data(as_text=True)
    assert history.count("badge-redo") == 2


def test_the_repairs_menu_is_for_the_people_of_a_centre(
    client: FlaskClient, auth: AuthActions, catalogue: None
) -> None:
    auth.login(Role.ENGINEER)
    page = client.get("/").get_data(as_text=True)
    assert "My open repairs" not in page
    assert 'href="/repairs"' not in page
    assert client.get("/repairs").status_code == 403
    auth.logout()
    auth.login(Role.CENTRE_MANAGER)
    page = client.get("/").get_data(as_text=True)
    assert "My open repairs" in page
    assert 'href="/repairs"' in page


def test_the_demo_has_a_repair_whose_exchange_the_rules_would_approve(
    runner: FlaskCliRunner, client: FlaskClient, session: Session
) -> None:
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "Demo repairs:" in first.output
    again = runner.invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    assert "Demo repairs:" not in again.output  # nothing added twice
    assert session.scalar(select(func.count()).select_from(Repair)) == 1
    assert session.scalar(select(func.count()).select_from(ExchangeRule)) == 3
    camera = session.scalars(
        select(ExchangeRule).where(ExchangeRule.product_line == "Camera")
    ).one()
    assert camera.exchange_only
    repair = session.scalars(select(Repair)).one()
    kinds = [e.kind.value for e in repair.events]
    assert kinds == ["opened", "walk", "note"]
    signed = client.post(
        "/login",
        data={
            "email": "tech@benchside.example",
            "password": "demo-tech-pass",
            "csrf_token": csrf_token(client),
        },
    )
    assert signed.status_code == 302
    page = client.get(f"/repairs/{repair.reference}").get_data(as_text=True)
    assert "111.50" in page  # 89.00 for the board and 30 minutes at 45.00
    assert "100.00" in page
    assert "Request an exchange" in page


def test_my_open_repairs_lists_mine_first_then_my_colleagues(
    client: FlaskClient, tech: User, session: Session
) -> None:
    mine = _open(session, tech, serial="111")
    colleague = make_user(session, role=Role.TECHNICIAN, centre=tech.centre)
    theirs = _open(session, colleague, serial="222")  # newer, and still after mine
    ended = _open(session, tech, serial="333")
    services.change_status(session, ended, to="returned_unrepaired", seen="open", by=tech)
    elsewhere = _open(session, make_user(session, role=Role.TECHNICIAN), serial="444")
    session.commit()
    home = client.get("/").get_data(as_text=True)
    section = home[home.index('id="my-repairs"') :]
    assert section.index(str(mine.reference)) < section.index(str(theirs.reference))
    assert str(ended.reference) not in section
    assert str(elsewhere.reference) not in home
    assert "today" in section  # the age


def test_an_exchange_a_person_decides_waits_and_is_not_asked_twice(
    client: FlaskClient, auth: AuthActions, tech: User, session: Session
) -> None:
    session.add(
        ExchangeRule(
            product_line="TV", value=Decimal("50.00"), auto_approve=False, updated_at=utcnow()
        )
    )
    session.commit()
    repair = _open(session, tech)
    services.start_walk(session, repair, tree_id="psu", by=tech)
    session.commit()
    page = client.get(f"/repairs/{repair.reference}").get_data(as_text=True)
    assert "approved by a person" in page
    asked = client.post(
        f"/repairs/{repair.reference}/exchange",
        data={"csrf_token": auth.csrf()},
        follow_redirects=True,
    )
    page = asked.get_data(as_text=True)
    assert "is waiting for an approver" in page
    assert "pending" in page
    assert "Request an exchange" not in page
    assert session.scalar(select(func.count()).select_from(Order)) == 0
    # What it was decided from, for the approver and the audit.
    assert "111.50" in page
    assert "Product line TV" in page


def test_an_exchange_only_line_is_offered_an_exchange_without_a_walk(
    client: FlaskClient, tech: User, session: Session
) -> None:
    session.add(ExchangeRule(product_line="Camera", exchange_only=True, updated_at=utcnow()))
    session.commit()
    asked = services.NewRepair("DSC-RX100M3", "77001", "Lens error")
    repair, _ = services.open_repair(session, by=tech, asked=asked, settings=SETTINGS)
    session.commit()
    page = client.get(f"/repairs/{repair.reference}").get_data(as_text=True)
    assert "exchange-only" in page
    assert "Request an exchange" in page


def test_an_approver_reads_a_repair_without_the_customer_or_its_forms(
    client: FlaskClient, auth: AuthActions, tech: User, session: Session
) -> None:
    repair = _open(session, tech, customer_name="Ana Lima")
    auth.logout()
    auth.login(Role.EXCHANGE_APPROVER)
    response = client.get(f"/repairs/{repair.reference}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "No power" in page
    assert "Ana Lima" not in page
    assert "Change the status" not in page
    assert "Add the note" not in page
    refused = client.post(
        f"/repairs/{repair.reference}/notes", data={"text": "x", "csrf_token": auth.csrf()}
    )
    assert refused.status_code == 403


def test_a_redo_of_another_centres_repair_shows_it_without_its_customer(
    client: FlaskClient, tech: User, session: Session
) -> None:
    south = make_centre(session, name="South")
    elsewhere = make_user(session, role=Role.TECHNICIAN, centre=south)
    first = _open(session, elsewhere, customer_name="Ana Lima")
    services.change_status(session, first, to="repaired", seen="open", by=elsewhere)
    session.commit()
    second = _open(session, tech)
    assert second.redo_of_id == first.id
    page = client.get(f"/repairs/{second.reference}").get_data(as_text=True)
    # Named as the timeline names it, not linked: it is not this centre's to open.
    assert f"A redo of {first.reference} at South" in page
    assert f'href="/repairs/{first.reference}"' not in page
    assert "Ana Lima" not in page
    history = client.get("/serials/KDL-55W800C/4012345").get_data(as_text=True)
    assert str(second.reference) in history
    assert "Ana Lima" not in history
