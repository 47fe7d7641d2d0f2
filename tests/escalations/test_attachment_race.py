"""The five-file limit of an escalation, raced by parallel uploads on real connections, and held
on every path that adds a file (the form, the upload, mail in).

Each upload runs on its own thread with its own test client and database connection, committing
for real; every table is emptied afterwards. Run with ``pytest -s`` to see the figure.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.test import TestResponse

from app import create_app
from app.db import make_engine
from app.escalations.attachments import MAX_PER_TICKET
from app.escalations.models import Attachment, Ticket
from app.escalations.services import reply_address
from app.roles import Role
from tests import database
from tests.conftest import AuthActions, csrf_token, make_test_config
from tests.escalations import escalation_settings
from tests.factories import PASSWORD, make_user

PARALLEL = 20
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 256


@pytest.fixture
def real_app(database_url: str, engine: Engine, tmp_path: Path) -> Iterator[Flask]:
    """An app whose requests each take their own connection and commit for real."""
    if not database_url.startswith("postgresql"):
        # SQLite admits one writer at a time and answers the others "database is locked"
        # before they can race; this race is PostgreSQL's (the deployment's database).
        pytest.skip("parallel writers race on PostgreSQL (run with --postgres)")
    racing = make_engine(database_url, pool_size=PARALLEL, max_overflow=0, pool_timeout=60)
    app = create_app(make_test_config(database_url, tmp_path))
    app.extensions["session_factory"] = sessionmaker(racing, expire_on_commit=False)
    yield app
    racing.dispose()
    app.extensions["engine"].dispose()
    database.delete_all_rows(engine)


def signed_in(app: Flask, email: str) -> tuple[FlaskClient, str]:
    client = app.test_client()
    response = client.post(
        "/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 302
    return client, csrf_token(client, "/escalations/new")


def test_twenty_parallel_uploads_keep_five(real_app: Flask) -> None:
    with Session(real_app.extensions["engine"], expire_on_commit=False) as session:
        user = make_user(session, role=Role.TECHNICIAN)
        session.commit()
    clients = [signed_in(real_app, user.email) for _ in range(PARALLEL)]
    start = threading.Barrier(PARALLEL)
    responses: list[TestResponse | None] = [None] * PARALLEL
    errors: list[BaseException] = []

    def upload(n: int) -> None:
        client, token = clients[n]
        try:
            start.wait(30)
            responses[n] = client.post(
                "/escalations/attachments",
                data={"file": (io.BytesIO(PNG), f"board-{n}.png")},
                headers={"X-CSRFToken": token},
            )
        except BaseException as exc:  # reported by the test, not lost in its thread
            errors.append(exc)

    threads = [threading.Thread(target=upload, args=(n,)) for n in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    statuses = sorted(r.status_code for r in responses if r is not None)
    with Session(real_app.extensions["engine"]) as session:
        kept = session.scalar(
            select(func.count()).select_from(Attachment).where(Attachment.user_id == user.id)
        )
    print(f"\n{PARALLEL} parallel uploads: {kept} kept")
    assert kept == MAX_PER_TICKET
    assert statuses == [201] * MAX_PER_TICKET + [422] * (PARALLEL - MAX_PER_TICKET)
    refused = next(r for r in responses if r is not None and r.status_code == 422)
    assert refused.get_json()["error"] == f"At most {MAX_PER_TICKET} files with one escalation."
    # Sent: the five go with the ticket, and the form is free for the next escalation's files.
    client, token = clients[0]
    sent = client.post(
        "/escalations/new",
        data={
            "subject": "No picture",
            "description": "Backlight on.",
            "category": "technical",
            "model_number": "KDL-55W800C",
            "csrf_token": token,
        },
    )
    assert sent.status_code == 201
    with Session(real_app.extensions["engine"]) as session:
        ticket = session.scalar(select(Ticket))
        assert ticket is not None
        on_ticket = session.scalar(
            select(func.count()).select_from(Attachment).where(Attachment.ticket_id == ticket.id)
        )
    assert on_ticket == MAX_PER_TICKET


def test_mail_in_adds_no_more_than_the_ticket_has_room_for(
    client: FlaskClient, auth: AuthActions, session: Session, runner: FlaskCliRunner
) -> None:
    user = auth.login(Role.TECHNICIAN)
    token = csrf_token(client, "/escalations/new")
    for n in range(4):
        stored = client.post(
            "/escalations/attachments",
            data={"file": (io.BytesIO(PNG), f"form-{n}.png")},
            headers={"X-CSRFToken": token},
        )
        assert stored.status_code == 201
    assert (
        client.post(
            "/escalations/new",
            data={
                "subject": "No picture",
                "description": "Backlight on.",
                "category": "technical",
                "model_number": "KDL-55W800C",
                "csrf_token": token,
            },
        ).status_code
        == 201
    )
    ticket = session.scalar(select(Ticket))
    assert ticket is not None
    address = reply_address(ticket, user, settings=escalation_settings(runner.app))
    reply = EmailMessage()
    reply["From"], reply["To"], reply["Subject"], reply["Message-ID"] = (
        user.email,
        address,
        "More photos",
        "<more@x>",
    )
    reply.set_content("Three more.")
    for n in range(3):
        reply.add_attachment(PNG, maintype="image", subtype="png", filename=f"mail-{n}.png")
    result = runner.invoke(args=["mail", "ingest"], input=bytes(reply))
    assert result.output.strip() == f"threaded {ticket.reference}", result.output
    session.expire_all()
    names = session.scalars(
        select(Attachment.filename).where(Attachment.ticket_id == ticket.id).order_by(Attachment.id)
    ).all()
    assert names == [*(f"form-{n}.png" for n in range(4)), "mail-0.png"]
    said = [e.body for e in session.get_one(Ticket, ticket.id).events]
    assert any("“mail-1.png” and later files" in body for body in said)
