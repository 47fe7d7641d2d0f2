"""The mailer services are handed: templates, links on BASE_URL, the outbox; no request needed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from app import create_app
from app.extensions import current_settings
from tests.conftest import make_test_config
from tests.factories import make_user


def test_links_are_built_on_base_url_without_a_request(app: Flask) -> None:
    mailer = app.extensions["benchside.settings"].mail
    assert mailer.link("auth.login") == "http://localhost/login"
    assert mailer.domain == "localhost"


def test_a_portal_under_a_path_links_under_it(database_url: str, tmp_path: Path) -> None:
    class UnderAPath(make_test_config(database_url, tmp_path)):
        BASE_URL = "https://service.example/benchside"

    app = create_app(UnderAPath)
    mailer = app.extensions["benchside.settings"].mail
    assert mailer.link("auth.login") == "https://service.example/benchside/login"
    app.extensions["engine"].dispose()


def test_mail_is_queued_in_the_callers_transaction(app: Flask, session: Session) -> None:
    with app.app_context():
        mailer = current_settings().mail
    message = mailer.queue(
        session,
        to="tech@example.com",
        subject="Your password was changed",
        template="password_changed",
        user=make_user(session),
        when=datetime(2026, 12, 4, 9, 30, tzinfo=UTC),
        revoked=2,
        account_link=mailer.link("auth.account"),
        forgot_link=mailer.link("auth.forgot_password"),
    )
    assert message.id is not None
    assert message.message_id.endswith("@localhost>")
    assert "(2026-12-04 09:30 UTC)" in message.body_text
    assert "Your 2 API tokens were revoked" in message.body_text
    assert "http://localhost/account" in message.body_text
