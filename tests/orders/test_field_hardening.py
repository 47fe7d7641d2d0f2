"""Issue 14, ordering: what an attacker and a new user found, each kept fixed.

Conditional replacements are confirmed before they are ordered; a serial chooses between the
ends of a ranged row; the cart says what a merge did and what everything costs; a return keeps
what was typed; the orders API is strict about keys and quantities and mails as the page does;
status changes are compare-and-set, raced on real connections.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.mail.models import OutboxMessage
from app.orders import services
from app.orders.models import CANCELLED, DELIVERED, SHIPPED, CartLine, Order, ReturnRequest
from app.roles import Role
from parts_catalog.importer import import_release
from parts_catalog.models import StockLevel
from tests import database
from tests.conftest import AuthActions
from tests.factories import make_user
from tests.parts_catalog.releases import BASE_PARTS, BASE_SUPERSESSIONS, base_release, part

BRACKET = "only with the new bracket 3-100-200-01"
PARTS = [
    *BASE_PARTS,
    part("1-800-000-11", "FAN", unit_price="10.00", currency="EUR", stock_qty="4"),
    part("1-800-000-12", "FAN, QUIET", unit_price="12.00", currency="EUR", stock_qty="2"),
    part("1-810-000-11", "LENS", unit_price="50.00", currency="EUR", stock_qty="1"),
    part("1-810-000-12", "LENS, COATED", unit_price="55.00", currency="EUR", stock_qty="1"),
]
ROWS = [
    *BASE_SUPERSESSIONS,
    {
        "old_part_number": "1-800-000-11",
        "new_part_number": "1-800-000-12",
        "interchangeability": "conditional",
        "note": BRACKET,
    },
    {
        "old_part_number": "1-810-000-11",
        "new_part_number": "1-810-000-12",
        "interchangeability": "conditional",
        "serial_from": "5000000",
        "note": "the coated lens needs the later housing",
    },
]


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    import_release(
        session, path=base_release(tmp_path / "r", parts=PARTS, supersessions=ROWS), label="r"
    )
    session.commit()


def _flashes(html: str) -> str:
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>(.*?)</', html, re.S))


# --- 2. conditional replacements --------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_a_conditional_line_is_placed_only_once_its_condition_is_confirmed(
    session: Session,
) -> None:
    user = make_user(session, role=Role.TECHNICIAN)
    [checked] = services.check(session, [services.Asked("1-800-000-11", 1)])
    assert checked.verdict == "conditional"
    assert BRACKET in checked.message
    with pytest.raises(services.OrderError) as refused:
        services.place(session, user, [services.Asked("1-800-000-11", 1)])
    assert refused.value.problems == [f"line 1: {checked.message}"]
    assert session.scalar(select(Order)) is None
    # A serial does not decide a condition without a serial range: the note still applies.
    with pytest.raises(services.OrderError):
        services.place(session, user, [services.Asked("1-800-000-11", 1, serial="123")])
    order, _ = services.place(session, user, [services.Asked("1-800-000-11", 1, acknowledged=True)])
    [line] = order.lines
    assert [(i.part_number, i.quantity) for i in line.items] == [("1-800-000-12", 1)]
    assert line.acknowledged == BRACKET


@pytest.mark.usefixtures("catalogue")
def test_a_serial_range_chooses_one_end_instead_of_ordering_both(session: Session) -> None:
    [unsure] = services.check(session, [services.Asked("1-810-000-11", 1)])
    assert unsure.verdict == "conditional"
    assert unsure.items == []  # nothing ships until the unit's serial chooses
    assert "serial" in unsure.message
    [later] = services.check(session, [services.Asked("1-810-000-11", 1, serial="5000001")])
    assert (later.verdict, [i[:2] for i in later.items]) == (
        "superseded",
        [("1-810-000-12", 1)],
    )
    [earlier] = services.check(session, [services.Asked("1-810-000-11", 1, serial="4000000")])
    assert (earlier.verdict, [i[:2] for i in earlier.items]) == (
        "current",
        [("1-810-000-11", 1)],
    )


@pytest.mark.usefixtures("catalogue")
def test_the_api_refuses_an_unconfirmed_conditional_line(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(Role.TECHNICIAN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    line = {"part_number": "1-800-000-11", "quantity": 1}
    refused = client.post("/api/v1/orders", json={"lines": [line]})
    assert refused.status_code == 422
    [problem] = refused.get_json()["errors"]
    assert problem.startswith("line 1: ")
    assert BRACKET in problem
    assert "acknowledge_conditions" in problem
    loose = client.post(
        "/api/v1/orders", json={"lines": [line | {"acknowledge_conditions": "yes"}]}
    )
    assert loose.status_code == 422
    placed = client.post(
        "/api/v1/orders", json={"lines": [line | {"acknowledge_conditions": True}]}
    )
    assert placed.status_code == 201
    [placed_line] = placed.get_json()["lines"]
    assert placed_line["acknowledged_conditions"] == BRACKET
    assert placed_line["items"][0]["part_number"] == "1-800-000-12"
    ranged = client.post(
        "/api/v1/orders",
        json={"lines": [{"part_number": "1-810-000-11", "quantity": 1, "serial": "5000001"}]},
    )
    assert ranged.status_code == 201
    assert ranged.get_json()["lines"][0]["items"][0]["part_number"] == "1-810-000-12"


@pytest.mark.usefixtures("catalogue")
def test_the_cart_asks_to_confirm_a_condition_before_placing(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.TECHNICIAN)
    token = auth.csrf()
    client.post(
        "/orders/cart/add", data={"number": "1-800-000-11", "quantity": 1, "csrf_token": token}
    )
    cart = client.get("/orders/cart").get_data(as_text=True)
    assert BRACKET in cart
    assert "The condition applies to this unit" in cart
    refused = client.post(
        "/orders/cart/place", data={"key": "c1", "kind": "paid", "csrf_token": token}
    )
    assert refused.status_code == 422
    assert BRACKET in refused.get_data(as_text=True)
    line = session.scalar(select(CartLine))
    assert line is not None
    confirmed = client.post(f"/orders/cart/{line.id}/confirm", data={"csrf_token": token})
    assert confirmed.status_code == 302
    placed = client.post(
        "/orders/cart/place", data={"key": "c1", "kind": "paid", "csrf_token": token}
    )
    assert placed.status_code == 302
    order = session.scalar(select(Order))
    assert order is not None
    assert order.lines[0].acknowledged == BRACKET


@pytest.mark.usefixtures("catalogue")
def test_the_part_page_button_adds_what_it_names(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.TECHNICIAN)
    token = auth.csrf()
    # Two ends by serial: no button promising both; the serial chooses one.
    ranged = client.get("/catalog/parts/1-810-000-11").get_data(as_text=True)
    assert "+ 1-810-000-11" not in ranged
    assert "to the cart</button>" not in ranged
    assert "Give the unit's serial number" in ranged
    narrowed = client.get("/catalog/parts/1-810-000-11?serial=5000001").get_data(as_text=True)
    assert "Add 1-810-000-12 × 1 to the cart</button>" in narrowed
    assert 'name="serial" value="5000001"' in narrowed
    client.post(
        "/orders/cart/add",
        data={"number": "1-810-000-11", "quantity": 1, "serial": "5000001", "csrf_token": token},
    )
    # A condition: the box to tick is required, and the line keeps that it was ticked.
    conditional = client.get("/catalog/parts/1-800-000-11").get_data(as_text=True)
    assert "Add 1-800-000-12 × 1 to the cart</button>" in conditional
    box = re.search(r"<input[^>]*name=\"acknowledge\"[^>]*>", conditional)
    assert box
    assert "required" in box.group(0)
    assert BRACKET in conditional
    client.post(
        "/orders/cart/add",
        data={"number": "1-800-000-11", "quantity": 1, "acknowledge": "y", "csrf_token": token},
    )
    lines = {c.requested: (c.serial, c.acknowledged) for c in session.scalars(select(CartLine))}
    assert lines == {"1-810-000-11": ("5000001", False), "1-800-000-11": (None, True)}
    report = client.get("/orders/cart").get_data(as_text=True)
    assert "1-810-000-12 × 1" in report
    assert "1-800-000-12 × 1" in report
    assert "disabled>Place the order" not in report.replace('"', "")


# --- 3. the part page shows what will be ordered first ----------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_the_part_page_prices_what_will_be_ordered_before_the_old_number(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(Role.TECHNICIAN)
    html = client.get("/catalog/parts/1-474-594-11").get_data(as_text=True)
    answer = html[html.index("What to order") :]
    new = answer.index("89.00 EUR")  # 1-474-594-12's price
    assert answer.index("3 in stock") > new - 400  # its stock, beside it
    old = answer.index("This number (superseded)")
    assert new < old < answer.index("84.50 EUR")  # 1-474-594-11's own price, labelled, after
    assert answer.index("7 in stock") > old


# --- 4. merges said, totals shown -----------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_pasting_into_a_cart_says_what_merged_and_the_cart_totals(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(Role.TECHNICIAN)
    token = auth.csrf()
    client.post("/orders/cart/paste", data={"text": "1-474-594-11, 1", "csrf_token": token})
    merged = client.post(
        "/orders/cart/paste",
        data={"text": "1-474-594-11, 4\nA-2072-533-A", "csrf_token": token},
        follow_redirects=True,
    )
    said = _flashes(merged.get_data(as_text=True))
    assert "1-474-594-11: 4 added to the 1 already in the cart, now 5" in said
    assert "A-2072-533-A × 1 added" in said
    html = merged.get_data(as_text=True)
    assert "445.00 EUR" in html  # 5 × 89.00, the line
    assert "2 backordered" in html  # 3 in stock
    assert "1 backordered" in html  # A-2072-533-A: no stock
    assert "Total 565.00 EUR" in html
    too_many = client.post(
        "/orders/cart/paste", data={"text": "1-474-594-11, 995", "csrf_token": token}
    )
    assert too_many.status_code == 422
    assert "would make 1000" in too_many.get_data(as_text=True)


def test_a_serial_refused_for_a_cart_line_says_why(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    user = auth.login(Role.TECHNICIAN)
    token = auth.csrf()
    client.post("/orders/cart/paste", data={"text": "1-474-594-11, 1", "csrf_token": token})
    line = session.scalars(select(CartLine).where(CartLine.user_id == user.id)).one()
    refused = client.post(
        f"/orders/cart/{line.id}/serial",
        data={"serial": "4" * 500, "csrf_token": token},
        follow_redirects=True,
    )
    assert "The serial number was not set" in _flashes(refused.get_data(as_text=True))
    session.refresh(line)
    assert line.serial is None


# --- 1. returns --------------------------------------------------------------------------------


@pytest.fixture
def delivered(session: Session, catalogue: None) -> tuple[User, Order]:
    technician = make_user(session, role=Role.TECHNICIAN)
    order, _ = services.place(session, technician, [services.Asked("A-2072-533-A", 2)])
    session.execute(update(Order).where(Order.id == order.id).values(status=DELIVERED))
    session.commit()
    return technician, order


def test_a_return_with_a_field_missing_keeps_everything_typed(
    client: FlaskClient, auth: AuthActions, delivered: tuple[User, Order]
) -> None:
    technician, order = delivered
    auth.login(user=technician)
    item = order.lines[0].items[0]
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    label = re.search(rf'<label for="model-{item.id}">(.*?)</label>', page, re.S)
    assert label
    assert "required for a catalogue error" in label.group(1)
    refused = client.post(
        f"/orders/{order.id}/returns",
        data={
            "item": item.id,
            "quantity": 2,
            "reason": "catalogue_error",
            "model_number": "",
            "note": "listed for the 55 inch, fits the 65 only",
            "csrf_token": auth.csrf(),
        },
    )
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "give the model the part was listed for" in html
    assert "listed for the 55 inch, fits the 65 only</textarea>" in html
    assert '<option value="catalogue_error" selected>' in html
    assert re.search(rf'id="qty-{item.id}"[^>]*value="2"', html)
    assert "<details open" in html  # the form is shown, not folded away


def test_a_centre_manager_sees_the_centres_returns(
    client: FlaskClient, auth: AuthActions, session: Session, delivered: tuple[User, Order]
) -> None:
    technician, order = delivered
    item = order.lines[0].items[0]
    services.request_return(
        session,
        order,
        item.id,
        quantity=1,
        reason="damaged",
        note="cracked",
        model_number=None,
        by=technician.email,
    )
    other = make_user(session, role=Role.TECHNICIAN)
    theirs, _ = services.place(session, other, [services.Asked("A-2072-533-A", 1)])
    theirs.status = DELIVERED
    services.request_return(
        session,
        theirs,
        theirs.lines[0].items[0].id,
        quantity=1,
        reason="not_needed",
        note="elsewhere",
        model_number=None,
        by=other.email,
    )
    session.commit()
    auth.login(
        Role.CENTRE_MANAGER,
        user=make_user(session, role=Role.CENTRE_MANAGER, centre=technician.centre),
    )
    page = client.get("/orders/returns")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "cracked" in html
    assert "elsewhere" not in html
    assert "Record</button>" not in html  # deciding stays with the staff
    request = session.scalar(select(ReturnRequest).where(ReturnRequest.note == "cracked"))
    assert request is not None
    decide = client.post(
        f"/orders/returns/{request.id}",
        data={"decision": "accepted", "note": "", "csrf_token": auth.csrf()},
    )
    assert decide.status_code == 403


# --- 6. idempotency keys and quantities in the API ----------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_the_api_is_strict_about_keys_and_quantities(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.TECHNICIAN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    body = {"lines": [{"part_number": "A-2072-533-A", "quantity": 1}]}
    first = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    again = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "k-1"})
    assert (again.status_code, again.get_json()["id"]) == (200, first.get_json()["id"])
    other = {"lines": [{"part_number": "A-2072-533-A", "quantity": 2}]}
    reused = client.post("/api/v1/orders", json=other, headers={"Idempotency-Key": "k-1"})
    assert reused.status_code == 409
    assert str(first.get_json()["id"]) in reused.get_json()["message"]
    long_key = "k" * 81
    too_long = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": long_key})
    assert too_long.status_code == 422
    assert "80" in too_long.get_json()["message"]
    for quantity in (1.5, 1.0, "2", "1e0", True, 0, 1000, None):
        bad = {"lines": [body["lines"][0], {"part_number": "A-2072-533-A", "quantity": quantity}]}
        refused = client.post("/api/v1/orders", json=bad)
        assert refused.status_code == 422, quantity
        assert "line 2" in str(refused.get_json()["errors"]), quantity
    assert len(session.scalars(select(Order)).all()) == 1


# --- 7. one use case, one mail -------------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_the_page_and_the_api_place_the_same_order_with_the_same_mail(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.TECHNICIAN)
    token = auth.csrf()
    client.post(
        "/orders/cart/paste", data={"text": "1-474-594-11, 1\nA-2072-533-A", "csrf_token": token}
    )
    by_page = client.post(
        "/orders/cart/place",
        data={"key": "p1", "kind": "paid", "reference": "job 9", "csrf_token": token},
    )
    assert by_page.status_code == 302
    client.environ_base["HTTP_X_CSRFTOKEN"] = token
    by_api = client.post(
        "/api/v1/orders",
        json={
            "reference": "job 9",
            "lines": [
                {"part_number": "1-474-594-11", "quantity": 1},
                {"part_number": "A-2072-533-A", "quantity": 1},
            ],
        },
    )
    assert by_api.status_code == 201
    orders = session.scalars(select(Order).order_by(Order.id)).all()
    mails = session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
    assert len(mails) == 2

    def anonymous(mail: OutboxMessage, order: Order) -> tuple[str, str, str]:
        def same(text: str) -> str:
            return re.sub(rf"\b(Order |/orders/){order.id}\b", r"\1N", text)

        return (mail.to_address, same(mail.subject), same(mail.body_text))

    assert anonymous(mails[0], orders[0]) == anonymous(mails[1], orders[1])
    assert f"Order {orders[1].id} is placed (your reference: job 9)" in mails[1].body_text
    assert "ships 1-474-594-12 × 1: 1 reserved" in mails[1].body_text


# --- 5. status changes raced on real connections -------------------------------------------------


@pytest.fixture
def committed_order_setup(engine: Engine, tmp_path: Path) -> Iterator[tuple[int, int]]:
    with Session(engine) as session:
        parts = [*BASE_PARTS, part("1-555-000-11", "SCARCE BOARD", stock_qty="100")]
        import_release(session, path=base_release(tmp_path / "r", parts=parts), label="r")
        technician = make_user(session, role=Role.TECHNICIAN)
        admin = make_user(session, role=Role.ADMIN)
        session.commit()
        ids = (technician.id, admin.id)
    yield ids
    database.delete_all_rows(engine)


def _retrying(engine: Engine, work) -> str:  # type: ignore[no-untyped-def]
    """Run ``work(session)`` and commit; SQLite's "database is locked" is retried."""
    for attempt in range(100):
        with Session(engine) as session:
            try:
                outcome = work(session)
                session.commit()
                return str(outcome)
            except services.OrderError as exc:
                session.rollback()
                return f"refused: {exc}"
            except Exception as exc:
                session.rollback()
                if "locked" not in str(exc) or attempt == 99:
                    raise
                time.sleep(0.01)
    raise AssertionError("unreachable")


