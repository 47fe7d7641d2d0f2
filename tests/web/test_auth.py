"""Signing in and out, throttling, sessions that really end, and forms that keep what was typed."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from app.auth.models import LoginFailure, LoginSession
from app.auth.settings import AccountSettings
from app.forms import CSRF_MESSAGE
from app.roles import Role
from app.settings import Settings
from tests.conftest import AuthActions, csrf_token
from tests.factories import PASSWORD, make_user

WRONG = "That email address and password do not match an account."


def configure_accounts(app: Flask, **config: object) -> None:
    """Change the accounts' configuration of a running app: the settings are a frozen value
    built in ``create_app``, so they are built again, as a restarted deployment would."""
    app.config.update(config)
    settings = current_settings_of(app)
    accounts = AccountSettings.from_config(app.config, mail=settings.mail)
    app.extensions["benchside.settings"] = replace(settings, accounts=accounts)


def current_settings_of(app: Flask) -> Settings:
    settings: Settings = app.extensions["benchside.settings"]
    return settings


def post_login(client: FlaskClient, email: str, password: str, **extra: str) -> TestResponse:
    data = {"email": email, "password": password, "csrf_token": csrf_token(client), **extra}
    return client.post("/login", data=data)


def test_login_page_marks_mandatory_fields(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert re.search(r'<input[^>]*id="email"[^>]*required', html)
    assert re.search(r'<input[^>]*id="password"[^>]*required', html)
    assert 'class="required"' in html


def test_sign_in_and_see_the_start_page(client: FlaskClient, session: Session) -> None:
    user = make_user(session, role=Role.ENGINEER, name="Elin Berg")
    session.commit()
    response = post_login(client, user.email.upper(), PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Elin Berg" in page
    assert "Product engineer" in page


def test_wrong_password_and_unknown_user_get_the_same_answer(
    client: FlaskClient, session: Session
) -> None:
    user = make_user(session)
    session.commit()
    wrong_password = post_login(client, user.email, "not the password")
    unknown = post_login(client, "nobody@example.com", "not the password")
    assert wrong_password.status_code == unknown.status_code == 422
    assert WRONG in wrong_password.get_data(as_text=True)
    assert WRONG in unknown.get_data(as_text=True)
    # What was typed comes back; the password never does.
    assert 'value="nobody@example.com"' in unknown.get_data(as_text=True)
    assert "not the password" not in unknown.get_data(as_text=True)


def test_next_only_follows_paths_on_this_site(client: FlaskClient, session: Session) -> None:
    user = make_user(session)
    session.commit()
    data = {"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(client)}
    response = client.post("/login?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/"


def test_failures_lock_the_account_even_for_the_right_password(
    client: FlaskClient, session: Session, app: Flask
) -> None:
    user = make_user(session)
    session.commit()
    for _ in range(app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        assert WRONG in post_login(client, user.email, "guess").get_data(as_text=True)
    refused = post_login(client, user.email, PASSWORD)
    assert refused.status_code == 422
    assert "Too many failed sign-in attempts" in refused.get_data(as_text=True)
    # A colleague at the same address is not affected by someone else's account being locked.
    colleague = make_user(session)
    session.commit()
    assert post_login(client, colleague.email, PASSWORD).status_code == 302


def test_successful_sign_ins_never_count_against_an_office_address(
    app: Flask, session: Session
) -> None:
    configure_accounts(app, LOGIN_MAX_FAILURES_PER_ADDRESS=3)
    people = [make_user(session) for _ in range(10)]
    session.commit()
    for person in people:
        client = app.test_client()
        assert post_login(client, person.email, PASSWORD).status_code == 302
    assert session.scalar(select(func.count()).select_from(LoginFailure)) == 0


def test_failures_from_one_address_are_throttled(app: Flask, session: Session) -> None:
    configure_accounts(app, LOGIN_MAX_FAILURES_PER_ADDRESS=3)
    user = make_user(session)
    session.commit()
    client = app.test_client()
    for n in range(3):
        post_login(client, f"guess{n}@example.com", "guess")
    refused = post_login(client, user.email, PASSWORD)
    assert "Too many failed sign-in attempts" in refused.get_data(as_text=True)
    other_address = app.test_client()
    response = other_address.post(
        "/login",
        data={"email": user.email, "password": PASSWORD, "csrf_token": csrf_token(other_address)},
        environ_base={"REMOTE_ADDR": "10.9.8.7"},
    )
    assert response.status_code == 302


def test_a_cookie_replayed_after_logout_is_refused(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login()
    stolen = client.get_cookie("benchside_session")
    assert stolen is not None
    auth.logout()
    assert session.scalar(select(func.count()).select_from(LoginSession)) == 0
    client.set_cookie("benchside_session", stolen.value)
    response = client.get("/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


def test_remember_me_survives_the_browser_session_but_not_logout(
    client: FlaskClient, auth: AuthActions
) -> None:
    auth.login(remember=True)
    remember = client.get_cookie("benchside_remember")
    assert remember is not None
    client.delete_cookie("benchside_session")
    assert client.get("/").status_code == 200
    auth.logout()
    client.delete_cookie("benchside_session")
    client.set_cookie("benchside_remember", remember.value)
    assert client.get("/").status_code == 302


def test_session_cookies_are_httponly_and_samesite(client: FlaskClient, session: Session) -> None:
    user = make_user(session)
    session.commit()
    response = post_login(client, user.email, PASSWORD, remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    for name in ("benchside_session", "benchside_remember"):
        cookie = next(c for c in cookies if c.startswith(name + "="))
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie


def test_production_cookies_are_secure() -> None:
    from config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.REMEMBER_COOKIE_SECURE is True


def test_missing_csrf_token_keeps_what_was_typed(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": "tech@example.com", "password": "x"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert CSRF_MESSAGE in html
    assert 'value="tech@example.com"' in html


def test_expired_csrf_token_keeps_what_was_typed(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    auth.login()
    token = auth.csrf()
    # A negative limit makes every token already expired, without waiting for the clock.
    app.config["WTF_CSRF_TIME_LIMIT"] = -1
    response = client.post(
        "/account/password",
        data={
            "current": "old one",
            "password": "typed new pw",
            "confirm": "x",
            "csrf_token": token,
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert CSRF_MESSAGE in html
    assert 'value="typed new pw"' not in html  # passwords are never echoed back
    assert "Change your password" in html


def test_logout_without_a_token_does_not_sign_out(client: FlaskClient, auth: AuthActions) -> None:
    auth.login()
    response = client.post("/logout")
    assert response.status_code == 400
    assert "Sign out?" in response.get_data(as_text=True)
    assert client.get("/").status_code == 200


def test_post_without_csrf_to_a_plain_action_is_refused(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.ADMIN)
    victim = make_user(session)
    session.commit()
    response = client.post(f"/admin/users/{victim.id}/enabled")
    assert response.status_code == 400
    session.refresh(victim)
    assert victim.is_enabled


def test_change_password_signs_out_other_devices(
    app: Flask, client: FlaskClient, auth: AuthActions
) -> None:
    user = auth.login()
    other_device = app.test_client()
    AuthActions(other_device, auth._session).login(user=user)
    wrong = client.post(
        "/account/password",
        data={
            "current": "nope",
            "password": "a new long pass",
            "confirm": "a new long pass",
            "csrf_token": auth.csrf(),
        },
    )
    assert "That is not your current password." in wrong.get_data(as_text=True)
    ok = client.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "password": "a new long pass",
            "confirm": "a new long pass",
            "csrf_token": auth.csrf(),
        },
    )
    assert ok.status_code == 302
    assert client.get("/").status_code == 200
    assert other_device.get("/").status_code == 302


def test_role_that_may_not_enter_gets_a_clear_403(client: FlaskClient, auth: AuthActions) -> None:
    user = auth.login(Role.TECHNICIAN)
    response = client.get("/admin/users")
    html = response.get_data(as_text=True)
    assert response.status_code == 403
    assert "Not open to your role" in html
    assert user.email in html
    assert "Technician" in html


def test_unknown_url_is_the_portals_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert "Page not found" in html
    assert 'class="topbar"' in html


def test_nul_byte_in_a_form_is_named_and_the_text_kept(client: FlaskClient) -> None:
    response = client.post(
        "/login",
        data={"email": "tech\x00@example.com", "password": "x", "csrf_token": csrf_token(client)},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "control character (such as NUL" in html
    assert 'value="tech@example.com"' in html


@pytest.mark.parametrize(
    ("url", "body", "content_type"),
    [
        ("/login?next=%00", None, None),
        ("/login?next=%ff%fe", None, None),
        ("/logout", b"csrf_token=%ff%fe", "application/x-www-form-urlencoded"),
        ("/admin/users/1/enabled", b"csrf_token=a%00b", "application/x-www-form-urlencoded"),
        ("/admin/users/1/enabled", b"csrf_token=a%01b", "application/x-www-form-urlencoded"),
    ],
)
def test_unstorable_input_is_refused_with_a_clear_message(
    client: FlaskClient, url: str, body: bytes | None, content_type: str | None
) -> None:
    if body is None:
        response = client.get(url)
    else:
        response = client.post(url, data=body, content_type=content_type)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "control character" in html or "not valid UTF-8" in html


def test_healthz_checks_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert (body["status"], body["checks"]) == ("ok", {"database": "ok"})
    assert body["search"]["status"] == "ok"  # nothing imported: nothing to index


def test_server_error_is_the_portals_500_page(app: Flask) -> None:
    from app.access import public

    @app.get("/boom")
    @public
    def boom() -> str:
        raise RuntimeError("a bug")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Something went wrong on our side" in html
    assert "a bug" not in html


def test_healthz_reports_an_unreachable_database(tmp_path) -> None:
    from app import create_app
    from tests.conftest import make_test_config

    config = make_test_config(f"sqlite:///{tmp_path}/missing/dir/db.sqlite", tmp_path)
    response = create_app(config).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "unreachable"


def test_behind_a_proxy_addresses_come_from_x_forwarded_for(
    database_url: str, session_factory, session: Session, tmp_path
) -> None:
    from app import create_app
    from tests.conftest import make_test_config

    config = make_test_config(database_url, tmp_path)
    config.PROXY_COUNT = 1
    config.LOGIN_MAX_FAILURES_PER_ADDRESS = 2
    app = create_app(config)
    app.extensions["session_factory"] = session_factory
    user = make_user(session)
    session.commit()

    def attempt(address: str, password: str) -> int:
        client = app.test_client()
        token = csrf_token(client)
        return client.post(
            "/login",
            data={"email": user.email, "password": password, "csrf_token": token},
            headers={"X-Forwarded-For": address},
        ).status_code

    assert attempt("203.0.113.5", "guess") == 422
    assert attempt("203.0.113.5", "guess") == 422
    assert session.scalars(select(LoginFailure.address)).all() == ["203.0.113.5"] * 2
    # Another office behind the same proxy is not locked out by the first one's failures.
    assert attempt("198.51.100.7", PASSWORD) == 302


def test_control_characters_in_a_form_are_named_and_removed(client: FlaskClient) -> None:
    response = client.post(
        "/password/forgot", data={"email": "tech\x01@example.com", "csrf_token": csrf_token(client)}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "control character" in html
    assert 'value="tech@example.com"' in html


def test_expired_sessions_are_refused_and_cleared(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from app.models import utcnow

    auth.login()
    session.execute(update(LoginSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    assert client.get("/").status_code == 302
    AuthActions(client.application.test_client(), session).login()
    assert session.scalar(select(func.count()).select_from(LoginSession)) == 1


def test_production_refuses_to_start_without_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from config import config_from_env

    monkeypatch.setenv("BENCHSIDE_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("BASE_URL", "http://127.0.0.1:5000")
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set") as refused:
        config_from_env()
    assert "BASE_URL must be the portal's https:// address" in str(refused.value)
    monkeypatch.setenv("SECRET_KEY", "x" * 48)
    monkeypatch.setenv("BASE_URL", "https://portal.example.com")
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://benchside@db/benchside")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "false")
    production = config_from_env()
    assert production.SESSION_COOKIE_SECURE is True  # not to be switched off by the environment
