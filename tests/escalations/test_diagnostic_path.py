"""The diagnostic path reaches agents: a table on the ticket page, in the agent's mail (an HTML
table and aligned text lines, through a real SMTP server) and in the API, with the walk's link;
the walk as it stood when the ticket was opened."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from types import SimpleNamespace

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.auth.models import User
from app.escalations import path, workflow
from app.escalations.models import Ticket
from app.mail import outbox
from app.roles import Role
from diagnostics import services as diagnostics
from diagnostics.models import DiagnosticSession
from tests.conftest import AuthActions
from tests.escalations import escalation_settings
from tests.factories import make_user
from tests.smtp import SmtpServer

TREE = """\
id: tv-shuts-down
title: Shuts down after a few seconds
product_line: TV
models: ['KDL-*']
start: reseat
nodes:
  reseat: {kind: step, text: Reseat the power board connector CN6001, next: blinks}
  blinks:
    kind: choice
    text: How many times does the standby LED blink?
    options: [{label: '2', next: psu}, {label: '6', next: volts}]
  volts:
    kind: measure
    text: Measure 12 V at CN6101 pin 1
    unit: V
    plausible: [0, 30]
    ranges: [{below: 11.4, next: psu}, {from: 11.4, next: esc}]
  psu: {kind: fix, text: Replace the power board, parts: [], labour_minutes: 30}
  esc: {kind: escalate, text: Send the measurements to engineering}
