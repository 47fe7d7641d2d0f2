"""The exchange programme's pages: the approvers' queue and decisions, units due back, and the
keepers' symptom codes and exchange rules, through the browser's forms."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.orders.models import Order, OrderKind
from app.repairs import codes, exchange
from app.repairs.models import (
    ExchangeAuthorisation,
    ExchangeRule,
    RepairStatus,
    SymptomCode,
    UnitReturn,
)
from app.roles import Role
from tests.conftest import AuthActions, csrf_token
from tests.factories import make_centre, make_user
from tests.repairs.bench import TV, load_bench, open_repair, rule, walk_to_fix
from tests.repairs.test_races import real_app  # noqa: F401  (a fixture: committing requests)
from tests.security.conftest import sign_in

CLICKS = 6


def _approver_bench(session: Session, folder: Path) -> User:
    load_bench(session, folder / "r1")
    return make_user(session, role=Role.TECHNICIAN, centre=make_centre(session, name="North"))


@pytest.fixture
def tech(session: Session, tmp_path: Path) -> User:
    """A technician of North, on a bench with a catalogue and the trees."""
    return _approver_bench(session, tmp_path)


def _pending(session: Session, tech: User, serial: str) -> ExchangeAuthorisation:
    """A request the rule leaves to a person: the fix costs 111.50 against a value of 100."""
    if session.scalar(select(ExchangeRule)) is None:
        rule(session, product_line="TV", value=Decimal("100.00"), auto_approve=False)
    repair = open_repair(session, tech, serial)
    walk_to_fix(session, repair, tech)
    authorisation, _ = exchange.request_exchange(session, repair, by=tech)
    assert authorisation.status == "pending"
    return authorisation


def _count(session: Session, table: Any) -> int:
    return session.scalar(select(func.count()).select_from(table)) or 0


def _post(client: FlaskClient, auth: AuthActions, url: str, **data: str) -> Any:
    return client.post(url, data={**data, "csrf_token": auth.csrf()})


# --- approvers ----------------------------------------------------------------------------------


def test_the_queue_lists_pending_requests_oldest_first_with_what_decides_them(
    client: FlaskClient, auth: AuthActions, session: Session, tech: User
) -> None:
    older = _pending(session, tech, "4000001")
    newer = _pending(session, tech, "4000002")
    newer.requested_at = older.requested_at + timedelta(minutes=5)
    auth.login(Role.EXCHANGE_APPROVER)
    html = client.get("/exchanges").get_data(as_text=True)
    assert html.index(older.number or "") < html.index(newer.number or "")
    row = html[html.index(older.number or "") :]
    row = row[: row.index("</tr>")]
    walk = older.inputs["walk"]["id"]
    for expected in ("4000001", "North", "111.50", "100.00", "Product line TV"):
        assert expected in row, expected
    assert f'href="/diagnose/sessions/{walk}"' in row


def test_an_approver_reads_the_inputs_and_approves_making_the_order_and_the_rma(
    client: FlaskClient, auth: AuthActions, session: Session, tech: User
) -> None:
    authorisation = _pending(session, tech, "4000001")
    auth.login(Role.EXCHANGE_APPROVER)
    url = f"/exchanges/{authorisation.number}"
    page = client.get(url).get_data(as_text=True)
    for expected in ("111.50", "100.00", "Replace 1-474-594-11", "approved by a person"):
        assert expected in page, expected
    assert 'name="decision"' in page
    response = _post(client, auth, url, decision="approve", note="")
    assert response.status_code == 302
    session.expire_all()
    found = session.get(ExchangeAuthorisation, authorisation.id)
    assert found is not None
    assert found.status == "approved"
    assert found.repair.status == RepairStatus.EXCHANGED
    assert found.unit_return is not None
    [order] = session.scalars(select(Order)).all()
    assert (order.kind, order.job) == (OrderKind.EXCHANGE, found.repair.reference)
    after = client.get(url).get_data(as_text=True)
    assert found.unit_return.rma in after
    assert 'name="decision"' not in after  # decided: no form any more
    assert authorisation.number not in client.get("/exchanges").get_data(as_text=True)


def test_a_refusal_needs_a_reason_and_keeps_what_was_chosen(
    client: FlaskClient, auth: AuthActions, session: Session, tech: User
) -> None:
    authorisation = _pending(session, tech, "4000001")
    auth.login(Role.ADMIN)
    url = f"/exchanges/{authorisation.number}"
    response = _post(client, auth, url, decision="refuse", note="  ")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Say why the exchange is refused" in html
    assert 'value="refuse" required checked' in html
    session.expire_all()
    assert session.get(ExchangeAuthorisation, authorisation.id).status == "pending"  # type: ignore[union-attr]
    response = _post(client, auth, url, decision="refuse", note="The board is in stock: repair it.")
    assert response.status_code == 302
    session.expire_all()
    found = session.get(ExchangeAuthorisation, authorisation.id)
    assert found is not None
    assert found.status == "refused"
    assert found.reason.endswith("The board is in stock: repair it.")
    assert _count(session, Order) == 0


def test_a_request_decided_meanwhile_is_said_not_overwritten(
    client: FlaskClient, auth: AuthActions, session: Session, tech: User
) -> None:
    authorisation = _pending(session, tech, "4000001")
    auth.login(Role.EXCHANGE_APPROVER)
    url = f"/exchanges/{authorisation.number}"
    assert client.get(url).status_code == 200  # the page is open ...
    colleague = make_user(session, role=Role.ADMIN, name="Colleague")
    exchange.decide_pending(session, authorisation, by=colleague, approve=True, note="")
    session.commit()  # ... while a colleague approves it
    response = _post(client, auth, url, decision="refuse", note="Too expensive to ship")
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "was decided meanwhile (approved): nothing was changed" in html
    assert "Approved by Colleague" in html
    session.expire_all()
    found = session.get(ExchangeAuthorisation, authorisation.id)
    assert found is not None
    assert (found.status, found.decided_by) == ("approved", "Colleague")
    assert (_count(session, Order), _count(session, UnitReturn)) == (1, 1)


def test_units_due_back_overdue_marked_and_received(
    client: FlaskClient, auth: AuthActions, session: Session, tech: User
) -> None:
    late = _pending(session, tech, "4000001")
    soon = _pending(session, tech, "4000002")
    admin = make_user(session, role=Role.ADMIN)
    for authorisation in (late, soon):
        exchange.decide_pending(session, authorisation, by=admin, approve=True, note="")
    assert late.unit_return is not None
    assert soon.unit_return is not None
    late.unit_return.due_on -= timedelta(days=30)
    session.commit()
    auth.login(Role.EXCHANGE_APPROVER)
    html = client.get("/exchanges/returns").get_data(as_text=True)
    late_rma, soon_rma = late.unit_return.rma or "", soon.unit_return.rma or ""
    assert html.index(late_rma) < html.index(soon_rma)
    late_row = html[html.rindex("<tr", 0, html.index(late_rma)) :]
    assert late_row.startswith('<tr class="overdue">')
    assert "overdue" in late_row[: late_row.index("</tr>")]
    soon_row = html[html.rindex("<tr", 0, html.index(soon_rma)) :]
    assert "overdue" not in soon_row[: soon_row.index("</tr>")]
    response = _post(client, auth, f"/exchanges/returns/{soon_rma}/received")
    assert response.status_code == 302
    session.expire_all()
    received = session.scalar(select(UnitReturn).where(UnitReturn.rma == soon_rma))
    assert received is not None
    assert received.received_on is not None
    listed = client.get("/exchanges/returns").get_data(as_text=True)
    assert f"/exchanges/returns/{soon_rma}/received" not in listed
    assert f"/exchanges/returns/{late_rma}/received" in listed


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.ENGINEER, Role.CENTRE_MANAGER])
def test_only_approvers_open_the_queue_and_the_returns(
    client: FlaskClient, auth: AuthActions, role: Role
) -> None:
    auth.login(role)
    assert client.get("/exchanges").status_code == 403
    assert client.get("/exchanges/returns").status_code == 403


# --- keepers: symptom codes ---------------------------------------------------------------------


def test_a_keeper_adds_edits_retires_and_restores_a_code(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.ENGINEER)
    page = client.get("/repairs/symptom-codes").get_data(as_text=True)
    code_input = page[page.rindex("<input", 0, page.index('id="code"')) :]
    assert " required " in code_input[: code_input.index(">")]
    assert 'for="code">Code <span class="required"' in page
    response = _post(
        client,
        auth,
        "/repairs/symptom-codes",
        code="nopwr",
        description="No power",
        product_line="",
    )
    assert response.status_code == 302
    found = session.get(SymptomCode, "NOPWR")
    assert found is not None
    assert (found.description, found.product_line) == ("No power", None)
    response = _post(
        client,
        auth,
        "/repairs/symptom-codes/NOPWR",
        description="No power, no standby light",
        product_line="TV",
    )
    assert response.status_code == 302
    session.expire_all()
    assert [c.code for c in codes.in_use(session, product_line="TV")] == ["NOPWR"]
    assert codes.in_use(session, product_line="Camera") == []
    assert _post(client, auth, "/repairs/symptom-codes/NOPWR/retired").status_code == 302
    session.expire_all()
    assert codes.in_use(session) == []
    listed = client.get("/repairs/symptom-codes").get_data(as_text=True)
    assert '<span class="badge">retired</span>' in listed
    assert "Offer it again" in listed
    assert _post(client, auth, "/repairs/symptom-codes/NOPWR/retired").status_code == 302
    session.expire_all()
    assert [c.code for c in codes.in_use(session)] == ["NOPWR"]


def test_a_code_twice_or_malformed_is_refused_with_what_was_typed(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.ADMIN)
    _post(client, auth, "/repairs/symptom-codes", code="NOPIC", description="No picture")
    response = _post(
        client, auth, "/repairs/symptom-codes", code="nopic", description="Dark screen"
    )
    assert response.status_code == 409
    html = response.get_data(as_text=True)
    assert "NOPIC is a symptom code already" in html
    assert 'value="Dark screen"' in html
    response = _post(
        client, auth, "/repairs/symptom-codes", code="no pic!", description="Dark screen"
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "1 to 20 letters, digits" in html
    assert 'value="no pic!"' in html
    assert _count(session, SymptomCode) == 1


# --- keepers: exchange rules --------------------------------------------------------------------

RULE = {
    "product_line": "TV",
    "model_pattern": "",
    "eligible": "y",
    "value": "100.00",
    "auto_approve": "y",
    "core_charge": "25.00",
    "return_days": "10",
    "note": "",
}


def test_a_keeper_adds_a_rule_that_then_decides_requests(
    client: FlaskClient, auth: AuthActions, session: Session, tech: User
) -> None:
    auth.login(Role.ENGINEER)
    assert _post(client, auth, "/exchanges/rules", **RULE).status_code == 302
    [added] = session.scalars(select(ExchangeRule)).all()
    assert (added.product_line, added.value, added.auto_approve) == ("TV", Decimal("100.00"), True)
    assert (added.exchange_only, added.advance, added.return_days) == (False, False, 10)
    repair = open_repair(session, tech, "4000001")
    walk_to_fix(session, repair, tech)
    authorisation, _ = exchange.request_exchange(session, repair, by=tech)
    assert authorisation.status == "approved"  # 111.50 > 100.00, approved at once
    assert authorisation.inputs["rule"]["id"] == added.id
    assert authorisation.unit_return is not None
    assert authorisation.unit_return.core_charge == Decimal("25.00")


def test_a_rule_edited_or_removed_leaves_decisions_taken_as_they_were(
    client: FlaskClient, auth: AuthActions, session: Session, tech: User
) -> None:
    authorisation = _pending(session, tech, "4000001")
    [kept] = session.scalars(select(ExchangeRule)).all()
    rule_id = kept.id
    auth.login(Role.ADMIN)
    form = client.get(f"/exchanges/rules/{rule_id}").get_data(as_text=True)
    assert 'value="100.00"' in form  # the stored rule fills the form
    changed = {**RULE, "value": "500.00", "auto_approve": ""}
    assert _post(client, auth, f"/exchanges/rules/{rule_id}", **changed).status_code == 302
    session.expire_all()
    rule_now = session.get(ExchangeRule, kept.id)
    assert rule_now is not None
    assert (rule_now.value, rule_now.auto_approve) == (Decimal("500.00"), False)
    assert authorisation.inputs["rule"]["value"] == "100.00"
    assert _post(client, auth, f"/exchanges/rules/{rule_id}/remove").status_code == 302
    session.expire_all()
    assert _count(session, ExchangeRule) == 0
    found = session.get(ExchangeAuthorisation, authorisation.id)
    assert found is not None
    assert found.inputs["rule"]["scope"] == "Product line TV"
    assert client.get(f"/exchanges/rules/{rule_id}").status_code == 404


def test_a_rule_for_both_or_neither_scope_is_refused_with_what_was_typed(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.ENGINEER)
    both = {**RULE, "model_pattern": "kdl-32*", "note": "Small sets"}
    response = _post(client, auth, "/exchanges/rules", **both)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "A rule is for a product line or for models, not both." in html
    assert 'value="kdl-32*"' in html
    assert "Small sets</textarea>" in html
    neither = {**RULE, "product_line": ""}
    response = _post(client, auth, "/exchanges/rules", **neither)
    assert response.status_code == 422
    assert "Give a product line, or a model pattern" in response.get_data(as_text=True)
    response = _post(client, auth, "/exchanges/rules", **{**RULE, "return_days": "0"})
    assert response.status_code == 422
    assert _count(session, ExchangeRule) == 0
    _post(client, auth, "/exchanges/rules", **RULE)
    response = _post(client, auth, "/exchanges/rules", **{**RULE, "product_line": "tv"})
    assert response.status_code == 422
    assert "There is a rule for tv already: edit that one." in response.get_data(as_text=True)
    assert _count(session, ExchangeRule) == 1


def test_a_model_pattern_rule_is_kept_upper_case_and_listed_first(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.ENGINEER)
    _post(client, auth, "/exchanges/rules", **RULE)
    _post(
        client, auth, "/exchanges/rules", **{**RULE, "product_line": "", "model_pattern": "kdl-32*"}
    )
    html = client.get("/exchanges/rules").get_data(as_text=True)
    assert html.index("KDL-32*") < html.index("Product line TV")
    assert exchange.rule_for(session, "KDL-32R400", "TV").model_pattern == "KDL-32*"  # type: ignore[union-attr]
    assert exchange.rule_for(session, TV, "TV").product_line == "TV"  # type: ignore[union-attr]


@pytest.mark.parametrize("role", [Role.TECHNICIAN, Role.EXCHANGE_APPROVER, Role.AGENT_TIER1])
def test_only_keepers_keep_rules_and_codes(
    client: FlaskClient, auth: AuthActions, role: Role
) -> None:
    auth.login(role)
    assert client.get("/exchanges/rules").status_code == 403
    assert client.get("/repairs/symptom-codes").status_code == 403


# --- a race, on PostgreSQL ----------------------------------------------------------------------


def test_approvers_clicking_at_once_make_one_decision_one_order_and_one_rma(
    request: pytest.FixtureRequest, engine: Engine, tmp_path: Path
) -> None:
    """Two approvers, each double-clicking Approve or Refuse on the same pending request: the
    first decides; every other click is told it was decided meanwhile (409); one order and one
    RMA at most."""
    racing: Flask = request.getfixturevalue("real_app")  # skips unless on PostgreSQL
    with Session(engine, expire_on_commit=False) as session:
        tech = _approver_bench(session, tmp_path)
        authorisation = _pending(session, tech, "4000001")
        approvers = [make_user(session, role=Role.EXCHANGE_APPROVER) for _ in range(2)]
        number = authorisation.number
        session.commit()
    clients = [sign_in(racing, approvers[n % 2]) for n in range(CLICKS)]
    tokens = [csrf_token(c, "/") for c in clients]
    decisions = [
        {"decision": "approve", "note": ""} if n % 2 else {"decision": "refuse", "note": "No."}
        for n in range(CLICKS)
    ]
    start = threading.Barrier(CLICKS)
    statuses: list[int] = []

    def click(n: int) -> None:
        start.wait(30)
        data = {**decisions[n], "csrf_token": tokens[n]}
        statuses.append(clients[n].post(f"/exchanges/{number}", data=data).status_code)

    threads = [threading.Thread(target=click, args=(n,)) for n in range(CLICKS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    with Session(engine) as session:
        decided = session.scalars(
            select(ExchangeAuthorisation).where(ExchangeAuthorisation.number == number)
        ).one()
        orders, returns = _count(session, Order), _count(session, UnitReturn)
    print(
        f"\n{CLICKS} clicks of two approvers at once: {decided.status}, {orders} order, "
        f"{returns} RMA (answers {dict(Counter(statuses))})"
    )
    assert sorted(statuses) == [302] + [409] * (CLICKS - 1)
    expected = 1 if decided.status == "approved" else 0
    assert (orders, returns) == (expected, expected)


@pytest.mark.parametrize(
    ("role", "offered"),
    [
        (Role.EXCHANGE_APPROVER, {"Exchanges"}),
        (Role.ENGINEER, {"Exchange rules"}),
        (Role.ADMIN, {"Exchanges", "Exchange rules"}),
        (Role.TECHNICIAN, set()),
    ],
)
def test_the_menu_leads_approvers_and_keepers_to_their_pages(
    client: FlaskClient, auth: AuthActions, role: Role, offered: set[str]
) -> None:
    auth.login(role)
    html = client.get("/").get_data(as_text=True)
    nav = html[html.index('<nav aria-label="Main">') : html.index("</nav>")]
    links = {"Exchanges": 'href="/exchanges"', "Exchange rules": 'href="/exchanges/rules"'}
    assert {name for name, link in links.items() if link in nav} == offered
