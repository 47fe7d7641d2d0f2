"""Password reset by mail, invitations, and API tokens."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import ApiToken, Invitation, User
from app.mail.models import OutboxMessage
from app.roles import Role
from tests.conftest import AuthActions, csrf_token
from tests.factories import PASSWORD, make_centre, make_user
from tests.web.test_auth import configure_accounts

NEW = "a brand new passphrase"


def mails_to(session: Session, address: str) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == address)))


def link_in(message: OutboxMessage) -> str:
    match = re.search(r"http://localhost(/\S+)", message.body_text)
    assert match, message.body_text
    return match.group(1)


def request_reset(client: FlaskClient, email: str) -> str:
    response = client.post(
        "/password/forgot", data={"email": email, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 200
    return response.get_data(as_text=True)


def set_password(client: FlaskClient, path: str, password: str = NEW):
    return client.post(
        path, data={"password": password, "confirm": password, "csrf_token": csrf_token(client)}
    )


def test_password_reset_by_mailed_link(client: FlaskClient, session: Session) -> None:
    user = make_user(session)
    session.commit()
    page = request_reset(client, user.email)
    assert "Check your mail" in page
    [mail] = mails_to(session, user.email)
    path = link_in(mail)
    assert "works once" in mail.body_text
    assert set_password(client, path).status_code == 302
    login = client.post(
        "/login", data={"email": user.email, "password": NEW, "csrf_token": csrf_token(client)}
    )
    assert login.status_code == 302


def test_unknown_address_gets_the_same_page_and_no_mail(
    client: FlaskClient, session: Session
) -> None:
    page = request_reset(client, "stranger@example.com")
    assert "Check your mail" in page
    assert mails_to(session, "stranger@example.com") == []


def test_a_used_reset_link_says_so(client: FlaskClient, session: Session) -> None:
    user = make_user(session)
    session.commit()
    request_reset(client, user.email)
    path = link_in(mails_to(session, user.email)[0])
    set_password(client, path)
    again = client.get(path)
    assert again.status_code == 410
    assert "This password reset link was already used" in again.get_data(as_text=True)
    assert set_password(client, path, "yet another pass").status_code == 410


def test_an_expired_reset_link_says_so(app: Flask, client: FlaskClient, session: Session) -> None:
    user = make_user(session)
    session.commit()
    request_reset(client, user.email)
    path = link_in(mails_to(session, user.email)[0])
    configure_accounts(app, PASSWORD_RESET_MAX_AGE_MINUTES=-1)  # every link is already too old
    response = client.get(path)
    assert response.status_code == 410
    assert "expired" in response.get_data(as_text=True)
    assert "Ask for a new link" in response.get_data(as_text=True)


def test_a_tampered_reset_link_says_so(client: FlaskClient) -> None:
    response = client.get("/password/reset/not-a-real-token")
    assert response.status_code == 410
    assert "not valid" in response.get_data(as_text=True)


def test_reset_rejects_a_weak_password_and_keeps_the_link(
    client: FlaskClient, session: Session
) -> None:
    user = make_user(session)
    session.commit()
    request_reset(client, user.email)
    path = link_in(mails_to(session, user.email)[0])
    response = set_password(client, path, "short")
    assert response.status_code == 422
    assert "at least 10 characters" in response.get_data(as_text=True)
    assert set_password(client, path).status_code == 302


def invite(client: FlaskClient, auth: AuthActions, **data: object):
    return client.post("/admin/invitations/new", data={**data, "csrf_token": auth.csrf()})


def test_admin_invites_and_the_invitee_sets_a_password(
    client: FlaskClient, auth: AuthActions, session: Session, app: Flask
) -> None:
    auth.login(Role.ADMIN)
    centre = make_centre(session, name="Eastside")
    session.commit()
    response = invite(
        client,
        auth,
        email="New.Tech@Example.com",
        name="Nia Tech",
        role="technician",
        centre=centre.id,
    )
    assert response.status_code == 302
    [mail] = mails_to(session, "new.tech@example.com")
    assert "Technician at Eastside" in mail.body_text
    path = link_in(mail)
    newcomer = app.test_client()
    page = newcomer.get(path).get_data(as_text=True)
    assert "Eastside" in page
    accepted = newcomer.post(
        path,
        data={
            "name": "Nia Tech",
            "password": NEW,
            "confirm": NEW,
            "csrf_token": csrf_token(newcomer, path),
        },
    )
    assert accepted.status_code == 302
    assert "Nia Tech" in newcomer.get("/").get_data(as_text=True)
    user = session.scalars(select(User).where(User.email == "new.tech@example.com")).one()
    assert user.role is Role.TECHNICIAN
    assert user.centre_id == centre.id
    reused = app.test_client().get(path)
    assert reused.status_code == 410
    assert "This invitation was already used" in reused.get_data(as_text=True)


def test_inviting_an_existing_account_is_refused_and_the_form_kept(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    admin = auth.login(Role.ADMIN)
    response = invite(client, auth, email=admin.email, name="Someone", role="engineer", centre=0)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f"There is already an account for {admin.email}" in html
    assert 'value="Someone"' in html


def test_centre_manager_invites_only_to_their_own_centre(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    manager = auth.login(Role.CENTRE_MANAGER)
    other = make_centre(session)
    session.commit()
    form = client.get("/admin/invitations/new").get_data(as_text=True)
    assert "Product engineer" not in form
    assert other.name not in form
    forged_role = invite(
        client, auth, email="e@example.com", name="E", role="engineer", centre=manager.centre_id
    )
    assert forged_role.status_code == 422
    forged_centre = invite(
        client, auth, email="t@example.com", name="T", role="technician", centre=other.id
    )
    assert forged_centre.status_code == 422
    assert session.scalars(select(Invitation)).all() == []
    ok = invite(
        client, auth, email="t@example.com", name="T", role="technician", centre=manager.centre_id
    )
    assert ok.status_code == 302


def test_centre_manager_sees_only_their_centres_people(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    manager = auth.login(Role.CENTRE_MANAGER)
    colleague = make_user(session, centre=manager.centre, name="Colleague Here")
    stranger = make_user(session, name="Stranger Elsewhere")
    session.commit()
    html = client.get("/admin/users").get_data(as_text=True)
    assert colleague.name in html
    assert stranger.name not in html


def test_reinviting_withdraws_the_earlier_link(
    client: FlaskClient, auth: AuthActions, session: Session, app: Flask
) -> None:
    auth.login(Role.ADMIN)
    invite(client, auth, email="twice@example.com", name="Twice", role="engineer", centre=0)
    invite(client, auth, email="twice@example.com", name="Twice", role="engineer", centre=0)
    first, second = mails_to(session, "twice@example.com")
    assert app.test_client().get(link_in(first)).status_code == 410
    assert app.test_client().get(link_in(second)).status_code == 200


def test_bearer_token_opens_the_api(client: FlaskClient, runner, session: Session) -> None:
    user = make_user(session, role=Role.ENGINEER)
    session.commit()
    result = runner.invoke(args=["users", "token", user.email])
    token = result.output.strip()
    assert result.exit_code == 0
    stored = session.scalars(select(ApiToken)).one()
    assert token not in stored.token_hash
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["role"] == "engineer"
    bad = client.get("/api/v1/me", headers={"Authorization": "Bearer nonsense"})
    assert bad.status_code == 401
    assert bad.get_json()["message"].startswith("Sign in")


def test_disabled_user_is_signed_out_and_cannot_sign_in(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    target = make_user(session)
    session.commit()
    target_client = app.test_client()
    AuthActions(target_client, session).login(user=target)
    auth.login(Role.ADMIN)
    response = client.post(f"/admin/users/{target.id}/enabled", data={"csrf_token": auth.csrf()})
    assert response.status_code == 302
    assert target_client.get("/").status_code == 302
    again = target_client.post(
        "/login",
        data={"email": target.email, "password": PASSWORD, "csrf_token": csrf_token(target_client)},
    )
    assert again.status_code == 422


def test_mailed_links_never_take_the_host_from_the_request(
    client: FlaskClient, session: Session
) -> None:
    user = make_user(session)
    session.commit()
    evil = "http://evil.example"
    page = client.get("/password/forgot", base_url=evil).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page).group(1)
    response = client.post(
        "/password/forgot",
        base_url=evil,
        data={"email": user.email, "csrf_token": token},
        headers={"X-Forwarded-Host": "evil.example"},
    )
    assert "Check your mail" in response.get_data(as_text=True)
    [mail] = mails_to(session, user.email)
    assert "evil.example" not in mail.body_text
    assert "http://localhost/password/reset/" in mail.body_text


def test_reset_mails_are_capped_per_hour(app: Flask, client: FlaskClient, session: Session) -> None:
    user = make_user(session)
    session.commit()
    for _ in range(app.config["PASSWORD_RESET_MAILS_PER_HOUR"] + 2):
        assert "Check your mail" in request_reset(client, user.email)
    assert len(mails_to(session, user.email)) == app.config["PASSWORD_RESET_MAILS_PER_HOUR"]
