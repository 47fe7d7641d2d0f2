"""Mail in: real-world shapes, threaded once, loops and noise left alone."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.escalations.models import InboundMail, Ticket
from app.escalations.services import reply_address
from app.roles import Role
from tests.escalations import escalation_settings
from tests.factories import make_user


def mail(sender: str, subject: str, body: str, **headers: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = "escalations@benchside.local"
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return bytes(message)


@pytest.fixture
def technician(session: Session):  # type: ignore[no-untyped-def]
    user = make_user(session, role=Role.TECHNICIAN, email="tech.mail@example.com")
    session.commit()
    return user


def ingest(runner: FlaskCliRunner, raw: bytes) -> str:
    result = runner.invoke(args=["mail", "ingest"], input=raw)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_a_mail_opens_a_ticket_and_a_reply_threads_into_it(
    runner: FlaskCliRunner, session: Session, technician: object
) -> None:
    first = mail(
        "Tech <TECH.MAIL@example.com>",
        "KDL-55W800C shuts down",
        "Model: KDL-55W800C\nBlinks 6 times.",
        Message_ID="<m1@example.com>",
    )
    opened = ingest(runner, first)
    assert opened.startswith("opened ESC-")
    reference = opened.split()[1]
    # The same message delivered three times (a retrying mail server): one ticket.
    assert ingest(runner, first) == "duplicate"
    assert ingest(runner, first) == "duplicate"
    assert session.scalar(select(func.count()).select_from(Ticket)) == 1
    ticket = session.scalar(select(Ticket))
    assert ticket.model_number == "KDL-55W800C"
    address = reply_address(ticket, technician, settings=escalation_settings(runner.app))  # type: ignore[arg-type]
    reply = mail(
        "tech.mail@example.com",
        f"Re: [{reference}] KDL-55W800C shuts down",
        "F5001 is open.\n\nOn Mon, support wrote:\n> Check F5001",
        Message_ID="<m2@example.com>",
    ).replace(b"escalations@benchside.local", address.encode())
    assert ingest(runner, reply) == f"threaded {reference}"
    session.refresh(ticket)
    assert ticket.events[-1].body == "F5001 is open."


def test_charsets_nul_bytes_attachments_bounces_and_strangers(
    runner: FlaskCliRunner, session: Session, technician: object
) -> None:
    latin = (
        b"From: tech.mail@example.com\r\nSubject: =?iso-8859-1?q?Pr=FCfung?=\r\n"
        b"Message-ID: <m3@example.com>\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\n"
        b"Ger\xe4t defekt \x00 bitte\r\n"
    )
    assert ingest(runner, latin).startswith("opened")
    ticket = session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert ticket.subject == "Prüfung"
    assert "Gerät defekt  bitte" in ticket.description
    with_file = EmailMessage()
    with_file["From"], with_file["Subject"], with_file["Message-ID"] = (
        "tech.mail@example.com",
        "Log attached",
        "<m4@example.com>",
    )
    with_file.set_content("See the log.")
    with_file.add_attachment(
        b"\x00\x01binary", maintype="application", subtype="octet-stream", filename="log.bin"
    )
    assert ingest(runner, bytes(with_file)).startswith("opened")
    away = mail(
        "tech.mail@example.com",
        "Out of office",
        "Back Monday",
        Auto_Submitted="auto-replied",
        Message_ID="<m5@example.com>",
    )
    assert ingest(runner, away) == "ignored"
    bounce = mail(
        "MAILER-DAEMON@mx.example.com",
        "Undelivered Mail",
        "550 no such user",
        Message_ID="<m6@example.com>",
    )
    assert ingest(runner, bounce) == "ignored"
    stranger = mail("someone@elsewhere.example", "Help", "My TV", Message_ID="<m7@example.com>")
    assert ingest(runner, stranger) == "unknown_sender"
    stored = session.scalars(select(InboundMail.outcome).order_by(InboundMail.id)).all()
    assert stored == ["opened", "opened", "ignored", "ignored", "unknown_sender"]
    assert runner.invoke(args=["mail", "ingest"], input=b"").exit_code == 75


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_replies_thread_by_their_address_and_bring_their_files(
    runner: FlaskCliRunner, session: Session, technician: object
) -> None:
    from app.escalations.models import Attachment

    opened = ingest(
        runner,
        mail("tech.mail@example.com", "No picture", "Model: KDL-55W800C", Message_ID="<a1@x>"),
    )
    reference = opened.split()[1]
    ticket = session.scalar(select(Ticket).where(Ticket.reference == reference))
    address = reply_address(ticket, technician, settings=escalation_settings(runner.app))  # type: ignore[arg-type]
    # A client that rewrote the subject and dropped the headers: the address still threads it.
    reply = EmailMessage()
    reply["From"], reply["To"], reply["Subject"], reply["Message-ID"] = (
        "tech.mail@example.com",
        address,
        "AW: your question",
        "<a2@x>",
    )
    reply.set_content("Photo of the board attached.")
    reply.add_attachment(PNG, maintype="image", subtype="png", filename="board.png")
    reply.add_attachment(
        b"MZ\x90\x00 not a photo", maintype="image", subtype="jpeg", filename="setup.jpg"
    )
    assert ingest(runner, bytes(reply)) == f"threaded {reference}"
    session.expire_all()
    files = session.scalars(select(Attachment).where(Attachment.ticket_id == ticket.id)).all()
    assert [(f.filename, f.content_type) for f in files] == [("board.png", "image/png")]
    assert "setup.jpg" in ticket.events[-1].body  # the refused one is said on the ticket
    # A forged signature proves nothing: the mail is held for an agent.
    forged = mail(
        "tech.mail@example.com",
        "Another thing",
        "Model: KDL-55W800C",
        Message_ID="<a3@x>",
    ).replace(
        b"escalations@benchside.local",
        f"escalations+{reference}.0000000000@benchside.local".encode(),
    )
    assert ingest(runner, forged) == f"held {reference}"


def nested(depth: int) -> bytes:
    """A message of ``depth`` multiparts, each inside the one before."""
    head = (
        "From: tech.mail@example.com\r\nTo: escalations@benchside.local\r\n"
        "Subject: Deep\r\nMessage-ID: <deep@example.com>\r\nMIME-Version: 1.0\r\n"
    )
    opening = "".join(
        f'Content-Type: multipart/mixed; boundary="b{n}"\r\n\r\n--b{n}\r\n' for n in range(depth)
    )
    closing = "".join(f"\r\n--b{n}--\r\n" for n in reversed(range(depth)))
    return (head + opening + "Content-Type: text/plain\r\n\r\nhello" + closing).encode()


def test_a_message_nested_a_thousand_deep_is_stored_and_refused(
    runner: FlaskCliRunner, session: Session, technician: object
) -> None:
    result = runner.invoke(args=["mail", "ingest"], input=nested(1000))
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "refused: nested too deeply"
    [stored] = session.scalars(select(InboundMail)).all()
    assert stored.raw == nested(1000)  # kept whole, for a person to look at
    assert stored.outcome == "refused: nested too deeply"
    assert stored.message_id == "<deep@example.com>"
    assert session.scalar(select(func.count()).select_from(Ticket)) == 0
    # Many parts side by side are capped as well; a few levels are fine.
    many = EmailMessage()
    many["From"], many["Subject"], many["Message-ID"] = "tech.mail@example.com", "Many", "<many@x>"
    many.set_content("Model: KDL-55W800C")
    for n in range(300):
        many.add_attachment(b"log line\n", maintype="text", subtype="plain", filename=f"{n}.txt")
    assert ingest(runner, bytes(many)) == "refused: too many parts"
    assert ingest(runner, nested(5).replace(b"<deep@", b"<five@")).startswith("opened ESC-")