def _race(engine: Engine, order_id: int, admin_id: int) -> dict[str, str]:
    """An admin ships while another cancels, both having read the order as placed."""
    ready = threading.Barrier(2)
    answers: dict[str, str] = {}

    def act(status: str) -> None:
        first = [True]

        def work(session: Session) -> str:
            user = session.get(User, admin_id)
            assert user is not None
            order = services.get_order(session, user, order_id)
            assert order is not None
            if first.pop() if first else False:
                ready.wait(10)  # both have read the order (a retry after a lock goes alone)
            services.set_status(session, order, status)
            return status

        answers[status] = _retrying(engine, work)

    threads = [threading.Thread(target=act, args=(s,)) for s in (SHIPPED, CANCELLED)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


def test_a_status_change_racing_a_cancel_never_ships_given_back_stock(
    engine: Engine, committed_order_setup: tuple[int, int]
) -> None:
    technician_id, admin_id = committed_order_setup
    trials, inconsistent, refused = 30, 0, 0
    stock_of = select(StockLevel.quantity).where(StockLevel.number_norm == "155500011")
    for _trial in range(trials):
        with Session(engine) as session:
            technician = session.get(User, technician_id)
            assert technician is not None
            order, _ = services.place(session, technician, [services.Asked("1-555-000-11", 3)])
            session.commit()
            order_id = order.id
            before = session.scalar(stock_of) or 0
        answers = _race(engine, order_id, admin_id)
        with Session(engine) as session:
            final = session.get(Order, order_id)
            assert final is not None
            given_back = session.scalar(stock_of) == before + 3
        if (final.status == CANCELLED) != given_back:
            inconsistent += 1
        refused += sum("changed meanwhile" in a for a in answers.values())
    print(
        f"\n{trials} ship-vs-cancel races ({engine.dialect.name}): {inconsistent} with stock "
        f"inconsistent, {refused} refused as 'changed meanwhile'"
    )
    assert inconsistent == 0


@pytest.mark.usefixtures("catalogue")
def test_parts_added_from_a_diagnostic_fix_keep_the_units_serial_and_still_need_confirming(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.TECHNICIAN)
    token = auth.csrf()
    # What a fix's "Add these parts to the cart" sends: its parts, and the walk's serial.
    client.post(
        "/orders/cart/paste",
        data={
            "text": "1-810-000-11, 1\n1-800-000-11, 1\n",
            "serial": "5000001",
            "csrf_token": token,
        },
    )
    lines = {c.requested: c.serial for c in session.scalars(select(CartLine))}
    assert lines == {"1-810-000-11": "5000001", "1-800-000-11": "5000001"}
    refused = client.post(
        "/orders/cart/place", data={"key": "f1", "kind": "paid", "csrf_token": token}
    )
    assert refused.status_code == 422
    assert f"1-800-000-11: 1-800-000-12 × 1 replaces it only if: {BRACKET}" in refused.get_data(
        as_text=True
    )


@pytest.mark.usefixtures("catalogue")
def test_a_status_decided_on_a_stale_page_changes_nothing(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    technician = make_user(session, role=Role.TECHNICIAN)
    order, _ = services.place(session, technician, [services.Asked("A-2072-533-A", 1)])
    session.commit()
    auth.login(Role.ADMIN)
    page = client.get(f"/orders/{order.id}").get_data(as_text=True)
    seen = re.search(r"<input[^>]*name=\"seen\"[^>]*>", page)
    assert seen
    assert 'value="placed"' in seen.group(0)
    services.cancel(session, order)  # meanwhile, the technician cancels
    session.commit()
    answer = client.post(
        f"/orders/{order.id}/status",
        data={"status": "picking", "seen": "placed", "csrf_token": auth.csrf()},
        follow_redirects=True,
    )
    assert "changed meanwhile: it was placed, it is now cancelled" in answer.get_data(as_text=True)
    session.refresh(order)
    assert order.status == CANCELLED


def test_a_return_decided_twice_at_once_stands_once(
    session: Session, delivered: tuple[User, Order]
) -> None:
    technician, order = delivered
    request = services.request_return(
        session,
        order,
        order.lines[0].items[0].id,
        quantity=1,
        reason="damaged",
        note="",
        model_number=None,
        by=technician.email,
    )
    # Another admin credits it between this one's reading and writing.
    session.execute(
        update(ReturnRequest)
        .where(ReturnRequest.id == request.id)
        .values(status="refused", decision_note="not ours")
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(services.OrderChanged, match="it was requested, it is now refused"):
        services.decide_return(session, request.id, decision="accepted", note="", by="admin")
    assert request.status == "refused"


@pytest.mark.usefixtures("catalogue")
def test_a_stale_cart_page_does_not_answer_with_its_old_order(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.TECHNICIAN)
    token = auth.csrf()
    client.post(
        "/orders/cart/add", data={"number": "A-2072-533-A", "quantity": 1, "csrf_token": token}
    )
    form = {"key": "page-1", "kind": "paid", "csrf_token": token}
    first = client.post("/orders/cart/place", data=form)
    assert first.status_code == 302
    assert (
        client.post("/orders/cart/place", data=form).headers["Location"]
        == first.headers["Location"]
    )
    client.post(
        "/orders/cart/add", data={"number": "4-234-704-01", "quantity": 1, "csrf_token": token}
    )
    stale = client.post("/orders/cart/place", data=form)  # the Back button's page, sent again
    assert stale.status_code == 409
    assert "the cart has changed since" in stale.get_data(as_text=True)
    assert len(session.scalars(select(Order)).all()) == 1
    assert session.scalar(select(CartLine)) is not None  # the new line waits in the cart
