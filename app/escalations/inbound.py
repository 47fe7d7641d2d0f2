"""Mail in: one RFC 822 message, as a mail server hands it to a program.

The raw message is stored first (nothing is lost whatever happens next), keyed by its Message-ID
so that the same message delivered again is processed once. Then it is threaded into its ticket
(the reference in the subject, or In-Reply-To / References naming a mail we sent), or opens a
ticket from a known sender. Auto-replies and bounces are stored and left alone, and unknown
senders get no answer: no mail loops, no backscatter. Broken charsets and NUL bytes are
repaired, never an error.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.auth.models import User
from app.escalations import attachments, services, workflow
from app.escalations import policy as access
from app.escalations.models import EventKind, InboundMail, Ticket, TicketEvent
from app.escalations.settings import EscalationSettings
from app.exceptions import Conflict, NotAllowed
from app.mail.models import OutboxMessage
from app.storable import CONTROL
from parts_catalog.sqltypes import utcnow

REFERENCE = re.compile(r"\bESC-\d{4}-\d{6,}\b")
# The reply address of a ticket's mail: escalations+ESC-2026-000001.<signature>@...
# (16 hex digits: signed for one person; 10: an older address, signed for the ticket alone)
REPLY_TOKEN = re.compile(r"\+(ESC-\d{4}-\d{6,})\.([0-9a-f]{16}|[0-9a-f]{10})@", re.IGNORECASE)
HELD, ACCEPTED, REJECTED = "held", "accepted", "rejected"
MAX_BODY = 20_000
#: Beyond these a message is stored and refused, never parsed: the email package parses nested
#: parts by recursion, and a message nested a thousand deep would crash the command.
MAX_DEPTH = 20
MAX_PARTS = 100
NESTED_TOO_DEEPLY = "refused: nested too deeply"
TOO_MANY_PARTS = "refused: too many parts"
_MULTIPART = re.compile(
    rb"(?im)^content-type:[ \t]*(?:\r?\n[ \t]+)?multipart/[^;\r\n]*;"
    rb"(?:[^\r\n]|\r?\n[ \t])*?boundary[ \t]*=[ \t]*(?:\"([^\"\r\n]{1,200})\"|([^\s;\"]{1,200}))"
)
_ENCLOSED = re.compile(rb"(?im)^content-type:[ \t]*(?:\r?\n[ \t]+)?message/")
_DELIMITER = re.compile(rb"(?m)^--([^\r\n]{1,202}?)[ \t]*\r?$")


@dataclass(frozen=True)
class Outcome:
    status: str  # threaded, opened, held, ignored, unknown_sender, duplicate, refused: ...
    reference: str | None = None


def _text(message: EmailMessage) -> str:
    """The message's plain text (or its HTML stripped of tags), charset errors replaced."""
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    decoded = part.get_payload(decode=True)
    payload = decoded if isinstance(decoded, bytes) else b""
    charset = part.get_content_charset() or "utf-8"
    try:
        text = payload.decode(charset, errors="replace")
    except LookupError:  # a charset Python does not know
        text = payload.decode("utf-8", errors="replace")
    if part.get_content_type() == "text/html":
        text = re.sub(r"<[^>]+>", " ", text)
    return CONTROL.sub("", text).replace("\r\n", "\n").strip()


def _without_quotes(text: str) -> str:
    """A reply's new text: the quoted history at its end is already on the ticket. Answers
    written between quoted lines are kept, quotes and all."""
    lines = text.splitlines()
    end = len(lines)
    while end and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    if end < len(lines) and end and re.match(r"^On .+ wrote:$", lines[end - 1].strip()):
        end -= 1  # the "On ..., ... wrote:" line that introduced the quote
    return "\n".join(lines[:end]).strip() or text


def _automatic(message: EmailMessage, sender: str) -> bool:
    auto = (_header(message, "Auto-Submitted") or "no").lower()
    precedence = _header(message, "Precedence").lower()
    return (
        auto != "no"
        or precedence in ("bulk", "junk", "list", "auto_reply")
        or bool(_header(message, "X-Autoreply"))
        or message.get_content_type() == "multipart/report"
        or sender.split("@")[0].lower() in ("mailer-daemon", "postmaster", "")
    )


def _header(message: EmailMessage, name: str) -> str:
    """A header as text, or "" when it is missing or too broken to parse (a malformed address
    list makes the parser raise when the value is read)."""
    try:
        value = message.get(name)
        return CONTROL.sub("", str(value or "")).strip()
    except Exception:
        return ""


