"""The accounts and demo commands."""

from __future__ import annotations

from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.auth.models import ServiceCentre, User
from app.roles import Role


def test_users_create_with_password_from_stdin(runner: FlaskCliRunner, session: Session) -> None:
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Lee@Example.com",
            "--role",
            "centre_manager",
            "--centre",
            "Harbour Repairs",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created lee@example.com (Service-centre manager) at Harbour Repairs." in result.output
    user = session.scalars(select(User).where(User.email == "lee@example.com")).one()
    assert user.role is Role.CENTRE_MANAGER
    assert user.centre is not None
    assert user.centre.name == "Harbour Repairs"


def test_users_create_refuses_a_duplicate_and_a_weak_password(
    runner: FlaskCliRunner, session: Session
) -> None:
    args = ["users", "create", "dup@example.com", "--role", "engineer", "--password-stdin"]
    assert runner.invoke(args=args, input="a long enough password\n").exit_code == 0
    duplicate = runner.invoke(args=args, input="a long enough password\n")
    assert duplicate.exit_code == 1
    assert "There is already an account for dup@example.com" in duplicate.output
    weak = runner.invoke(
        args=["users", "create", "weak@example.com", "--role", "engineer", "--password-stdin"],
        input="short\n",
    )
    assert weak.exit_code == 1
    assert "at least 10 characters" in weak.output
    assert session.scalar(select(func.count()).select_from(User)) == 1


def test_users_create_refuses_an_unknown_role(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "create", "x@example.com", "--role", "wizard"])
    assert result.exit_code == 2
    assert "'wizard' is not one of" in result.output


def test_users_token_for_an_unknown_account(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["users", "token", "ghost@example.com"])
    assert result.exit_code == 1
    assert "No account for ghost@example.com" in result.output


def test_demo_load_is_idempotent(runner: FlaskCliRunner, session: Session) -> None:
    first = runner.invoke(args=["demo", "load"])
    assert first.exit_code == 0, first.output
    assert "tech@benchside.example" in first.output
    assert "demo-tech-pass" in first.output
    second = runner.invoke(args=["demo", "load"])
    assert second.exit_code == 0
    assert second.output.count("existed already") == len(Role)
    assert session.scalar(select(func.count()).select_from(User)) == len(Role)
    assert session.scalar(select(func.count()).select_from(ServiceCentre)) == 1


def test_users_create_needs_a_centre_for_technicians_and_a_real_address(
    runner: FlaskCliRunner,
) -> None:
    no_centre = runner.invoke(
        args=["users", "create", "t@example.com", "--role", "technician", "--password-stdin"],
        input="a long enough password\n",
    )
    assert no_centre.exit_code == 1
    assert "belong to a service centre" in no_centre.output
    not_an_address = runner.invoke(
        args=["users", "create", "NotAnEmail", "--role", "engineer", "--password-stdin"],
        input="a long enough password\n",
    )
    assert not_an_address.exit_code == 1
    assert "NotAnEmail is not a usable email address" in not_an_address.output


def test_db_current_names_the_revision(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["db", "current"])
    assert result.exit_code == 0
    assert result.output.strip().isdigit()


def test_commands_on_an_empty_database_say_what_to_do(tmp_path) -> None:
    from app import create_app
    from tests.conftest import make_test_config

    app = create_app(make_test_config(f"sqlite:///{tmp_path}/empty.db", tmp_path))
    runner = app.test_cli_runner()
    current = runner.invoke(args=["db", "current"])
    assert "No migrations applied yet" in current.output
    demo = runner.invoke(args=["demo", "load"])
    assert demo.exit_code == 1
    assert "Run `flask --app wsgi db upgrade` first" in demo.output
