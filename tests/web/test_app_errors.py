"""Errors mapped once: an AppError answers with its own status and words, as JSON of one shape
under /api/ ({error, message, status, errors?}) and as the portal's error page elsewhere."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from app.access import public
from app.auth import services as accounts
from app.exceptions import AppError, Conflict, Invalid, NotAllowed, NotFound
from app.roles import Role
from tests.factories import make_user


def add_probe(app: Flask, error: AppError) -> None:
    def probe() -> str:
        raise error

    app.add_url_rule("/api/v1/probe", "api_probe", public(probe))
    app.add_url_rule("/probe", "page_probe", public(probe))


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (NotAllowed("Only engineering answers a consult."), 403),
        (NotFound("There is no order 12."), 404),
        (Conflict("Order 12 changed meanwhile: it was placed, it is now cancelled."), 409),
        (Invalid("Some lines cannot be ordered.", errors=["line 2: unknown part"]), 422),
        (AppError("That request could not be used."), 400),
    ],
)
def test_an_app_error_answers_with_its_status_and_words(
    app: Flask, error: AppError, status: int
) -> None:
    add_probe(app, error)
    client = app.test_client()
    answer = client.get("/api/v1/probe")
    assert answer.status_code == status
    body = answer.get_json()
    assert body["status"] == status
    assert body["message"] == error.message
    assert isinstance(body["error"], str)
    assert body["error"]
    if error.errors:
        assert body["errors"] == error.errors
    else:
        assert "errors" not in body
    page = client.get("/probe")
    assert page.status_code == status
    assert error.message in page.get_data(as_text=True)
    assert page.mimetype == "text/html"


def test_a_refusal_keeps_the_headers_http_asks_of_it(client: FlaskClient, session: Session) -> None:
    token = accounts.issue_api_token(session, make_user(session, role=Role.TECHNICIAN))
    session.commit()
    answer = client.delete("/api/v1/orders", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 405
    assert "POST" in answer.headers["Allow"]
    assert answer.get_json()["status"] == 405


def test_values_refused_by_a_schema_are_named_per_field(
    client: FlaskClient, session: Session
) -> None:
    token = accounts.issue_api_token(session, make_user(session, role=Role.TECHNICIAN))
    session.commit()
    answer = client.post(
        "/api/v1/orders",
        json={"kind": "paid", "lines": [{"part_number": "1-474-594-11", "quantity": 1.5}]},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 422
    errors = answer.get_json()["errors"]
    assert "json" not in errors  # not filed under where webargs read it
    assert errors
