"""Cookies as production sets them, and a sign-in that really ends.

``tests/web/test_auth.py`` already covers: the throttle that refuses even the right password
after too many failures (per account and per address, as configured), a session cookie and a
remember cookie replayed after logout, and HttpOnly/SameSite on the development cookies. Here:
the production settings as a running portal applies them, and the API's answer to a replayed
cookie.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from config import ProductionConfig
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_user
from tests.security.conftest import World, sign_in

HTTPS = "https://portal.example"


@pytest.fixture
def production(
    database_url: str, session_factory: sessionmaker[Session], tmp_path: Path
) -> Iterator[Flask]:
    class Production(ProductionConfig):
        DATABASE_URL = database_url
        SEARCH_INDEX_DIR = tmp_path / "search"
        UPLOAD_DIR = tmp_path / "uploads"

    app = create_app(Production)
    app.extensions["session_factory"] = session_factory
    yield app
    app.extensions["engine"].dispose()


def attributes(set_cookie: str) -> dict[str, str]:
    pairs = [part.strip().partition("=") for part in set_cookie.split(";")]
    return {name.lower(): value for name, _, value in pairs[1:]}


def test_production_cookies_are_secure_httponly_and_lax(
    production: Flask, session: Session
) -> None:
    user = make_user(session)
    session.commit()
    client = production.test_client()
    token = csrf_token(client, HTTPS + "/login")
    response = client.post(
        HTTPS + "/login",
        data={"email": user.email, "password": PASSWORD, "remember": "y", "csrf_token": token},
    )
    assert response.status_code == 302
    cookies = {c.partition("=")[0]: c for c in response.headers.getlist("Set-Cookie")}
    assert set(cookies) == {"benchside_session", "benchside_remember"}
    for name, cookie in cookies.items():
        flags = attributes(cookie)
        assert "secure" in flags, name
        assert "httponly" in flags, name
        assert flags["samesite"] == "Lax", name
        assert flags["path"] == "/", name
        assert "domain" not in flags, name  # this host only, not its siblings
    assert "expires" not in attributes(cookies["benchside_session"])  # ends with the browser
    assert "expires" in attributes(cookies["benchside_remember"])
    # The signed-in page is the production one too: HSTS, and never cached.
    home = client.get(HTTPS + "/")
    assert home.status_code == 200
    assert home.headers["Cache-Control"] == "no-store"
    assert home.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_session_cookie_replayed_after_logout_is_refused_by_the_api(
    app: Flask, world: World
) -> None:
    client = sign_in(app, world.tech_a)
    assert client.get("/api/v1/me").status_code == 200
    stolen = client.get_cookie("benchside_session")
    assert stolen is not None
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    replay = app.test_client()
    replay.set_cookie("benchside_session", stolen.value)
    assert replay.get("/api/v1/me").status_code == 401
    page = replay.get("/orders")
    assert page.status_code == 302
    assert page.headers["Location"].startswith("/login")
