"""Who signs a request, read as columns and made into objects without the ORM's loading
(``app.models.attach_row``): the objects must be what the ORM would have loaded."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.auth import services
from app.auth.models import LoginSession, User
from app.models import attach_row, row_columns, utcnow
from app.roles import Role
from tests.factories import make_centre, make_user


def read_user(session: Session, user_id: int) -> tuple[object, ...]:
    return tuple(session.execute(select(*row_columns(User)).where(User.id == user_id)).one())


def test_an_attached_row_is_the_user_the_orm_would_load(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as setup:
        centre = make_centre(setup)
        user_id = make_user(setup, role=Role.TECHNICIAN, centre=centre).id
        setup.commit()
    with session_factory() as fresh:
        values = read_user(fresh, user_id)
        user = attach_row(fresh, User, values)
        state = inspect(user)
        assert state.persistent
        assert not fresh.dirty
        assert not fresh.new
        assert user.role is Role.TECHNICIAN
        assert user.is_enabled is True
        assert user.centre is not None
        assert user.centre.name == centre.name
        assert fresh.get(User, user_id) is user  # in the identity map: one object per row
        assert attach_row(fresh, User, values) is user
        fresh.commit()  # nothing to write
        assert not state.modified
    with session_factory() as loaded:
        orm = loaded.get(User, user_id)
        assert orm is not None
        columns = [c.key for c in inspect(User).column_attrs]
        assert [getattr(orm, c) for c in columns] == [getattr(user, c) for c in columns]


def test_a_change_to_an_attached_user_is_written(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as setup:
        user_id = make_user(setup, name="Before").id
        setup.commit()
    with session_factory() as request:
        user = attach_row(request, User, read_user(request, user_id))
        user.name = "After"
        request.commit()
    with session_factory() as check:
        assert check.scalar(select(User.name).where(User.id == user_id)) == "After"


def test_a_signed_in_page_reads_its_user_and_centre_in_one_statement(
    session: Session, session_factory: sessionmaker[Session]
) -> None:
    user = make_user(session, role=Role.CENTRE_MANAGER)
    token = services.start_login_session(
        session, user, remember=False, remember_for=timedelta(days=1)
    )
    session.commit()
    with session_factory() as request:
        statements: list[str] = []
        engine = request.get_bind()

        def noted(*args: object) -> None:
            if str(args[2]).startswith("SELECT"):  # not the test's own savepoints
                statements.append(str(args[2]))

        event.listen(engine, "before_cursor_execute", noted)
        try:
            found = services.user_for_login_token(request, token)
            assert found is not None
            assert found.login_token == token
            assert found.centre is not None
            assert found.centre.id == user.centre_id
        finally:
            event.remove(engine, "before_cursor_execute", noted)
        assert len(statements) == 1, statements


def test_an_ended_expired_or_disabled_sign_in_finds_nobody(session: Session) -> None:
    user = make_user(session, role=Role.ADMIN)  # no centre: the outer join finds none
    token = services.start_login_session(
        session, user, remember=False, remember_for=timedelta(days=1)
    )
    session.commit()
    found = services.user_for_login_token(session, token)
    assert found is user
    assert found.centre is None
    session.expunge_all()
    session.execute(update(User).where(User.id == user.id).values(is_enabled=False))
    assert services.user_for_login_token(session, token) is None
    session.execute(update(User).where(User.id == user.id).values(is_enabled=True))
    session.execute(
        update(LoginSession)
        .where(LoginSession.user_id == user.id)
        .values(expires_at=utcnow() - timedelta(seconds=1))
    )
    assert services.user_for_login_token(session, token) is None
    assert services.user_for_login_token(session, "not-a-token") is None


def test_a_bearer_request_signs_as_the_token_owner(
    app: Flask, client: FlaskClient, session: Session
) -> None:
    user = make_user(session, role=Role.TECHNICIAN)
    token = services.issue_api_token(session, user)
    session.commit()
    answer = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["email"] == user.email
    assert user.centre is not None
    assert answer.get_json()["centre"] == user.centre.name  # the centre loaded when asked
    services.revoke_api_token(session, user, services.api_tokens(session, user)[0].id)
    session.commit()
    refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401


def test_a_change_not_yet_flushed_is_seen_as_the_orm_would_see_it(session: Session) -> None:
    user = make_user(session, role=Role.TECHNICIAN)
    token = services.start_login_session(
        session, user, remember=False, remember_for=timedelta(days=1)
    )
    api_token = services.issue_api_token(session, user)
    session.commit()
    user.is_enabled = False  # pending in this unit of work: the read flushes it first
    assert services.user_for_login_token(session, token) is None
    assert services.user_for_api_token(session, api_token) is None
    with session.no_autoflush:
        user.is_enabled = True
        # Not flushed: the database still says disabled, as an ORM read would find it here.
        assert services.user_for_api_token(session, api_token) is None
    assert services.user_for_api_token(session, api_token) is not None


def test_a_row_is_attached_before_any_query_has_configured_the_mappers() -> None:
    # A new worker's first request may sign in by a Core read before the ORM has run a query:
    # the mappers are configured then, not assumed. Only a new interpreter has them unconfigured.
    program = textwrap.dedent(
        """
        from datetime import UTC, datetime
        from sqlalchemy import inspect
        from sqlalchemy.orm import Session
        from app.auth.models import User
        from app.models import attach_row, row_columns
        from app.roles import Role

        assert not inspect(User).configured
        now = datetime.now(UTC)
        known = {
            "id": 41, "email": "first@benchside.example", "name": "First",
            "role": Role.TECHNICIAN, "is_enabled": True, "created_at": now,
        }
        values = [known.get(column.key) for column in row_columns(User)]
        session = Session()
        user = attach_row(session, User, values)
        assert inspect(user).persistent and not session.dirty
        assert (user.id, user.email) == (41, "first@benchside.example")
        print("attached")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "attached"
