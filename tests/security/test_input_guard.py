"""Input that cannot be stored is refused where it enters, however the body is framed.

Two holes the attack found: a chunked body (no Content-Length) skipped the guard, so a NUL reached
PostgreSQL (a 500); and a lone UTF-16 surrogate spelled in JSON ("\\ud800") reached the database
(a 500 on orders, escalations, walks and drafts) or was kept inside a JSON column, after which the
page showing it failed for good.
"""

from __future__ import annotations

import http.client
import io
import json
import threading
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter
from werkzeug.serving import make_server

from app.auth import services as accounts
from app.escalations.models import Ticket
from app.orders.models import Order
from app.roles import Role
from tests.factories import make_user
from tests.security.conftest import World

NUL = {"subject": "Dead set", "description": "Typed\u0000 for an hour"}
SURROGATE = {"subject": "Dead set", "description": "Typed \ud800 for an hour"}
PLAIN = {"subject": "Dead set", "description": "Typed for an hour, then a pair: \U0001f600"}


def body(document: dict[str, object]) -> bytes:
    # json.dumps spells the lone surrogate as the six characters \ud800, as an attacker's does.
    return json.dumps(document).encode()


def chunked_post(client: FlaskClient, path: str, data: bytes, **headers: str) -> tuple[int, str]:
    """A POST framed as a WSGI server hands over a chunked body: ``Transfer-Encoding:
    chunked``, no content length, and ``wsgi.input_terminated`` saying the server ends the
    stream. (The test client computes a CONTENT_LENGTH from the stream; it is blanked here.)"""
    response = client.post(
        path,
        input_stream=io.BytesIO(data),
        content_type="application/json",
        headers=headers,
        environ_overrides={
            "wsgi.input_terminated": True,
            "CONTENT_LENGTH": "",
            "HTTP_TRANSFER_ENCODING": "chunked",
        },
    )
    return response.status_code, response.get_data(as_text=True)


def writing_api_routes(app: Flask) -> list[str]:
    """Every API route that takes a body, with made-up ids in its path."""
    urls = app.url_map.bind("localhost")
    paths = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or not (rule.methods or set()) & {"POST", "PUT"}:
            continue
        values = {
            name: 1 if isinstance(converter, IntegerConverter) else "x"
            for name, converter in rule._converters.items()
        }
        paths.append(urls.build(rule.endpoint, values))
    return sorted(paths)


@pytest.mark.parametrize("document", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_every_api_body_is_guarded_chunked_or_not(
    app: Flask, session: Session, client: FlaskClient, document: dict[str, object]
) -> None:
    # A bearer token passes the CSRF check, so what answers is the guard or the view behind it.
    token = accounts.issue_api_token(session, make_user(session, role=Role.ADMIN))
    session.commit()
    routes = writing_api_routes(app)
    assert len(routes) >= 8, routes
    for path in routes:
        status, text = chunked_post(client, path, body(document), Authorization=f"Bearer {token}")
        assert status == 400, (path, status, text)
        assert "cannot be stored" in json.loads(text)["message"], (path, text)
        response = client.post(
            path,
            data=body(document),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert response.status_code == 400, (path, response.status_code)


def test_a_whole_pair_is_text_and_passes(
    world: World, session: Session, client: FlaskClient
) -> None:
    token = bearer(session, world.tech_a.email)
    status, text = chunked_post(
        client,
        "/api/v1/escalations",
        body({**PLAIN, "category": "technical", "model_number": "KDL-55W800C"}),
        Authorization=f"Bearer {token}",
    )
    assert status == 201, text
    ticket = session.scalar(select(Ticket).where(Ticket.reference == json.loads(text)["reference"]))
    assert ticket is not None
    assert "\U0001f600" in ticket.description


def bearer(session: Session, email: str) -> str:
    user = accounts.find_user(session, email)
    assert user is not None
    token = accounts.issue_api_token(session, user)
    session.commit()
    return token


@pytest.mark.parametrize("document", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_a_signed_in_escalation_with_bad_text_stores_nothing(
    world: World, session: Session, client: FlaskClient, document: dict[str, object]
) -> None:
    token = bearer(session, world.tech_a.email)
    before = session.scalar(select(func.count(Ticket.id)))
    status, text = chunked_post(
        client,
        "/api/v1/escalations",
        body({**document, "category": "technical", "model_number": "KDL-55W800C"}),
        Authorization=f"Bearer {token}",
    )
    assert status == 400, text
    assert "cannot be stored" in json.loads(text)["message"]
    assert session.scalar(select(func.count(Ticket.id))) == before


@pytest.mark.parametrize("bad", ["A\u0000", "\udc00"], ids=["nul", "surrogate"])
def test_a_signed_in_order_with_bad_text_stores_nothing(
    world: World, session: Session, client: FlaskClient, bad: str
) -> None:
    token = bearer(session, world.tech_a.email)
    before = session.scalar(select(func.count(Order.id)))
    document = {
        "reference": f"job {bad}",
        "kind": "paid",
        "lines": [{"part_number": "1-474-594-11", "quantity": 1}],
    }
    status, text = chunked_post(
        client, "/api/v1/orders", body(document), Authorization=f"Bearer {token}"
    )
    assert status == 400, text
    assert session.scalar(select(func.count(Order.id))) == before


@pytest.mark.parametrize("bad", ["2\u0000", "\ud800"], ids=["nul", "surrogate"])
def test_a_walk_answer_with_bad_text_changes_nothing(
    world: World, session: Session, client: FlaskClient, bad: str
) -> None:
    token = bearer(session, world.tech_a.email)
    headers = {"Authorization": f"Bearer {token}"}
    walk = client.get(f"/api/v1/diagnostics/sessions/{world.walk.id}", headers=headers).get_json()
    status, _text = chunked_post(
        client,
        f"/api/v1/diagnostics/sessions/{walk['id']}/answers",
        body({"option": bad}),
        **headers,
    )
    assert status == 400
    now = client.get(f"/api/v1/diagnostics/sessions/{walk['id']}", headers=headers).get_json()
    assert now["path"] == walk["path"]


@pytest.fixture
def served(app: Flask) -> Iterator[str]:
    """The app behind Werkzeug's own server, which decodes chunked bodies as gunicorn does."""
    server = make_server("127.0.0.1", 0, app, threaded=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.mark.parametrize("document", [NUL, SURROGATE], ids=["nul", "surrogate"])
def test_a_chunked_body_over_the_wire_is_refused(
    session: Session, served: str, document: dict[str, object]
) -> None:
    user = make_user(session, role=Role.TECHNICIAN)
    token = accounts.issue_api_token(session, user)
    session.commit()
    connection = http.client.HTTPConnection(served, timeout=10)
    data = body({**document, "category": "technical", "model_number": "KDL-55W800C"})
    connection.request(
        "POST",
        "/api/v1/escalations",
        body=iter([data[:10], data[10:]]),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
        encode_chunked=True,
    )
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    assert response.status == 400, text
    assert "cannot be stored" in text
