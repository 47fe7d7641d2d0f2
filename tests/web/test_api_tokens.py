"""API tokens: made, listed and revoked on the account page; a new password revokes them all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, update
from sqlalchemy.orm import Session

from app.auth import services
from app.auth.models import ApiToken, User
from app.roles import Role
from tests.conftest import AuthActions, csrf_token
from tests.factories import PASSWORD, make_user
from tests.web.test_accounts import NEW, link_in, mails_to, request_reset, set_password


def me(client: FlaskClient, token: str) -> int:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code


def tokens_for(session: Session, user: User, count: int) -> list[str]:
    tokens = [services.issue_api_token(session, user) for _ in range(count)]
    session.commit()
    return tokens


def test_a_password_change_revokes_the_api_tokens_and_says_so(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    user = auth.login(Role.ENGINEER)
    tokens = tokens_for(session, user, 2)
    assert [me(app.test_client(), t) for t in tokens] == [200, 200]
    changed = client.post(
        "/account/password",
        data={"current": PASSWORD, "password": NEW, "confirm": NEW, "csrf_token": auth.csrf()},
        follow_redirects=True,
    )
    page = changed.get_data(as_text=True)
    assert changed.request.path == "/account"
    assert "Your 2 API tokens were revoked" in page
    assert "Make a new one on your account page" in page
    assert [me(app.test_client(), t) for t in tokens] == [401, 401]
    [mail] = mails_to(session, user.email)
    assert "Your Benchside password was changed" in mail.subject
    assert "2 API tokens" in mail.body_text
    assert "http://localhost/account" in mail.body_text
    assert "http://localhost/password/forgot" in mail.body_text  # if it was not them


def test_a_reset_revokes_the_api_tokens_and_every_sign_in(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    user = make_user(session)
    session.commit()
    [token] = tokens_for(session, user, 1)
    elsewhere = app.test_client()
    AuthActions(elsewhere, session).login(user=user)
    assert me(client, token) == 200
    request_reset(client, user.email)
    [reset_mail] = mails_to(session, user.email)
    done = set_password(client, link_in(reset_mail))
    assert done.status_code == 302
    login_page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Your 1 API token was revoked" in login_page
    assert me(app.test_client(), token) == 401
    assert elsewhere.get("/").status_code == 302  # signed out
    notice = [m for m in mails_to(session, user.email) if m is not reset_mail]
    assert len(notice) == 1
    assert "1 API token" in notice[0].body_text


def test_a_change_with_no_tokens_mentions_none(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login()
    changed = client.post(
        "/account/password",
        data={"current": PASSWORD, "password": NEW, "confirm": NEW, "csrf_token": auth.csrf()},
        follow_redirects=True,
    )
    page = changed.get_data(as_text=True)
    assert "Your password has been changed" in page
    assert "revoked" not in page


TOKEN = re.compile(r"\bbs_[A-Za-z0-9_-]{40,}")


def test_the_account_page_makes_lists_and_revokes_tokens(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.ENGINEER)
    page = client.get("/account").get_data(as_text=True)
    assert "API tokens" in page
    assert "You have no API tokens" in page
    made = client.post("/account/tokens", data={"csrf_token": auth.csrf()})
    assert made.status_code == 201
    shown = made.get_data(as_text=True)
    [token] = set(TOKEN.findall(shown))
    assert "shown only this once" in shown
    assert me(app.test_client(), token) == 200
    listed = client.get("/account").get_data(as_text=True)
    assert token not in listed  # never again
    assert "Last used" in listed
    row = re.search(r'<tr id="token-(\d+)">(.*?)</tr>', listed, re.S)
    assert row is not None
    assert "never" not in row.group(2)  # it was used just now
    revoked = client.post(
        f"/account/tokens/{row.group(1)}/revoke",
        data={"csrf_token": auth.csrf()},
        follow_redirects=True,
    )
    assert "The token was revoked" in revoked.get_data(as_text=True)
    assert "You have no API tokens" in revoked.get_data(as_text=True)
    assert me(app.test_client(), token) == 401


def test_nobody_revokes_another_persons_token(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    owner = make_user(session)
    [token] = tokens_for(session, owner, 1)
    [mine] = services.api_tokens(session, owner)
    auth.login()
    refused = client.post(
        f"/account/tokens/{mine.id}/revoke", data={"csrf_token": csrf_token(client, "/account")}
    )
    assert refused.status_code == 404
    assert me(app.test_client(), token) == 200


@pytest.fixture
def token_writes(session: Session) -> Iterator[list[str]]:
    """The UPDATEs of api_tokens sent during the test (listened to on the test's connection)."""
    writes: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE API_TOKENS"):
            writes.append(statement)

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", note)
    yield writes
    event.remove(bind, "before_cursor_execute", note)


def test_a_tokens_use_is_noted_once_a_minute_not_per_request(
    app: Flask, session: Session, token_writes: list[str]
) -> None:
    owner = make_user(session)
    [token] = tokens_for(session, owner, 1)
    writes = token_writes
    assert [me(app.test_client(), token) for _ in range(5)] == [200] * 5
    assert len(writes) == 1  # the first use; the next four within the minute write nothing
    [listed] = services.api_tokens(session, owner)
    session.refresh(listed)
    assert listed.last_used_at is not None
    noted = listed.last_used_at
    # The minute passes (the row is set back): the use is noted again, once.
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == listed.id)
        .values(last_used_at=noted - timedelta(minutes=2))
    )
    session.commit()
    writes.clear()
    # This process learns the older time from its next look-up, and notes the use on the one
    # after: one write in three requests.
    assert [me(app.test_client(), token) for _ in range(3)] == [200] * 3
    assert len(writes) == 1
    session.refresh(listed)
    assert listed.last_used_at is not None
    assert listed.last_used_at >= noted


def test_revoking_or_disabling_closes_a_token_at_once_though_its_use_was_just_noted(
    app: Flask, session: Session
) -> None:
    revoked_owner, disabled_owner = make_user(session), make_user(session)
    [revoked] = tokens_for(session, revoked_owner, 1)
    [disabled] = tokens_for(session, disabled_owner, 1)
    assert me(app.test_client(), revoked) == 200
    assert me(app.test_client(), disabled) == 200
    assert services.revoke_api_tokens(session, revoked_owner) == 1
    disabled_owner.is_enabled = False
    session.commit()
    assert me(app.test_client(), revoked) == 401
    assert me(app.test_client(), disabled) == 401
    disabled_owner.is_enabled = True  # enabled again, the token (never revoked) opens again
    session.commit()
    assert me(app.test_client(), disabled) == 200
