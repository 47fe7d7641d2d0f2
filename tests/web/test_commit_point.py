"""One commit point: a request's work is committed once when its view succeeds, and rolled back
when it answers with an error or raises (app/db.py)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.access import public
from app.auth.models import ServiceCentre
from app.db import after_commit, get_session, keep_on_error
from tests.factories import make_centre


def centre_names(session: Session) -> set[str]:
    session.expire_all()
    return set(session.scalars(select(ServiceCentre.name)))


def add_probe_routes(app: Flask) -> None:
    """Views that write and answer in each way a view can; none of them commits."""

    def write(name: str) -> None:
        get_session().add(ServiceCentre(name=name))
        get_session().flush()

    @app.get("/probe/ok")
    @public
    def ok() -> str:
        write("kept on success")
        return "ok"

    @app.get("/probe/redirect")
    @public
    def moved() -> tuple[str, int, dict[str, str]]:
        write("kept on redirect")
        return "", 303, {"Location": "/"}

    @app.get("/probe/refused")
    @public
    def refused() -> tuple[str, int]:
        write("gone on 422")
        return "no", 422

    @app.get("/probe/kept-anyway")
    @public
    def kept_anyway() -> tuple[str, int]:
        write("kept on 401 when asked")
        keep_on_error()
        return "no", 401

    @app.get("/probe/raises")
    @public
    def raises() -> str:
        write("gone on exception")
        raise RuntimeError("boom")

    @app.get("/probe/duplicate")
    @public
    def duplicate() -> str:
        get_session().add(ServiceCentre(name="Taken"))  # the unique name fails at commit
        return "ok"


def test_work_is_committed_on_success_and_rolled_back_on_error(
    app: Flask, session: Session
) -> None:
    add_probe_routes(app)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    client: FlaskClient = app.test_client()
    assert client.get("/probe/ok").status_code == 200
    assert client.get("/probe/redirect").status_code == 303
    assert client.get("/probe/refused").status_code == 422
    assert client.get("/probe/kept-anyway").status_code == 401
    assert client.get("/probe/raises").status_code == 500
    names = centre_names(session)
    assert {"kept on success", "kept on redirect", "kept on 401 when asked"} <= names
    assert not {"gone on 422", "gone on exception"} & names


def test_a_failed_commit_is_the_requests_failure(app: Flask, session: Session) -> None:
    add_probe_routes(app)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    make_centre(session, name="Taken")
    session.commit()
    response = app.test_client().get("/probe/duplicate")
    assert response.status_code == 500
    assert "Nothing you sent was saved" in response.get_data(as_text=True)


def test_after_commit_actions_run_only_once_the_work_is_committed(
    app: Flask, session: Session
) -> None:
    seen: list[str] = []

    @app.get("/probe/then")
    @public
    def then() -> tuple[str, int]:
        get_session().add(ServiceCentre(name="Committed first"))
        # What runs after the commit reads committed data through another session.
        after_commit(lambda: seen.append(",".join(sorted(centre_names(session)))))
        return "ok", 200

    @app.get("/probe/refused-then")
    @public
    def refused_then() -> tuple[str, int]:
        after_commit(lambda: seen.append("never"))
        return "no", 422

    client = app.test_client()
    assert client.get("/probe/then").status_code == 200
    assert client.get("/probe/refused-then").status_code == 422
    assert seen == ["Committed first"]
