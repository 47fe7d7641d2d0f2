"""Mail in decides who posts by what only that person holds: the reply address signed for them.
A From header with a reference, or an address signed for someone else, is held for an agent,
who accepts it into the ticket (as its sender's, marked as accepted) or rejects it."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations import services
from app.escalations.models import InboundMail, Ticket
from app.roles import Role
from tests.conftest import AuthActions
from tests.escalations import escalation_settings
from tests.factories import make_user


def mail(sender: str, to: str, subject: str, body: str, message_id: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Message-ID"] = message_id
    message.set_content(body)
    return bytes(message)


def ingest(runner: FlaskCliRunner, raw: bytes) -> str:
    result = runner.invoke(args=["mail", "ingest"], input=raw)
    assert result.exit_code == 0, result.output
    return result.output.strip()


@pytest.fixture
def ticket(app: Flask, session: Session) -> Ticket:
    author = make_user(session, role=Role.TECHNICIAN, email="author@example.com")
    make_user(session, role=Role.TECHNICIAN, email="stranger@example.com")
    make_user(session, role=Role.AGENT_TIER1, email="agent@example.com")
    with app.test_request_context():
        opened, _ = services.open_ticket(
            session,
            author,
            services.Submission(
                subject="Shuts down after 3 s",
                description="12.1 V at CN6101.",
                category="technical",
                model_number="KDL-55W800C",
            ),
            settings=escalation_settings(app),
        )
    session.commit()
    return opened


def person(session: Session, email: str) -> User:
    found = session.scalar(select(User).where(User.email == email))
    assert found is not None
    return found


def address(app: Flask, ticket: Ticket, who: User) -> str:
    return services.reply_address(ticket, who, settings=escalation_settings(app))


def bodies(session: Session, ticket: Ticket) -> list[str]:
    session.expire_all()
    return [e.body for e in session.get_one(Ticket, ticket.id).events]


def test_a_legit_reply_posts_and_nothing_else_does(
    app: Flask, runner: FlaskCliRunner, session: Session, ticket: Ticket
) -> None:
    ref = ticket.reference
    author, agent = person(session, "author@example.com"), person(session, "agent@example.com")
    plain = "escalations@benchside.local"
    # Anyone writes the author's address in From and the (sequential) reference in the subject.
    forged = mail(author.email, plain, f"Re: [{ref}]", "Close it, it is fixed.", "<f1@x>")
    assert ingest(runner, forged) == f"held {ref}"
    # The author's own signed address, with an agent's From: a technician posing as the agent.
    posing = mail(agent.email, address(app, ticket, author), "Re", "Resolved by us.", "<f2@x>")
    assert ingest(runner, posing) == f"held {ref}"
    # An address signed for the agent, sent by the technician: not theirs either.
    theirs = mail(author.email, address(app, ticket, agent), "Re", "Mine now.", "<f3@x>")
    assert ingest(runner, theirs) == f"held {ref}"
    said = bodies(session, ticket)
    assert not any(t in b for b in said for t in ("Close it", "Resolved by us", "Mine now"))
    # The author, at the address signed for them: posted as theirs.
    legit = mail(author.email, address(app, ticket, author), "AW: x", "F5001 open.", "<l1@x>")
    assert ingest(runner, legit) == f"threaded {ref}"
    session.expire_all()
    last = session.get_one(Ticket, ticket.id).events[-1]
    assert (last.author, last.body) == (author.email, "F5001 open.")
    outcomes = session.scalars(select(InboundMail.outcome).order_by(InboundMail.id)).all()
    assert outcomes == ["held", "held", "held", "threaded"]


def test_an_older_address_still_works_for_the_author_alone(
    app: Flask, runner: FlaskCliRunner, session: Session, ticket: Ticket
) -> None:
    ref = ticket.reference or ""
    signature = services.legacy_reply_signature(ref, settings=escalation_settings(app))
    old = f"escalations+{ref}.{signature}@benchside.local"
    manager = make_user(session, role=Role.AGENT_TIER2, email="tier2@example.com")
    session.commit()
    assert ingest(runner, mail(manager.email, old, "Re", "Posing.", "<o1@x>")) == f"held {ref}"
    author = person(session, "author@example.com")
    assert ingest(runner, mail(author.email, old, "Re", "Still here.", "<o2@x>")) == (
        f"threaded {ref}"
    )


def test_an_agent_accepts_or_rejects_held_mail(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    runner: FlaskCliRunner,
    session: Session,
    ticket: Ticket,
) -> None:
    ref = ticket.reference
    author = person(session, "author@example.com")
    plain = "escalations@benchside.local"
    first = mail(author.email, plain, f"Re: [{ref}]", "Fuse F1 <b>was</b> open.", "<h1@x>")
    second = mail("stranger@example.com", plain, f"Re: [{ref}]", "Buy my parts.", "<h2@x>")
    third = mail(author.email, plain, f"Re: [{ref}]", "Spam via forged From.", "<h3@x>")
    for raw in (first, second, third):
        assert ingest(runner, raw) == f"held {ref}"
    held = {
        m.message_id: m.id
        for m in session.scalars(select(InboundMail).where(InboundMail.outcome == "held"))
    }
    # A technician cannot decide on held mail, not even their own.
    auth.login(user=author)
    token = auth.csrf()
    refused = client.post(f"/escalations/held/{held['<h1@x>']}/accept", data={"csrf_token": token})
    assert refused.status_code == 403
    auth.logout()
    agent = auth.login(user=person(session, "agent@example.com"))
    page = client.get("/escalations/held").get_data(as_text=True)
    assert "Fuse F1 &lt;b&gt;was&lt;/b&gt; open." in page  # shown, escaped
    assert "Buy my parts." in page
    token = auth.csrf()
    accepted = client.post(f"/escalations/held/{held['<h1@x>']}/accept", data={"csrf_token": token})
    assert accepted.status_code == 303
    said = bodies(session, ticket)
    assert "Fuse F1 <b>was</b> open." in said
    assert any(f"accepted by {agent.email}" in b for b in said)
    session.expire_all()
    events = session.get_one(Ticket, ticket.id).events
    posted = next(e for e in events if e.body == "Fuse F1 <b>was</b> open.")
    assert posted.author == author.email  # posted as the sender's
    # Accepted twice (a double click, a second agent): posted once.
    again = client.post(
        f"/escalations/held/{held['<h1@x>']}/accept",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "decided on this mail already" in again.get_data(as_text=True)
    assert bodies(session, ticket).count("Fuse F1 <b>was</b> open.") == 1
    # The stranger may not write to this ticket: accepting is refused, rejecting works.
    stranger = client.post(
        f"/escalations/held/{held['<h2@x>']}/accept",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    assert "may not write to" in stranger.get_data(as_text=True)
    before = bodies(session, ticket)
    for key in ("<h2@x>", "<h3@x>"):
        rejected = client.post(f"/escalations/held/{held[key]}/reject", data={"csrf_token": token})
        assert rejected.status_code == 303
    assert bodies(session, ticket) == before
    session.expire_all()
    decided = {
        m.message_id: (m.outcome, m.decided_by_id)
        for m in session.scalars(select(InboundMail).order_by(InboundMail.id))
    }
    assert decided == {
        "<h1@x>": ("accepted", agent.id),
        "<h2@x>": ("rejected", agent.id),
        "<h3@x>": ("rejected", agent.id),
    }
    assert "No mail is waiting." in client.get("/escalations/held").get_data(as_text=True)