class Refused(Exception):
    """A message whose structure is not parsed (see :data:`MAX_DEPTH`)."""


def structure_problem(raw: bytes) -> str | None:
    """Why a message is too deep or has too many parts to parse, judged from its bytes alone
    (a scan of boundaries, without recursion), or None."""
    events = sorted(
        [(m.start(), "open", m.group(1) or m.group(2)) for m in _MULTIPART.finditer(raw)]
        + [(m.start(), "line", m.group(1)) for m in _DELIMITER.finditer(raw)]
    )
    if len(_ENCLOSED.findall(raw)) > MAX_DEPTH:
        return NESTED_TOO_DEEPLY
    stack: list[bytes] = []
    parts = 0
    for _at, kind, token in events:
        if kind == "open":
            stack.append(token)
            if len(stack) > MAX_DEPTH:
                return NESTED_TOO_DEEPLY
            continue
        closing = token.endswith(b"--") and token[:-2] in stack
        boundary = token[:-2] if closing else token
        if boundary not in stack:
            continue  # a line that only looks like a delimiter
        while stack[-1] != boundary:  # inner parts that never closed end here
            stack.pop()
        if closing:
            stack.pop()
        else:
            parts += 1
            if parts > MAX_PARTS:
                return TOO_MANY_PARTS
    return None


def _parse(raw: bytes) -> EmailMessage:
    """The whole message, its depth and part count capped.

    :raises Refused: nested too deeply or with too many parts; say so with ``str(exc)``.
    """
    problem = structure_problem(raw)
    if problem is not None:
        raise Refused(problem)
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except RecursionError:  # should the scan above ever be fooled
        raise Refused(NESTED_TOO_DEEPLY) from None
    assert isinstance(message, EmailMessage)
    # The same limits on what the parser made of it, walked without recursion.
    pending: list[tuple[EmailMessage, int]] = [(message, 1)]
    count = 0
    while pending:
        part, depth = pending.pop()
        count += 1
        if depth > MAX_DEPTH:
            raise Refused(NESTED_TOO_DEEPLY)
        if count > MAX_PARTS:
            raise Refused(TOO_MANY_PARTS)
        if part.is_multipart():
            children = part.get_payload()
            if isinstance(children, list):
                pending += [
                    (child, depth + 1) for child in children if isinstance(child, EmailMessage)
                ]
    return message


def _headers(raw: bytes) -> EmailMessage | None:
    """The top-level headers only: no body is parsed, so no structure can make this fail."""
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw, headersonly=True)
    except Exception:  # whatever the bytes, the message is stored
        return None
    return message if isinstance(message, EmailMessage) else None


def store(session: Session, raw: bytes) -> tuple[InboundMail, bool]:
    """Keep the raw message before anything else is tried; the caller commits at once. Returns
    the stored row and whether it still needs processing (False: a delivery seen before)."""
    message = _headers(raw)
    message_id = (_header(message, "Message-ID") if message else "")[:255] or (
        "<sha256-" + hashlib.sha256(raw).hexdigest() + "@benchside>"
    )
    seen = session.scalar(select(InboundMail).where(InboundMail.message_id == message_id))
    if seen is not None:
        return seen, seen.outcome == "stored"  # stored, then interrupted: process it now
    sender = parseaddr(_header(message, "From") if message else "")[1].lower()[:254]
    stored = InboundMail(
        message_id=message_id,
        sender=sender or None,
        raw=raw,
        received_at=utcnow(),
        outcome="stored",
    )
    session.add(stored)
    session.flush()
    return stored, True


def ingest(session: Session, raw: bytes, *, settings: EscalationSettings) -> Outcome:
    """Store and process one message in one go (see :func:`store` and :func:`process` for the
    command's two steps); the caller commits."""
    stored, fresh = store(session, raw)
    return process(session, stored, settings=settings) if fresh else Outcome("duplicate")


