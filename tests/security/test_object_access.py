"""Another centre's orders, tickets, files and carts answer 404, by id or reference, on pages,
actions and the API alike, and nothing is changed.

Already covered elsewhere: the orders API and list for another centre's technician
(``tests/orders``), the escalations API for another technician and a download link opened by
another centre (``tests/escalations``), a walk continued from another centre (``tests/web``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from app.auth.models import User
from app.roles import Role
from tests.conftest import csrf_token
from tests.factories import make_user
from tests.security.conftest import World, database_state, sign_in


@dataclass(frozen=True)
class Attempt:
    method: str
    url: Callable[[World], str]
    data: Callable[[World], dict[str, Any]] = lambda w: {}
    json: bool = False


ATTEMPTS = {
    "order page": Attempt("GET", lambda w: f"/orders/{w.order.id}"),
    "cancel": Attempt("POST", lambda w: f"/orders/{w.order.id}/cancel"),
    "reorder": Attempt("POST", lambda w: f"/orders/{w.order.id}/reorder"),
    "return": Attempt(
        "POST",
        lambda w: f"/orders/{w.delivered.id}/returns",
        lambda w: {
            "item": str(w.delivered.lines[0].items[0].id),
            "quantity": "1",
            "reason": "not_needed",
        },
    ),
    "api order": Attempt("GET", lambda w: f"/api/v1/orders/{w.order.id}"),
    "api return": Attempt(
        "POST",
        lambda w: f"/api/v1/orders/{w.delivered.id}/returns",
        lambda w: {"item": w.delivered.lines[0].items[0].id, "quantity": 1, "reason": "damaged"},
        json=True,
    ),
    "cart serial": Attempt(
        "POST", lambda w: f"/orders/cart/{w.cart_line.id}/serial", lambda w: {"serial": "1"}
    ),
    "cart remove": Attempt("POST", lambda w: f"/orders/cart/{w.cart_line.id}/remove"),
    "ticket page": Attempt("GET", lambda w: f"/escalations/{w.ticket.reference}"),
    "ticket reply": Attempt(
        "POST",
        lambda w: f"/escalations/{w.ticket.reference}/reply",
        lambda w: {"text": "Closing this for you", "action": "resolve"},
    ),
    "api ticket": Attempt("GET", lambda w: f"/api/v1/escalations/{w.ticket.reference}"),
    "ticket file": Attempt(
        "GET", lambda w: f"/escalations/{w.ticket.reference}/files/{w.ticket_file.id}"
    ),
    "waiting file removed": Attempt(
        "POST", lambda w: f"/escalations/attachments/{w.waiting_file.id}/remove"
    ),
}
#: Who tries: the other centre's technician and manager, and a colleague of the author's own
#: centre (a technician sees their own orders and tickets; the manager sees the centre's).
STRANGERS: dict[str, Callable[[World, Session], User]] = {
    "other centre's technician": lambda w, s: w.tech_b,
    "other centre's manager": lambda w, s: w.manager_b,
    "colleague": lambda w, s: make_user(s, role=Role.TECHNICIAN, centre=w.centre_a),
}


@pytest.mark.parametrize("stranger", list(STRANGERS))
def test_someone_elses_records_are_not_there(
    app: Flask, session: Session, world: World, stranger: str
) -> None:
    user = STRANGERS[stranger](world, session)
    session.commit()
    client = sign_in(app, user)
    token = csrf_token(client, "/")
    before = database_state(session)
    problems = []
    for name, attempt in ATTEMPTS.items():
        if attempt.method == "GET":
            response = client.get(attempt.url(world))
        elif attempt.json:
            response = client.post(
                attempt.url(world), json=attempt.data(world), headers={"X-CSRFToken": token}
            )
        else:
            data = {**attempt.data(world), "csrf_token": token}
            response = client.post(attempt.url(world), data=data)
        # 403 where the role may not act at all (a manager cannot reorder); 404 otherwise.
        if response.status_code not in (403, 404):
            problems.append(f"{name}: {response.status_code}")
        response.close()
    assert problems == []
    assert database_state(session) == before
    listed = client.get("/orders").text + client.get("/orders/export.csv").text
    assert "job A-1" not in listed
    assert "job A-2" not in listed


def test_the_authors_own_centre_sees_them(app: Flask, session: Session, world: World) -> None:
    """The control: the same addresses open for the author and their centre's manager."""
    for user in (world.tech_a, world.manager_a):
        client = sign_in(app, user)
        for name in ("order page", "api order", "ticket page", "api ticket", "ticket file"):
            response = client.get(ATTEMPTS[name].url(world))
            assert response.status_code == 200, (user.role, name)
            response.close()
        assert "job A-1" in client.get("/orders/export.csv").text


def test_a_file_is_reached_only_through_its_own_ticket(
    app: Flask, session: Session, world: World
) -> None:
    """A ticket of one's own does not open another ticket's file by swapping the file id."""
    client = sign_in(app, world.tech_b)
    token = csrf_token(client, "/escalations/new")
    sent = client.post(
        "/escalations/new",
        data={
            "csrf_token": token,
            "key": "own",
            "subject": "My own",
            "description": "Mine",
            "category": "technical",
            "model_number": "KDL-55W800C",
            "priority": "normal",
        },
    )
    assert sent.status_code == 201
    own = sent.text.split("We have it: ", 1)[1][:15]
    assert client.get(f"/escalations/{own}").status_code == 200
    assert client.get(f"/escalations/{own}/files/{world.ticket_file.id}").status_code == 404
    assert client.get(f"/escalations/{own}/files/{world.waiting_file.id}").status_code == 404


def test_a_manager_manages_only_their_centres_invitations(
    app: Flask, session: Session, world: World
) -> None:
    client = sign_in(app, world.manager_b)
    before = database_state(session)
    response = client.post(
        f"/admin/invitations/{world.invitation.id}/revoke",
        data={"csrf_token": csrf_token(client, "/")},
    )
    assert response.status_code == 404
    assert database_state(session) == before
    users = client.get("/admin/users").text
    assert world.tech_a.email not in users
    assert "newcomer@example.com" not in users
