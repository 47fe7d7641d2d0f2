"""A request whose database write fails still gets the portal's error page, with its reference."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from app.access import public
from app.auth.models import ServiceCentre
from app.db import get_session
from tests.conftest import AuthActions


def test_a_failed_write_still_gets_the_error_page(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    @public
    def broken() -> str:
        session = get_session()
        session.add(ServiceCentre(name=None))  # NOT NULL: the flush fails
        session.flush()
        return "unreachable"

    app.add_url_rule("/broken-write", view_func=broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the handler answers
    auth.login()  # the page names the signed-in user, read through the failed session
    response = client.get("/broken-write")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "The error has been logged" in html
    assert response.headers["X-Request-ID"] in html


def test_an_id_beyond_the_database_range_is_not_found(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login()
    for url in ("/orders/2147483648", "/api/v1/orders/99999999999", "/orders/2147483647"):
        assert client.get(url).status_code == 404