def process(session: Session, stored: InboundMail, *, settings: EscalationSettings) -> Outcome:
    """Thread a stored message into its ticket, or open one; the caller commits."""
    try:
        message = _parse(stored.raw)
    except Refused as exc:
        stored.outcome = str(exc)
        return Outcome(str(exc))
    sender = stored.sender or ""
    if _automatic(message, sender):
        stored.outcome = "ignored"
        return Outcome("ignored")
    user = session.scalar(select(User).where(func.lower(User.email) == sender)) if sender else None
    if user is None or not user.is_enabled:
        stored.outcome = "unknown_sender"
        return Outcome("unknown_sender")
    subject = services.one_line(_header(message, "Subject"))
    ticket, proven = _thread(session, message, subject, user, settings=settings)
    body = _text(message)
    if ticket is not None and not proven:
        # It names a ticket, but nothing shows that its sender wrote it (the From header is
        # anyone's to write, references are sequential): an agent decides.
        stored.outcome, stored.ticket_id = HELD, ticket.id
        session.flush()
        return Outcome(HELD, ticket.reference)
    if ticket is not None:
        _post(session, message, user, ticket, settings=settings)
        stored.outcome, stored.ticket_id = "threaded", ticket.id
        session.flush()
        return Outcome("threaded", ticket.reference)
    data = services.Submission(
        subject=(subject or "Escalation by mail")[:200],
        description=(body or "(no text)")[:MAX_BODY],
        category="other",
        model_number=_model_in(body) or "not given",
    )
    # Keyed by the message, should processing ever run twice.
    key = "mail-" + hashlib.sha256(stored.message_id.encode()).hexdigest()[:40]
    opened, _new = services.open_ticket(session, user, data, settings=settings, idempotency_key=key)
    _attach(session, message, user, opened, limit=settings.attachment_max_bytes)
    stored.outcome, stored.ticket_id = "opened", opened.id
    session.flush()
    return Outcome("opened", opened.reference)


def _post(
    session: Session,
    message: EmailMessage,
    user: User,
    ticket: Ticket,
    *,
    settings: EscalationSettings,
) -> TicketEvent:
    """The message's new text on the ticket as ``user``'s, and its files."""
    text = _without_quotes(_text(message))[:MAX_BODY]
    if ticket.author_id == user.id:
        event = workflow.technician_message(session, ticket, user, text, settings=settings)
    else:  # the centre's manager, say: on the record, the clock as it is
        event = TicketEvent(
            kind=EventKind.MESSAGE,
            public=True,
            author=user.email,
            body=text,
            created_at=utcnow(),
        )
        ticket.events.append(event)
        workflow.reopen(ticket)
    _attach(session, message, user, ticket, limit=settings.attachment_max_bytes)
    return event


# --- held mail ------------------------------------------------------------------------------


class NotDecided(Conflict):
    """Held mail that cannot be accepted or rejected; the message says why."""


def held(session: Session, *, limit: int = 200) -> list[InboundMail]:
    """Mail waiting for an agent, oldest first."""
    return list(
        session.scalars(
            select(InboundMail)
            .where(InboundMail.outcome == HELD)
            .order_by(InboundMail.id)
            .limit(limit)
        )
    )


def tickets_named(session: Session, mails: list[InboundMail]) -> dict[int, Ticket]:
    """The tickets that held mail names, by id."""
    wanted = [m.ticket_id for m in mails if m.ticket_id is not None]
    return {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_(wanted)))}


@dataclass(frozen=True)
class HeldView:
    """What an agent needs to decide: who it claims to be from, what it says, where it goes."""

    subject: str
    text: str
    files: list[str]


def view(stored: InboundMail) -> HeldView:
    message = _parse(stored.raw)
    return HeldView(
        subject=services.one_line(_header(message, "Subject")),
        text=_without_quotes(_text(message))[:MAX_BODY],
        files=[str(p.get_filename() or "attachment") for p in message.iter_attachments()],
    )


