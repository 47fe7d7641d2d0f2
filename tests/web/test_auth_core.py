"""The accounts' core without Flask: the policy over plain values, the services over a session
and a frozen AccountSettings, and the roles the database accepts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session

from app.auth import policy, services
from app.auth.errors import (
    CentreExists,
    CentreRequired,
    EmailTaken,
    InvalidCredentials,
    LinkExpired,
    LinkInvalid,
    NotAllowed,
    NotFound,
    SignInThrottled,
    WeakPassword,
)
from app.auth.models import ApiToken, Invitation, User
from app.auth.settings import AccountSettings, ThrottlePolicy
from app.mail.mailer import Mailer
from app.mail.models import OutboxMessage
from app.roles import Role
from config import ROOT
from tests.factories import PASSWORD, make_centre, make_user


@dataclass(frozen=True)
class Person:
    id: int
    role: Role
    centre_id: int | None = None


ADMIN = Person(1, Role.ADMIN)
MANAGER = Person(2, Role.CENTRE_MANAGER, centre_id=10)
ORPHAN_MANAGER = Person(3, Role.CENTRE_MANAGER, centre_id=None)
TECH = Person(4, Role.TECHNICIAN, centre_id=10)
ENGINEER = Person(5, Role.ENGINEER)


def test_who_may_invite_whom_where() -> None:
    assert policy.may_invite(ADMIN, role=Role.ADMIN, centre_id=None)
    assert policy.may_invite(MANAGER, role=Role.TECHNICIAN, centre_id=10)
    assert policy.may_invite(MANAGER, role=Role.CENTRE_MANAGER, centre_id=10)
    assert not policy.may_invite(MANAGER, role=Role.TECHNICIAN, centre_id=11)
    assert not policy.may_invite(MANAGER, role=Role.ENGINEER, centre_id=10)
    assert not policy.may_invite(MANAGER, role=Role.TECHNICIAN, centre_id=None)
    assert not policy.may_invite(ORPHAN_MANAGER, role=Role.TECHNICIAN, centre_id=None)
    assert not policy.may_invite(TECH, role=Role.TECHNICIAN, centre_id=10)
    assert policy.invitable_roles(ADMIN) == list(Role)
    assert policy.invitable_roles(MANAGER) == [Role.TECHNICIAN, Role.CENTRE_MANAGER]
    assert policy.invitable_roles(ENGINEER) == []
    assert policy.may_invite_staff(ADMIN)
    assert not policy.may_invite_staff(MANAGER)


def test_whose_people_a_manager_sees() -> None:
    assert policy.managed_centre(ADMIN) is policy.EVERYONE
    assert policy.managed_centre(MANAGER) == 10
    # A manager of no centre manages nobody, rather than everybody.
    assert policy.managed_centre(ORPHAN_MANAGER) is None
    assert policy.managed_centre(TECH) is None
    assert policy.may_see_invitation(MANAGER, centre_id=10)
    assert not policy.may_see_invitation(MANAGER, centre_id=11)
    assert not policy.may_see_invitation(ORPHAN_MANAGER, centre_id=None)
    assert policy.may_see_invitation(ADMIN, centre_id=None)
    # Seen is not enough: withdrawing takes what inviting took.
    assert not policy.may_revoke_invitation(MANAGER, role=Role.ENGINEER, centre_id=10)


def test_who_may_disable_whom_and_own_a_token() -> None:
    assert policy.may_set_enabled(ADMIN, TECH)
    assert not policy.may_set_enabled(ADMIN, ADMIN)  # nobody locks themselves out
    assert not policy.may_set_enabled(MANAGER, TECH)
    assert policy.may_manage_centres(ADMIN)
    assert not policy.may_manage_centres(MANAGER)
    assert policy.owns_token(TECH, owner_id=TECH.id)
    assert not policy.owns_token(ADMIN, owner_id=TECH.id)


def test_account_errors_carry_their_status() -> None:
    assert InvalidCredentials().status == 422
    assert WeakPassword("short").status == 422
    assert CentreRequired().status == 422
    assert EmailTaken("a@example.com").status == 409
    assert CentreExists().status == 409
    assert NotAllowed("no").status == 403
    assert NotFound("none").status == 404
    assert LinkExpired("old").status == LinkInvalid("used").status == 410
    assert SignInThrottled(services.utcnow(), by_address=False).status == 429
    assert str(NotAllowed("no")) == NotAllowed("no").message == "no"


# -- services, handed a session and settings: no app, no request ---------------------------------


def _link(endpoint: str, **values: Any) -> str:
    return f"https://portal.example/{endpoint}/" + "/".join(str(v) for v in values.values())


def make_settings(**changes: Any) -> AccountSettings:
    templates = Environment(loader=FileSystemLoader(ROOT / "app" / "templates"))
    values: dict[str, Any] = {
        "throttle": ThrottlePolicy(
            window=timedelta(minutes=15), max_per_account=2, max_per_address=30
        ),
        "min_password_length": 10,
        "reset_max_age": timedelta(minutes=60),
        "reset_mails_per_hour": 2,
        "invitation_max_age": timedelta(days=3),
        "remember_for": timedelta(days=30),
        "mail": Mailer(base_url="https://portal.example", templates=templates, link=_link),
        "secret_key": "a secret key for the accounts' core tests",
    }
    return AccountSettings(**(values | changes))


def outbox(session: Session, to: str) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).where(OutboxMessage.to_address == to)))


def test_settings_do_not_show_the_secret_key() -> None:
    assert "a secret key" not in repr(make_settings())


def test_a_manager_invites_to_their_centre_and_the_mail_is_written(session: Session) -> None:
    centre = make_centre(session)
    manager = make_user(session, role=Role.CENTRE_MANAGER, centre=centre)
    settings = make_settings()
    invitation = services.send_invitation(
        session,
        inviter=manager,
        email="New.Tech@Example.com",
        name="New Tech",
        role=Role.TECHNICIAN,
        centre_id=centre.id,
        settings=settings,
    )
    assert invitation.email == "new.tech@example.com"
    assert invitation.expires_at - invitation.created_at == timedelta(days=3)
    [mail] = outbox(session, "new.tech@example.com")
    assert "https://portal.example/auth.accept_invitation/" in mail.body_text
    other = make_centre(session)
    with pytest.raises(NotAllowed):
        services.send_invitation(
            session,
            inviter=manager,
            email="elsewhere@example.com",
            name="Elsewhere",
            role=Role.TECHNICIAN,
            centre_id=other.id,
            settings=settings,
        )
    admin = make_user(session, role=Role.ADMIN)
    with pytest.raises(CentreRequired):
        services.send_invitation(
            session,
            inviter=admin,
            email="nowhere@example.com",
            name="Nowhere",
            role=Role.TECHNICIAN,
            centre_id=None,
            settings=settings,
        )


def test_the_people_a_viewer_manages(session: Session) -> None:
    centre, other = make_centre(session), make_centre(session)
    manager = make_user(session, role=Role.CENTRE_MANAGER, centre=centre)
    colleague = make_user(session, centre=centre)
    stranger = make_user(session, centre=other)
    admin = make_user(session, role=Role.ADMIN)
    mine = services.people(session, manager)
    assert colleague in mine.users
    assert manager in mine.users
    assert stranger not in mine.users
    everyone = services.people(session, admin)
    assert {colleague, stranger, manager, admin} <= set(everyone.users)
    with pytest.raises(NotAllowed):
        services.people(session, make_user(session, role=Role.ENGINEER))


def test_withdrawing_an_invitation_one_does_not_manage_is_not_found(session: Session) -> None:
    centre, other = make_centre(session), make_centre(session)
    admin = make_user(session, role=Role.ADMIN)
    manager = make_user(session, role=Role.CENTRE_MANAGER, centre=centre)
    theirs, _ = services.invite(
        session,
        inviter=admin,
        email="theirs@example.com",
        name="Theirs",
        role=Role.TECHNICIAN,
        centre=other,
        valid_for=timedelta(days=1),
    )
    engineer_here, _ = services.invite(
        session,
        inviter=admin,
        email="engineer@example.com",
        name="Engineer",
        role=Role.ENGINEER,
        centre=centre,
        valid_for=timedelta(days=1),
    )
    with pytest.raises(NotFound):
        services.revoke_invitation(session, theirs.id, by=manager)
    with pytest.raises(NotAllowed):  # seen, but not a role the manager may give
        services.revoke_invitation(session, engineer_here.id, by=manager)
    assert services.revoke_invitation(session, theirs.id, by=admin).revoked_at is not None


def test_disabling_signs_out_and_nobody_disables_themselves(session: Session) -> None:
    admin = make_user(session, role=Role.ADMIN)
    tech = make_user(session)
    services.start_login_session(session, tech, remember=False, remember_for=timedelta(days=1))
    assert services.toggle_enabled(session, tech.id, by=admin).is_enabled is False
    session.refresh(tech)
    assert tech.login_sessions == []
    with pytest.raises(NotAllowed, match="your own account"):
        services.toggle_enabled(session, admin.id, by=admin)
    with pytest.raises(NotAllowed):
        services.toggle_enabled(session, admin.id, by=tech)
    with pytest.raises(NotFound):
        services.toggle_enabled(session, 2**31 - 1, by=admin)


def test_centres_are_added_by_admins_once_in_any_case(session: Session) -> None:
    admin = make_user(session, role=Role.ADMIN)
    services.add_centre(session, "  Harbour Road ", by=admin)
    with pytest.raises(CentreExists):
        services.add_centre(session, "harbour road", by=admin)
    with pytest.raises(NotAllowed):
        services.add_centre(session, "Elsewhere", by=make_user(session))


def test_sign_in_is_throttled_by_the_settings_given(session: Session) -> None:
    user = make_user(session)
    settings = make_settings()
    browser = services.Browser(address="10.0.0.1")

    def attempt(password: str) -> User:
        recorded = services.record_attempt(session, email=user.email, address="10.0.0.1")
        return services.sign_in(
            session, recorded, password=password, browser=browser, settings=settings
        )

    for _ in range(2):
        with pytest.raises(InvalidCredentials):
            attempt("guess")
    with pytest.raises(SignInThrottled):
        attempt(PASSWORD)
    relaxed = make_settings(
        throttle=ThrottlePolicy(window=timedelta(minutes=15), max_per_account=5, max_per_address=30)
    )
    recorded = services.record_attempt(session, email=user.email, address="10.0.0.1")
    signed_in = services.sign_in(
        session, recorded, password=PASSWORD, browser=browser, settings=relaxed
    )
    assert signed_in.login_token is not None
    assert services.user_for_login_token(session, signed_in.login_token) is user


def test_reset_links_are_mailed_a_few_times_an_hour_and_work_once(session: Session) -> None:
    user = make_user(session)
    settings = make_settings()
    for _ in range(4):
        services.request_password_reset(session, user.email.upper(), settings=settings)
    services.request_password_reset(session, "nobody@example.com", settings=settings)
    mails = outbox(session, user.email)
    assert len(mails) == 2  # reset_mails_per_hour
    token = mails[0].body_text.split("auth.reset_password/")[1].split()[0]
    assert services.user_for_reset_token(session, token, settings=settings) is user
    with pytest.raises(LinkExpired):
        services.user_for_reset_token(
            session, token, settings=make_settings(reset_max_age=timedelta(seconds=-1))
        )
    services.reset_password(session, user, "a new passphrase", settings=settings)
    assert any("was changed" in m.subject for m in outbox(session, user.email))
    with pytest.raises(LinkInvalid, match="already used"):
        services.user_for_reset_token(session, token, settings=settings)


def test_a_token_is_revoked_by_its_owner_only(session: Session) -> None:
    owner, other = make_user(session), make_user(session)
    services.issue_api_token(session, owner)
    [token] = services.api_tokens(session, owner)
    with pytest.raises(NotFound):
        services.revoke_api_token(session, other, token.id)
    services.revoke_api_token(session, owner, token.id)
    assert session.get(ApiToken, token.id) is not None
    assert services.api_tokens(session, owner) == []
    with pytest.raises(NotFound):
        services.revoke_api_token(session, owner, token.id)


# -- roles, checked by the database ------------------------------------------------------------


@pytest.mark.parametrize("table", ["users", "invitations"])
def test_the_database_refuses_a_role_it_does_not_know(session: Session, table: str) -> None:
    user = make_user(session)
    if table == "users":
        statement = text("UPDATE users SET role = 'superuser' WHERE id = :id")
        params: dict[str, Any] = {"id": user.id}
    else:
        invitation, _ = services.invite(
            session,
            inviter=make_user(session, role=Role.ADMIN),
            email="checked@example.com",
            name="Checked",
            role=Role.ENGINEER,
            centre=None,
            valid_for=timedelta(days=1),
        )
        statement = text("UPDATE invitations SET role = 'superuser' WHERE id = :id")
        params = {"id": invitation.id}
    with pytest.raises(IntegrityError), session.begin_nested():
        session.execute(statement, params)


def test_a_role_that_is_no_role_is_refused_before_the_database(session: Session) -> None:
    user = make_user(session)
    with pytest.raises(StatementError), session.begin_nested():
        session.execute(
            Invitation.__table__.update()
            .where(Invitation.__table__.c.invited_by_id == user.id)
            .values(role="superuser")
        )
