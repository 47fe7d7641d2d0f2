"""Ordering: lists read and reported line by line, orders placed as the catalogue says today,
stock reserved without overselling, returns."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from app.orders import services
from app.orders.models import DELIVERED, Order
from app.roles import Role
from parts_catalog.importer import import_release
from parts_catalog.models import Erratum, StockLevel
from tests import database
from tests.conftest import AuthActions
from tests.factories import make_user
from tests.parts_catalog.releases import BASE_PARTS, base_release, part

KIT = [
    *BASE_PARTS,
    part("1-900-000-11", "OLD HARNESS", stock_qty="0"),
    part("1-900-000-21", "HARNESS A", unit_price="3.00", currency="EUR", stock_qty="5"),
    part("1-900-000-22", "HARNESS B", unit_price="4.00", currency="EUR", stock_qty="5"),
    part("1-900-000-31", "DISCONTINUED CLIP", status="nla"),
]
KIT_ROWS = [
    {
        "old_part_number": "1-474-594-11",
        "new_part_number": "1-474-594-12",
        "interchangeability": "one_way",
    },
    {
        "old_part_number": "1-900-000-11",
        "new_part_number": "1-900-000-21",
        "interchangeability": "one_way",
    },
    {
        "old_part_number": "1-900-000-11",
        "new_part_number": "1-900-000-22",
        "interchangeability": "one_way",
        "quantity": "2",
    },
]


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    import_release(
        session, path=base_release(tmp_path / "r1", parts=KIT, supersessions=KIT_ROWS), label="r1"
    )
    session.commit()


def test_a_pasted_list_is_read_and_reported_line_by_line(session: Session, catalogue: None) -> None:
    asked, problems = services.read_list(
        "part_number,quantity\n1474594-11, 2\na2072533a\n1-900-000-11 x 1\n9-999-999-99\n"
        "1-900-000-31\nX-1, lots\n"
    )
    assert problems == ["line 7: “lots” is not a whole quantity"]
    report = services.check(session, asked)
    assert [c.verdict for c in report] == [
        "superseded",
        "current",
        "kit",
        "unknown",
        "no_longer_available",
    ]
    assert report[0].message == "You asked for 1474594-11; 1-474-594-12 replaces it (one-way)."
    assert report[2].items[1][:2] == ("1-900-000-22", 2)


@pytest.mark.usefixtures("catalogue")
def test_the_orders_api(client: FlaskClient, auth: AuthActions, session: Session) -> None:
    auth.login(Role.TECHNICIAN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    body = {
        "reference": "job 4711",
        "lines": [
            {"part_number": "1 474 594 11", "quantity": 1},
            {"part_number": "1-900-000-11", "quantity": 3},
        ],
    }
    placed = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "k1"})
    assert placed.status_code == 201
    order = placed.get_json()
    first, kit = order["lines"]
    assert first["requested"] == "1 474 594 11"
    assert first["resolution"]["outcome"] == "superseded"
    assert first["items"][0] | {"id": 0} == {
        "id": 0,
        "part_number": "1-474-594-12",
        "quantity": 1,
        "reserved": 1,
        "backordered": 0,
        "unit_price": "89.00",
    }
    assert [
        (i["part_number"], i["quantity"], i["reserved"], i["backordered"]) for i in kit["items"]
    ] == [
        ("1-900-000-21", 3, 3, 0),
        ("1-900-000-22", 6, 5, 1),
    ]
    again = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "k1"})
    assert again.status_code == 200
    assert again.get_json()["id"] == order["id"]
    refused = client.post(
        "/api/v1/orders",
        json={
            "lines": [
                {"part_number": "9-999-999-99", "quantity": 1},
                {"part_number": "1-900-000-31", "quantity": 1},
            ]
        },
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == [
        "line 1: 9-999-999-99 is not in the catalogue.",
        "line 2: 1-900-000-31 is no longer available and nothing replaces it.",
    ]
    assert len(client.get("/api/v1/orders").get_json()["orders"]) == 1
    assert client.get(f"/api/v1/orders/{order['id']}").status_code == 200
    # Another centre sees nothing of it.
    auth.logout()
    auth.login(Role.TECHNICIAN)
    assert client.get(f"/api/v1/orders/{order['id']}").status_code == 404
    assert client.get("/api/v1/orders").get_json()["orders"] == []


@pytest.mark.usefixtures("catalogue")
def test_a_catalogue_error_return_is_accepted_and_reaches_the_engineers(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.TECHNICIAN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    order = client.post(
        "/api/v1/orders", json={"lines": [{"part_number": "A-2072-533-A", "quantity": 1}]}
    ).get_json()
    item = order["lines"][0]["items"][0]["id"]
    url = f"/api/v1/orders/{order['id']}/returns"
    early = client.post(url, json={"item": item, "reason": "not_needed"})
    assert early.status_code == 422
    session.execute(update(Order).where(Order.id == order["id"]).values(status=DELIVERED))
    session.commit()
    made = client.post(
        url,
        json={
            "item": item,
            "reason": "catalogue_error",
            "model_number": "KDL-55W800C",
            "note": "no fit",
        },
    )
    assert made.status_code == 201
    assert made.get_json()["status"] == "accepted"
    erratum = session.get(Erratum, made.get_json()["erratum"])
    assert (erratum.part_number, erratum.model_number) == ("A-2072-533-A", "KDL-55W800C")
    assert (
        client.post(url, json={"item": item, "reason": "damaged"}).status_code == 422
    )  # all returned


@pytest.fixture
def committed(engine: Engine, tmp_path: Path) -> Iterator[list[int]]:
    """A catalogue and fifty technicians committed for real (threads use their own connections)."""
    with Session(engine) as session:
        parts = [*BASE_PARTS, part("1-555-000-11", "SCARCE BOARD", stock_qty="10")]
        import_release(session, path=base_release(tmp_path / "r", parts=parts), label="r")
        first = make_user(session, role=Role.TECHNICIAN)
        users = [first.id] + [
            make_user(session, role=Role.TECHNICIAN, centre=first.centre).id for _ in range(49)
        ]
        session.commit()
    yield users
    database.delete_all_rows(engine)


def test_fifty_concurrent_orders_never_oversell(engine: Engine, committed: list[int]) -> None:
    from app.auth.models import User

    errors: list[BaseException] = []
    start = threading.Barrier(len(committed))

    def order(user_id: int) -> None:
        try:
            start.wait(30)  # all at once (connections are taken after: the pool is smaller)
            with Session(engine) as session:
                user = session.get(User, user_id)
                for attempt in range(50):
                    try:
                        services.place(session, user, [services.Asked("1-555-000-11", 1)])  # type: ignore[arg-type]
                        session.commit()
                        return
                    except Exception as exc:  # SQLite answers "database is locked" under load
                        session.rollback()
                        if "locked" not in str(exc) or attempt == 49:
                            raise
                        time.sleep(random.uniform(0.01, 0.2))  # and serialises the writers
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=order, args=(u,)) for u in committed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with Session(engine) as session:
        orders = session.scalars(select(Order)).all()
        items = [i for o in orders for line in o.lines for i in line.items]
        assert len(orders) == 50
        reserved = sum(i.reserved for i in items)
        print(
            f"\n50 concurrent orders for 10 in stock ({engine.dialect.name}): {reserved} reserved"
        )
        assert reserved == 10
        assert sum(i.backordered for i in items) == 40
        assert session.get(StockLevel, "155500011").quantity == 0  # type: ignore[union-attr]


@pytest.mark.usefixtures("catalogue")
def test_the_cart_page_keeps_a_list_it_cannot_read(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    import io

    auth.login(Role.CENTRE_MANAGER)
    token = auth.csrf()
    typed = "1-474-594-11, 2\nA-2072-533-A, plenty"
    refused = client.post("/orders/cart/paste", data={"text": typed, "csrf_token": token})
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "line 2: “plenty” is not a whole quantity" in html
    assert "A-2072-533-A, plenty</textarea>" in html
    uploaded = client.post(
        "/orders/cart/paste",
        data={
            "text": "",
            "file": (io.BytesIO(b"part_number,quantity\n1-474-594-11,2\n"), "list.csv"),
            "csrf_token": token,
        },
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    cart = client.get("/orders/cart").get_data(as_text=True)
    assert "1-474-594-12 × 2" in cart
    placed = client.post(
        "/orders/cart/place", data={"key": "abc", "kind": "paid", "csrf_token": token}
    )
    assert placed.status_code == 302
    again = client.post(
        "/orders/cart/place", data={"key": "abc", "kind": "paid", "csrf_token": token}
    )
    assert again.headers["Location"] == placed.headers["Location"]  # the same order
    from app.mail.models import OutboxMessage

    mails = session.scalars(select(OutboxMessage)).all()
    assert len(mails) == 1  # one confirmation, in the order's transaction
    assert "1-474-594-11 × 2 (superseded)" in mails[0].body_text
    assert "ships 1-474-594-12 × 2" in mails[0].body_text
    csv_text = client.get("/orders/export.csv").get_data(as_text=True)
    assert "1-474-594-12" in csv_text


def test_what_the_review_found_stays_fixed(session: Session, catalogue: None) -> None:
    from app.auth.models import ServiceCentre

    user = make_user(session, role=Role.TECHNICIAN)
    stock = lambda: session.get(StockLevel, "190000021").quantity  # noqa: E731
    order, new = services.place(
        session, user, [services.Asked("1-900-000-21", 2)], idempotency_key="k"
    )
    assert new
    assert stock() == 3
    again, new = services.place(
        session, user, [services.Asked("1-900-000-21", 2)], idempotency_key="k"
    )
    assert (again.id, new, stock()) == (order.id, False, 3)  # a repeat takes no stock
    services.cancel(session, order)
    with pytest.raises(services.OrderError, match="can no longer be cancelled"):
        services.cancel(session, order)
    assert stock() == 5  # given back once
    with pytest.raises(services.OrderError, match="stays cancelled"):
        services.set_status(session, order, "placed")
    shipped, _ = services.place(session, user, [services.Asked("1-900-000-21", 1)])
    services.set_status(session, shipped, "shipped")
    with pytest.raises(services.OrderError, match="forward only"):
        services.set_status(session, shipped, "placed")
    # A technician who moves to another centre leaves its orders behind.
    user.centre = ServiceCentre(name="Elsewhere")
    session.flush()
    assert services.get_order(session, user, shipped.id) is None
    asked, problems = services.read_list("1-474-594-11, ²")
    assert (asked, problems) == ([], ["line 1: “²” is not a whole quantity"])


def test_a_kit_with_a_part_gone_cannot_be_ordered(session: Session, tmp_path: Path) -> None:
    parts = [*KIT, part("1-900-000-41", "OLD BRACKET")]
    rows = [
        *KIT_ROWS,
        {
            "old_part_number": "1-900-000-41",
            "new_part_number": "1-900-000-21",
            "interchangeability": "one_way",
        },
        {
            "old_part_number": "1-900-000-41",
            "new_part_number": "1-900-000-31",
            "interchangeability": "one_way",
        },
    ]
    import_release(
        session, path=base_release(tmp_path / "r", parts=parts, supersessions=rows), label="r"
    )
    report = services.check(session, [services.Asked("1-900-000-41", 1)])
    assert report[0].verdict == "incomplete"
    assert "1-900-000-31" in report[0].message