def _decide(session: Session, stored: InboundMail, agent: User, outcome: str) -> None:
    """Record the decision; the database decides between two agents deciding at once."""
    decided = session.execute(
        update(InboundMail)
        .where(InboundMail.id == stored.id, InboundMail.outcome == HELD)
        .values(outcome=outcome, decided_by_id=agent.id, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if decided.rowcount != 1:  # type: ignore[attr-defined]
        raise NotDecided("Another agent decided on this mail already.")
    session.refresh(stored)


def _check_agent(agent: User, action: str) -> None:
    decision = access.may_handle_mail(services.person_of(agent), action)
    if not decision:
        raise NotAllowed(decision.reason)


def accept(
    session: Session, stored: InboundMail, agent: User, *, settings: EscalationSettings
) -> TicketEvent:
    """Post held mail into its ticket as its sender's, marked as accepted by ``agent``.

    :raises NotAllowed: ``agent`` does not decide on held mail.
    :raises NotDecided: decided already, or its sender may not write to that ticket.
    """
    _check_agent(agent, "accept_mail")
    ticket = session.get(Ticket, stored.ticket_id) if stored.ticket_id else None
    sender = (
        session.scalar(select(User).where(func.lower(User.email) == stored.sender))
        if stored.sender
        else None
    )
    if ticket is None or sender is None or not sender.is_enabled:
        raise NotDecided("Its sender or its ticket is no longer there: reject it.")
    allowed = access.may(services.person_of(sender), "mail", services.facts_of(ticket))
    if not allowed:
        raise NotDecided(f"{sender.email} may not write to {ticket.reference}: reject it.")
    _decide(session, stored, agent, ACCEPTED)
    event = _post(session, _parse(stored.raw), sender, ticket, settings=settings)
    ticket.events.append(
        TicketEvent(
            kind=EventKind.EVENT,
            public=True,
            author=agent.email,
            body=f"The mail from {sender.email} was held (nothing proved who sent it) "
            f"and accepted by {agent.email}.",
            created_at=utcnow(),
        )
    )
    session.flush()
    return event


def reject(session: Session, stored: InboundMail, agent: User) -> None:
    """Keep held mail out of its ticket (it stays stored, marked as rejected by ``agent``).

    :raises NotAllowed: ``agent`` does not decide on held mail.
    :raises NotDecided: decided already.
    """
    _check_agent(agent, "reject_mail")
    _decide(session, stored, agent, REJECTED)
    session.flush()


def _attach(
    session: Session, message: EmailMessage, user: User, ticket: Ticket, *, limit: int
) -> None:
    """Keep the files a mail carries with its ticket, up to the ticket's limit; a file refused
    is said on the ticket."""
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        name = str(part.get_filename() or "attachment")
        try:
            data = part.get_payload(decode=True)
            attachments.keep(
                session,
                user,
                data if isinstance(data, bytes) else b"",
                name,
                limit=limit,
                ticket=ticket,
            )
        except attachments.TooMany as exc:
            _say(ticket, f"A file sent by mail was not attached: “{name}” and later files: {exc}")
            break
        except attachments.Refused as exc:
            _say(ticket, f"A file sent by mail was not attached: {exc}")


def _say(ticket: Ticket, text: str) -> None:
    ticket.events.append(
        TicketEvent(
            kind=EventKind.EVENT, public=True, author="Benchside", body=text, created_at=utcnow()
        )
    )


def _thread(
    session: Session,
    message: EmailMessage,
    subject: str,
    user: User,
    *,
    settings: EscalationSettings,
) -> tuple[Ticket | None, bool]:
    """The ticket a message names, and whether it is proven to be ``user``'s to post.

    Proven only by a reply address signed for that very person (or, for addresses from before
    they named their person, signed for the ticket and sent by its author, the only one who was
    ever given one). A reference in the subject, a Message-ID of a mail we sent, or an address
    signed for someone else only name the ticket: the From header is anyone's to write.
    """
    named: list[str] = []
    recipients = " ".join(
        _header(message, h) for h in ("To", "Cc", "Delivered-To", "X-Original-To")
    )
    for reference, signature in REPLY_TOKEN.findall(recipients):
        reference, signature = reference.upper(), signature.lower()
        ticket = session.scalar(select(Ticket).where(Ticket.reference == reference))
        if ticket is None:
            continue
        if len(signature) == 16:
            proven = hmac.compare_digest(
                signature, services.reply_signature(reference, user.id, settings=settings)
            )
        else:
            proven = ticket.author_id == user.id and hmac.compare_digest(
                signature, services.legacy_reply_signature(reference, settings=settings)
            )
        if proven and access.may(services.person_of(user), "mail", services.facts_of(ticket)):
            return ticket, True
        named.append(reference)
    replied = " ".join(_header(message, h) for h in ("In-Reply-To", "References"))
    for mid in re.findall(r"<[^>]+>", replied)[:50]:
        sent = session.scalar(select(OutboxMessage.subject).where(OutboxMessage.message_id == mid))
        if sent:
            named += REFERENCE.findall(sent)
    named += REFERENCE.findall(subject)
    for reference in named:
        ticket = session.scalar(select(Ticket).where(Ticket.reference == reference.upper()))
        if ticket is not None:
            return ticket, False
    return None, False


def _model_in(text: str) -> str | None:
    match = re.search(r"(?im)^\s*model(?: number)?\s*[:=]\s*(\S{3,40})", text)
    return match.group(1) if match else None