"""
VALID = {
    "subject": "Shuts down with 12 V in range",
    "description": "12 V reads 12.1 V; it still shuts down after 3 s.",
    "category": "technical",
    "model_number": "KDL-55W800C",
}
EXPECTED = [
    ["1", "Reseat the power board connector CN6001", "done", ""],
    ["2", "How many times does the standby LED blink?", "6", ""],
    ["3", "Measure 12 V at CN6101 pin 1", "11.4 V or more", "12.1 V"],
]


def walked(session: Session, tech: User) -> DiagnosticSession:
    revision = diagnostics.import_tree(session, TREE, publish=True, by="engineer@example.com")
    walk = diagnostics.start(
        session, revision, by=tech.email, centre_id=tech.centre_id, model_number="KDL-55W800C"
    )
    diagnostics.answer(session, walk, proceed=True)
    diagnostics.answer(session, walk, option="6")
    diagnostics.answer(session, walk, value="12.1")
    session.commit()
    return walk


def escalated(client: FlaskClient, auth: AuthActions, session: Session) -> tuple[str, str]:
    """A technician walks to the escalation and opens a ticket from the walk; afterwards the
    last answer is taken back (the ticket keeps what was sent). The reference and the walk."""
    tech = auth.login(Role.TECHNICIAN)
    walk = walked(session, tech)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    response = client.post("/api/v1/escalations", json={**VALID, "diagnostic_session": walk.id})
    assert response.status_code == 201, response.get_json()
    document = response.get_json()
    assert [
        [str(r["step"]), r["question"], r["answer"], r["measured"]]
        for r in document["diagnostic_path"]
    ] == EXPECTED
    assert {r["walk"] for r in document["diagnostic_path"]} == {walk.id}
    auth.logout()
    session.expire_all()
    diagnostics.back(session, diagnostics.get(session, walk.id))
    session.commit()
    return str(document["reference"]), walk.id


class Tables(HTMLParser):
    """The page's tables: their head cells, and each body row's cells with their data-label."""

    def __init__(self) -> None:
        super().__init__()
        self.heads: list[str] = []
        self.rows: list[list[tuple[str, str]]] = []
        self._cell: list[str] | None = None
        self._label = ""
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("thead", "tbody"):
            self._in = tag
        elif tag == "tr" and self._in == "tbody":
            self.rows.append([])
        elif tag in ("th", "td"):
            self._cell = []
            self._label = dict(attrs).get("data-label") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            if self._in == "thead":
                self.heads.append(text)
            else:
                self.rows[-1].append((self._label, text))
            self._cell = None
        elif tag in ("thead", "tbody"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def tables_of(html: str) -> Tables:
    parser = Tables()
    parser.feed(html)
    return parser


def test_the_ticket_page_shows_the_path_in_order(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    reference, walk_id = escalated(client, auth, session)
    auth.login(Role.AGENT_TIER1)
    html = client.get(f"/escalations/{reference}").get_data(as_text=True)
    found = tables_of(html)
    assert found.heads == ["Step", "Question", "Answer", "Measured"]
    assert [[text for _label, text in row] for row in found.rows] == EXPECTED
    for row in found.rows:  # each cell names its column for the phone's stacked rows
        assert [label for label, _text in row] == found.heads
    assert f'href="/diagnose/sessions/{walk_id}"' in html
    # The API reads the same rows back.
    api = client.get(f"/api/v1/escalations/{reference}").get_json()
    assert [r["question"] for r in api["diagnostic_path"]] == [row[1] for row in EXPECTED]


def test_a_ticket_without_a_walk_shows_no_table(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.TECHNICIAN)
    client.environ_base["HTTP_X_CSRFTOKEN"] = auth.csrf()
    document = client.post("/api/v1/escalations", json=VALID).get_json()
    assert document["diagnostic_path"] == []
    auth.logout()
    auth.login(Role.AGENT_TIER1)
    html = client.get(f"/escalations/{document['reference']}").get_data(as_text=True)
    assert "<table" not in html
    assert "No diagnostic walk came with this ticket." in html
    assert "/diagnose/sessions/" not in html


def test_the_agents_mail_carries_the_path_through_a_real_mail_server(
    app: Flask,
    client: FlaskClient,
    auth: AuthActions,
    session: Session,
    session_factory: sessionmaker[Session],
    smtp_server: SmtpServer,
) -> None:
    reference, walk_id = escalated(client, auth, session)
    agent = make_user(session, role=Role.AGENT_TIER1)
    admin = make_user(session, role=Role.ADMIN)
    ticket = session.scalars(select(Ticket).where(Ticket.reference == reference)).one()
    settings = outbox.SmtpSettings(host="127.0.0.1", port=smtp_server.port, timeout=2)
    outbox.deliver_due(session_factory, settings)  # the technician's acknowledgement
    smtp_server.inbox.messages.clear()
    workflow.assign(session, ticket, agent, by=admin, settings=escalation_settings(app))
    session.commit()
    assert outbox.deliver_due(session_factory, settings).sent == 1
    [mail] = smtp_server.inbox.messages
    assert mail["To"] == agent.email
    assert mail.get_content_type() == "multipart/alternative"
    text_part, html_part = mail.get_body(("plain",)), mail.get_body(("html",))
    assert text_part is not None
    assert html_part is not None
    text, html = text_part.get_content(), html_part.get_content()
    link = f"http://localhost/diagnose/sessions/{walk_id}"
    # HTML: a real table, each row in order, the walk's absolute link.
    found = tables_of(html)
    assert found.heads == ["Step", "Question", "Answer", "Measured"]
    assert [[cell for _label, cell in row] for row in found.rows] == EXPECTED
    assert f'href="{link}"' in html
    # Text: the same rows as aligned lines, every column starting where its heading does (a
    # long question goes on in its column on the next line).
    lines = text.splitlines()
    head = next(i for i, line in enumerate(lines) if line.split() == found.heads)
    columns = [lines[head].index(h) for h in found.heads]
    read: list[list[str]] = []
    for line in lines[head + 1 : lines.index("", head)]:
        cells = [line[a:b].strip() for a, b in zip(columns, [*columns[1:], None], strict=True)]
        if cells[0]:
            read.append(cells)
        else:  # a continuation: each cell's text goes on
            read[-1] = [f"{a} {b}".strip() for a, b in zip(read[-1], cells, strict=True)]
    assert read == EXPECTED, text
    assert link in text
    assert f"http://localhost/escalations/{reference}" in text


def test_text_lines_wrap_a_long_question_within_its_column() -> None:
    rows = [
        path.PathRow(1, "Measure " + "the voltage " * 6 + "at CN6101", "below 11.4 V", "9 V", "w"),
        path.PathRow(2, "Fixed?", "No", "", "w"),
    ]
    lines = path.as_text(rows)
    answer_at = lines[0].index("Answer")
    assert re.match(r"Step\s+Question\s+Answer\s+Measured$", lines[0])
    assert all(len(line) <= 4 + 2 + 38 + 2 + 24 + 2 + 12 for line in lines)
    assert lines[1][answer_at:].startswith("below 11.4 V")
    wrapped = [line for line in lines[2:] if line.strip() and not line.startswith("2")]
    assert wrapped
    assert all(line[: answer_at - 2].strip() for line in wrapped)  # the question goes on
    assert lines[-1].split() == ["2", "Fixed?", "No"]
    assert path.as_text([]) == []


def test_the_html_part_escapes_what_people_wrote(app: Flask) -> None:
    """The subject, the message and the walk's texts are people's words: shown, never run."""
    mail = escalation_settings(app).mail
    ticket = SimpleNamespace(
        reference="ESC-2026-000001",
        subject="<script>alert(1)</script>",
        tier="tier1",
        priority="normal",
        product_line=None,
        first_response_due=datetime(2026, 12, 7, 9, tzinfo=UTC),
        resolution_due=datetime(2026, 12, 8, 9, tzinfo=UTC),
    )
    rows = [path.PathRow(1, "Is <b>it</b> on?", "<img src=x>", "", "w")]
    html = mail.render_html(
        "escalation_for_agent",
        ticket=ticket,
        what="Assigned to you",
        text="a & b",
        zone=escalation_settings(app).calendar.zone,
        link="http://localhost/escalations/ESC-2026-000001",
        path=rows,
        path_lines=path.as_text(rows),
        walk_link="http://localhost/diagnose/sessions/w",
    )
    assert html is not None
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<img" not in html
    assert "Is &lt;b&gt;it&lt;/b&gt; on?" in html
    assert "a &amp; b" in html
    assert mail.render_html("escalation_received") is None  # text only: no HTML part
