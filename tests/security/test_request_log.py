"""Every request has an id (``X-Request-ID``, ``flask.g.request_id``) and one JSON log line;
errors in the log name the id, and so does the error page a person sees."""

from __future__ import annotations

import json
import logging
import re

import pytest
from flask import Flask, g
from flask.testing import FlaskClient

from app.access import public
from app.request_log import HEADER
from tests.security.conftest import World, sign_in

LOGGER = "benchside.request"


def lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == LOGGER]


@pytest.fixture
def echo(app: Flask) -> FlaskClient:
    @app.get("/echo-request-id")
    @public
    def echo_request_id() -> str:
        return str(g.request_id)

    return app.test_client()


def test_each_request_gets_an_id_on_g_in_the_header_and_in_its_log_line(
    echo: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    first = echo.get("/echo-request-id?secret=1")
    second = echo.get("/echo-request-id")
    assert re.fullmatch(r"[0-9a-f]{32}", first.headers[HEADER])
    assert first.headers[HEADER] != second.headers[HEADER]
    assert first.text == first.headers[HEADER]
    logged = lines(caplog)
    assert [line["request_id"] for line in logged] == [
        first.headers[HEADER],
        second.headers[HEADER],
    ]
    line = logged[0]
    assert set(line) == {
        "time",
        "request_id",
        "method",
        "path",
        "status",
        "duration_ms",
        "user_id",
        "remote_addr",
    }
    assert (line["method"], line["path"], line["status"]) == ("GET", "/echo-request-id", 200)
    assert line["user_id"] is None
    assert line["remote_addr"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float)
    assert line["duration_ms"] >= 0
    assert str(line["time"]).endswith("+00:00")


@pytest.mark.parametrize(
    "incoming",
    ["f3c1d7a2-9b1e-4c55-8a61-0b3f3d2f1e77", "0123456789abcdef", "1-5f8a-7c2e", "a.b_c:d"],
)
def test_a_sane_incoming_id_is_kept(echo: FlaskClient, incoming: str) -> None:
    response = echo.get("/echo-request-id", headers={HEADER: incoming})
    assert response.headers[HEADER] == incoming
    assert response.text == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        "x" * 129,  # too long
        "two words",
        'quote"d',
        'inject"}, {"status": 200',
        "-starts-with-a-dash",
        "%41%42",
        "ünïcode",
    ],
)
def test_an_insane_incoming_id_is_replaced(
    echo: FlaskClient, caplog: pytest.LogCaptureFixture, incoming: str
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    response = echo.get("/echo-request-id", headers={HEADER: incoming.encode().decode("latin-1")})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers[HEADER])
    assert [line["request_id"] for line in lines(caplog)] == [response.headers[HEADER]]


def test_the_line_names_the_signed_in_user_and_never_a_token_in_the_path(
    app: Flask, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    client = sign_in(app, world.tech_a)
    caplog.set_level(logging.INFO, logger=LOGGER)
    caplog.clear()
    client.get(f"/orders/{world.order.id}?q=private")
    app.test_client().get(f"/password/reset/{world.reset_token}")
    app.test_client().get(f"/invitations/{world.invitation_token}")
    order, reset, invitation = lines(caplog)
    assert (order["path"], order["user_id"]) == (f"/orders/{world.order.id}", world.tech_a.id)
    assert reset["path"] == "/password/reset/<token>"
    assert invitation["path"] == "/invitations/<token>"
    logged = caplog.text
    assert world.reset_token not in logged
    assert world.invitation_token not in logged
    assert "private" not in logged


def test_refused_requests_static_files_and_errors_are_logged_too(
    app: Flask, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    client = sign_in(app, world.tech_a)
    caplog.clear()
    client.get("/search?q=%00")  # refused before any view by the input guard
    client.get("/static/benchside.css").close()
    client.get("/no/such/page")
    client.post(f"/orders/{world.order.id}/cancel")  # no CSRF token
    statuses = [(line["path"], line["status"]) for line in lines(caplog)]
    assert statuses == [
        ("/search", 400),
        ("/static/benchside.css", 200),
        ("/no/such/page", 404),
        (f"/orders/{world.order.id}/cancel", 400),
    ]


def test_an_error_in_the_log_and_on_the_page_names_the_request(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    @app.get("/boom")
    @public
    def boom() -> str:
        app.logger.warning("about to fail for %s", "a reason")
        raise RuntimeError("a bug")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    caplog.set_level(logging.INFO)
    response = app.test_client().get("/boom", headers={HEADER: "incident-4711"})
    assert response.status_code == 500
    assert response.headers[HEADER] == "incident-4711"
    assert "incident-4711" in response.text  # the reference a person can quote
    errors = [r for r in caplog.records if r.name == app.logger.name and r.levelno >= 30]
    assert [r.levelname for r in errors] == ["WARNING", "ERROR"]
    for record in errors:
        assert record.request_id == "incident-4711"  # type: ignore[attr-defined]
        assert "[request_id=incident-4711]" in record.getMessage()
    assert errors[1].exc_info is not None  # the traceback is still there
    assert lines(caplog)[0]["status"] == 500
    # Outside a request the logger is left as it was.
    with app.app_context():
        app.logger.warning("from a command")
    assert caplog.records[-1].getMessage() == "from a command"
