"""Issue 15, ordering: a Flask-free core that the page and the API share, its policy, its
refusals in the API's one JSON shape, and statuses the database checks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from flask.testing import FlaskClient
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.idempotency import KeyReused, KeyTooLong
from app.mail.mailer import Mailer
from app.mail.models import OutboxMessage
from app.migrate import alembic_config
from app.orders import policy, services
from app.orders.models import DELIVERED, Order, OrderStatus
from app.roles import Role
from config import ROOT
from parts_catalog.importer import import_release
from tests import database
from tests.conftest import AuthActions
from tests.factories import make_user
from tests.orders.test_orders import KIT, KIT_ROWS
from tests.parts_catalog.releases import base_release


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    import_release(
        session, path=base_release(tmp_path / "r", parts=KIT, supersessions=KIT_ROWS), label="r"
    )
    session.commit()


# --- policy: plain values in, one answer out ------------------------------------------------------


def test_the_policy_answers_over_plain_values() -> None:
    tech = policy.Person(id=1, role=Role.TECHNICIAN, centre_id=10)
    colleague = policy.Person(id=2, role=Role.TECHNICIAN, centre_id=10)
    manager = policy.Person(id=3, role=Role.CENTRE_MANAGER, centre_id=10)
    elsewhere = policy.Person(id=4, role=Role.CENTRE_MANAGER, centre_id=11)
    adrift = policy.Person(id=5, role=Role.CENTRE_MANAGER, centre_id=None)
    admin = policy.Person(id=6, role=Role.ADMIN)
    engineer = policy.Person(id=7, role=Role.ENGINEER)
    order = policy.OrderFacts(placed_by_id=1, centre_id=10)

    assert [policy.sees(p, order) for p in (tech, colleague, manager, elsewhere, adrift)] == [
        True,
        False,
        True,
        False,
        False,
    ]
    assert policy.sees(admin, order)
    assert policy.may_cancel(tech, order)
    assert not policy.may_cancel(colleague, order)
    assert policy.may_return(manager, order)
    refused = policy.may_return(admin, order)
    assert not refused
    assert "service centre" in refused.reason
    assert not policy.may_order(engineer)
    assert not policy.may_order(adrift)
    assert policy.may_order(tech)
    assert policy.may_change_status(admin)
    assert not policy.may_change_status(manager)
    assert policy.may_decide_return(admin)
    assert not policy.may_decide_return(manager)
    assert policy.owns_cart_line(tech, 1)
    assert not policy.owns_cart_line(colleague, 1)


# --- one use case, handed its mailer --------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_placing_an_order_mails_through_the_mailer_it_is_handed(session: Session) -> None:
    """No Flask app: the service gets a Mailer built by hand, and owns mail and idempotency."""
    links: list[tuple[str, dict[str, Any]]] = []

    def link(endpoint: str, **values: Any) -> str:
        links.append((endpoint, values))
        return f"https://portal.example/orders/{values['order_id']}"

    mailer = Mailer(
        base_url="https://portal.example",
        templates=Environment(loader=FileSystemLoader(ROOT / "app" / "templates")),
        link=link,
    )
    user = make_user(session, role=Role.TECHNICIAN)
    asked = [services.Asked("1-900-000-21", 2)]
    order, new = services.place_order(
        session, user, asked, mailer=mailer, reference="bench 3", idempotency_key="m-1"
    )
    again, new_again = services.place_order(
        session, user, asked, mailer=mailer, reference="bench 3", idempotency_key="m-1"
    )
    assert (new, new_again, again.id) == (True, False, order.id)
    [mail] = session.scalars(select(OutboxMessage)).all()  # once, however often the key comes
    assert mail.to_address == user.email
    assert f"Order {order.id} is placed (your reference: bench 3)" in mail.body_text
    assert f"https://portal.example/orders/{order.id}" in mail.body_text
    assert links == [("orders.order", {"order_id": order.id})]
    with pytest.raises(KeyReused, match=f"order {order.id}"):
        services.place_order(session, user, asked, mailer=mailer, idempotency_key="m-1")
    with pytest.raises(KeyTooLong):
        services.place_order(session, user, asked, mailer=mailer, idempotency_key="k" * 81)
    assert len(session.scalars(select(Order)).all()) == 1


# --- refusals in the API's one shape ------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_the_orders_api_refuses_in_one_json_shape(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    technician = make_user(session, role=Role.TECHNICIAN)
    theirs, _ = services.place(
        session, make_user(session, role=Role.TECHNICIAN), [services.Asked("1-900-000-21", 1)]
    )
    session.commit()
    auth.login(user=technician)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    body = {"lines": [{"part_number": "1-900-000-21", "quantity": 1}]}

    def shape(answer: Any) -> tuple[int, set[str], int]:
        document = answer.get_json()
        return answer.status_code, set(document) - {"errors"}, document["status"]

    placed = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "s-1"})
    assert placed.status_code == 201
    order_id = placed.get_json()["id"]
    item = placed.get_json()["lines"][0]["items"][0]["id"]
    reused = client.post(
        "/api/v1/orders",
        json={"lines": [{"part_number": "1-900-000-21", "quantity": 2}]},
        headers={"Idempotency-Key": "s-1"},
    )
    assert shape(reused) == (409, {"error", "message", "status"}, 409)
    assert f"order {order_id}" in reused.get_json()["message"]
    not_ascii = client.post("/api/v1/orders", json=body, headers={"Idempotency-Key": "clé"})
    assert shape(not_ascii) == (422, {"error", "message", "status"}, 422)
    not_delivered = client.post(
        f"/api/v1/orders/{order_id}/returns", json={"item": item, "reason": "damaged"}
    )
    assert shape(not_delivered) == (422, {"error", "message", "status"}, 422)
    assert "Only delivered parts" in not_delivered.get_json()["message"]
    hidden = client.get(f"/api/v1/orders/{theirs.id}")
    assert shape(hidden) == (404, {"error", "message", "status"}, 404)
    hidden_return = client.post(
        f"/api/v1/orders/{theirs.id}/returns", json={"item": 1, "reason": "damaged"}
    )
    assert shape(hidden_return) == (404, {"error", "message", "status"}, 404)
    assert len(session.scalars(select(Order)).all()) == 2


# --- statuses the database checks ----------------------------------------------------------------


@pytest.mark.usefixtures("catalogue")
def test_the_database_refuses_a_status_it_does_not_know(session: Session) -> None:
    order, _ = services.place(
        session, make_user(session, role=Role.TECHNICIAN), [services.Asked("1-900-000-21", 1)]
    )
    assert order.status is OrderStatus.PLACED
    for column, value in (("status", "lost"), ("kind", "gift")):
        with pytest.raises(IntegrityError), session.begin_nested():
            session.execute(
                text(f"UPDATE orders SET {column} = :value WHERE id = :id"),
                {"value": value, "id": order.id},
            )
    session.refresh(order)
    assert (order.status, order.kind) == ("placed", "paid")


@pytest.fixture
def committed_order(engine: Engine, tmp_path: Path) -> Iterator[int]:
    with Session(engine) as session:
        import_release(
            session, path=base_release(tmp_path / "r", parts=KIT, supersessions=KIT_ROWS), label="r"
        )
        technician = make_user(session, role=Role.TECHNICIAN)
        order, _ = services.place(session, technician, [services.Asked("1-900-000-21", 1)])
        session.commit()
        order_id = order.id
    yield order_id
    database.delete_all_rows(engine)


def test_the_migration_names_rows_it_cannot_check_instead_of_guessing(
    engine: Engine, database_url: str, committed_order: int
) -> None:
    cfg = alembic_config(database_url)
    cfg.attributes["configure_logger"] = False
    command.downgrade(cfg, "0022")
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE orders SET status = 'lost' WHERE id = :id"), {"id": committed_order}
            )
        # On our own connection: env.py's engine is not disposed when a migration raises.
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            with pytest.raises(RuntimeError) as refused:
                command.upgrade(cfg, "head")
            conn.rollback()
        del cfg.attributes["connection"]
        assert "orders.status must be one of placed, " in str(refused.value)
        assert f"{committed_order} ('lost')" in str(refused.value)
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE orders SET status = :s WHERE id = :id"),
                {"s": DELIVERED.value, "id": committed_order},
            )
    finally:
        command.upgrade(cfg, "head")
    with Session(engine) as session:
        order = session.get(Order, committed_order)
        assert order is not None
        assert order.status is OrderStatus.DELIVERED
