"""Issue 18, safety blocking: a safety notice about a part holds an order of any number of its
chain, and one about a tree holds the answers of its walk, on the page and through the API,
until the person acknowledges it; then both go on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.extensions import current_settings
from app.notices import services
from app.notices.models import Notice, NoticeAcknowledgement
from app.orders.models import Order
from app.roles import Role
from diagnostics import services as diagnostics
from diagnostics import trees
from parts_catalog.importer import import_release
from tests.conftest import AuthActions
from tests.diagnostics.test_trees import TREE
from tests.factories import make_centre, make_user
from tests.notices.test_notices import asked
from tests.parts_catalog.releases import base_release


@pytest.fixture
def world(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
    diagnostics.import_tree(session, trees.dump(TREE), by="eng", publish=True)
    session.commit()


def _publish(session: Session, app: Flask, **changes: Any) -> Notice:
    author = make_user(session, role=Role.ENGINEER)
    notice = services.create(session, by=author, asked=asked(**changes))
    services.review(session, notice, by=make_user(session, role=Role.ADMIN))
    with app.app_context():
        services.publish(session, notice, by=author, mailer=current_settings().mail)
    session.commit()
    return notice


def _acknowledge(client: FlaskClient, auth: AuthActions, notice: Notice, back: str) -> None:
    """As a person does it: from the link in the refusal, then back where they were."""
    page = client.get(f"/notices/{notice.id}?next={back}")
    assert page.status_code == 200
    assert f'name="next" value="{back}"' in page.get_data(as_text=True)
    done = client.post(
        f"/notices/{notice.id}/acknowledge", data={"csrf_token": auth.csrf(), "next": back}
    )
    assert done.status_code == 302
    assert done.headers["Location"] == back


@pytest.mark.usefixtures("world")
def test_a_safety_notice_about_a_part_holds_its_chains_order_until_acknowledged(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    # The notice names the new number; the technician asks for the old one.
    notice = _publish(session, app, targets={"part": ["1-474-594-12"]})
    tech = make_user(session, role=Role.TECHNICIAN, centre=make_centre(session))
    auth.login(user=tech)
    token = auth.csrf()
    client.environ_base["HTTP_X_CSRFTOKEN"] = token
    added = client.post(
        "/orders/cart/add", data={"csrf_token": token, "number": "1-474-594-11", "quantity": "1"}
    )
    assert added.status_code == 302
    cart = client.get("/orders/cart").get_data(as_text=True)
    assert notice.reference in cart  # beside the line, and named before placing
    assert f"/notices/{notice.id}?next=/orders/cart" in cart

    refused = client.post("/orders/cart/place", data={"csrf_token": token, "key": "k-1"})
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "Read and acknowledge the safety notice first" in page
    assert notice.reference in page
    assert f"/notices/{notice.id}?next=/orders/cart" in page
    api = client.post(
        "/api/v1/orders", json={"lines": [{"part_number": "1474594-11", "quantity": 1}]}
    )
    assert api.status_code == 409
    assert notice.reference in api.get_json()["message"]
    assert session.scalar(select(func.count()).select_from(Order)) == 0

    _acknowledge(client, auth, notice, "/orders/cart")
    ack = session.scalars(select(NoticeAcknowledgement)).one()
    assert (ack.user_id, ack.acknowledged_at is not None) == (tech.id, True)
    placed = client.post("/orders/cart/place", data={"csrf_token": token, "key": "k-2"})
    assert placed.status_code == 302
    assert placed.headers["Location"].startswith("/orders/")
    again = client.post(
        "/api/v1/orders", json={"lines": [{"part_number": "1-474-594-12", "quantity": 1}]}
    )
    assert again.status_code == 201
    assert session.scalar(select(func.count()).select_from(Order)) == 2


@pytest.mark.usefixtures("world")
def test_a_safety_notice_about_a_tree_holds_its_walk_until_acknowledged(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    notice = _publish(
        session,
        app,
        kind="service_bulletin",
        title="Discharge C512 before measuring",
        targets={"tree": ["tv-red-led-blinks"]},
    )
    bystander = _publish(
        session, app, safety=False, title="A part elsewhere", targets={"part": ["A-2072-533-A"]}
    )
    tech = make_user(session, role=Role.TECHNICIAN, centre=make_centre(session))
    auth.login(user=tech)
    token = auth.csrf()
    client.environ_base["HTTP_X_CSRFTOKEN"] = token
    started = client.post("/api/v1/diagnostics/sessions", json={"tree": "tv-red-led-blinks"})
    assert started.status_code == 201
    walk_id = started.get_json()["id"]
    walk_url = f"/diagnose/sessions/{walk_id}"

    page = client.get(walk_url).get_data(as_text=True)
    assert "Read the safety notice before you answer" in page
    assert f"/notices/{notice.id}?next={walk_url}" in page
    assert bystander.reference not in page
    assert 'name="option"' not in page  # no answer buttons until it is read
    refused = client.post(
        f"{walk_url}/answer", data={"csrf_token": token, "node": "count", "option": "2"}
    )
    assert refused.status_code == 409
    assert notice.reference in refused.get_data(as_text=True)
    api = client.post(f"/api/v1/diagnostics/sessions/{walk_id}/answers", json={"option": "2"})
    assert api.status_code == 409
    assert api.get_json()["errors"]["notices"].startswith(notice.reference)
    assert client.get(f"/api/v1/diagnostics/sessions/{walk_id}").get_json()["path"] == []

    _acknowledge(client, auth, notice, walk_url)
    page = client.get(walk_url).get_data(as_text=True)
    assert "Read the safety notice" not in page
    assert 'name="option"' in page
    answered = client.post(
        f"{walk_url}/answer", data={"csrf_token": token, "node": "count", "option": "2"}
    )
    assert answered.status_code == 302
    step = client.post(f"/api/v1/diagnostics/sessions/{walk_id}/answers", json={"value": 10.9})
    assert step.status_code == 200
    assert step.get_json()["node"]["kind"] == "fix"
    # Someone else at another centre is still held: the acknowledgement is each person's.
    other = make_user(session, role=Role.TECHNICIAN, centre=make_centre(session))
    session.commit()
    assert services.safety_blocking(session, other, tree_id="tv-red-led-blinks") == [notice]
