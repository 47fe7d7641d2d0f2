"""The session cookie: Flask's own format and signing, its signer kept while the key is the same."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from itsdangerous import BadSignature
from sqlalchemy.orm import Session

from app.auth import services
from app.cookie_session import CookieSessionInterface
from tests.factories import make_user


def test_the_signer_follows_the_secret_key_and_its_fallbacks(app: Flask) -> None:
    interface = app.session_interface
    assert isinstance(interface, CookieSessionInterface)
    signer = interface.get_signing_serializer(app)
    assert signer is not None
    assert interface.get_signing_serializer(app) is signer
    cookie = signer.dumps({"kept": 1})
    old_key = app.secret_key
    app.secret_key = "a-new-key-for-this-test-only-0123456789"
    renewed = interface.get_signing_serializer(app)
    assert renewed is not None
    assert renewed is not signer
    with pytest.raises(BadSignature):
        renewed.loads(cookie)  # a cookie signed with the old key is no longer taken
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    rotating = interface.get_signing_serializer(app)
    assert rotating is not None
    assert rotating.loads(cookie) == {"kept": 1}


def test_a_bearer_call_sets_no_cookie_and_a_page_sets_its_session(
    client: FlaskClient, session: Session
) -> None:
    token = services.issue_api_token(session, make_user(session))
    session.commit()
    answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers
    page = client.get("/login")  # its form's CSRF token lives in the session
    assert page.status_code == 200
    assert "benchside_session=" in page.headers["Set-Cookie"]
    assert "Cookie" in page.headers["Vary"]
