"""Issue 18, notices: every required part or nothing, review before publishing, targeting a
part reaches its whole chain, safety notices wait for an acknowledgement, and a thousand people
get exactly one mail each through a mail outage."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.auth import services as accounts
from app.auth.models import ServiceCentre, User
from app.exceptions import Conflict, NotAllowed
from app.extensions import current_settings
from app.mail import outbox
from app.mail.models import OutboxMessage
from app.notices import services
from app.notices.models import Notice, NoticeAcknowledgement
from app.roles import Role
from parts_catalog.importer import import_release
from tests import database
from tests.factories import make_centre, make_user
from tests.parts_catalog.releases import base_release
from tests.smtp import SmtpServer

WRITTEN: dict[str, Any] = {
    "kind": "part_notice",
    "safety": True,
    "title": "Power board GL2: fit GL2A only",
    "what_changes": "1-474-594-11 is withdrawn; 1-474-594-12 replaces it.",
    "why": "Capacitor C512 on early boards overheats.",
    "effective_on": "2026-12-07",
    "what_to_do": "Order 1-474-594-12 and return any 1-474-594-11 in stock.",
    "contact": "parts-quality@benchside.example",
    "targets": {"part": ["1-474-594-12"]},
}


def asked(**changes: Any) -> services.NoticeInput:
    fields = {**WRITTEN, **changes}
    effective = fields.pop("effective_on")
    return services.NoticeInput(
        effective_on=date.fromisoformat(effective) if effective else None, **fields
    )


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
    session.commit()


def _published(session: Session, app: Flask, **changes: Any) -> Notice:
    author = make_user(session, role=Role.ENGINEER)
    reviewer = make_user(session, role=Role.ENGINEER)
    notice = services.create(session, by=author, asked=asked(**changes))
    services.review(session, notice, by=reviewer)
    with app.app_context():
        services.publish(session, notice, by=author, mailer=current_settings().mail)
    return notice


@pytest.mark.usefixtures("catalogue")
def test_a_notice_missing_what_to_do_instead_is_refused_naming_it(session: Session) -> None:
    author = make_user(session, role=Role.ENGINEER)
    with pytest.raises(services.NoticeError) as refused:
        services.create(session, by=author, asked=asked(what_to_do="  ", contact=""))
    assert refused.value.message == (
        "The notice is missing what to do, contact. Nothing was saved."
    )
    assert dict(refused.value.errors) == {
        "what_to_do": "Say what to do instead: the steps, the new address or part.",
        "contact": "Say whom to contact with questions.",
    }
    assert session.scalar(select(func.count()).select_from(Notice)) == 0
    with pytest.raises(services.NoticeError) as unknown:
        services.create(session, by=author, asked=asked(targets={"part": ["9-999-999-99"]}))
    assert unknown.value.errors["targets"] == "part 9-999-999-99 is not in the catalogue"


@pytest.mark.usefixtures("catalogue")
def test_a_notice_is_reviewed_by_someone_else_before_it_is_published(
    session: Session, app: Flask
) -> None:
    author = make_user(session, role=Role.ENGINEER)
    notice = services.create(session, by=author, asked=asked())
    assert notice.reference is not None
    assert notice.reference.startswith("NTC-")
    with app.app_context(), pytest.raises(Conflict, match="has not been reviewed"):
        services.publish(session, notice, by=author, mailer=current_settings().mail)
    with pytest.raises(NotAllowed):
        services.review(session, notice, by=author)
    with pytest.raises(NotAllowed):
        services.review(session, notice, by=make_user(session, role=Role.TECHNICIAN))
    services.review(session, notice, by=make_user(session, role=Role.ADMIN))
    # An edit after the review needs a review again.
    services.edit(session, notice, by=author, asked=asked(title="Power board GL2"), seen=1)
    with app.app_context(), pytest.raises(Conflict, match="has not been reviewed"):
        services.publish(session, notice, by=author, mailer=current_settings().mail)


@pytest.mark.usefixtures("catalogue")
def test_targeting_a_part_reaches_its_chains_old_and_new_numbers(
    session: Session, app: Flask
) -> None:
    notice = _published(session, app, targets={"part": ["1-474-594-12"]}, safety=False)
    assert services.about_parts(session, ["1474594-11"]) == [notice]  # the old number
    assert services.about_parts(session, ["1-474-594-12"]) == [notice]
    assert services.about_parts(session, ["A-2072-533-A"]) == []
    older = _published(session, app, targets={"part": ["1-474-594-11"]}, safety=False)
    assert older in services.about_parts(session, ["1-474-594-12"])  # and the new one


@pytest.mark.usefixtures("catalogue")
def test_a_safety_notice_blocks_until_acknowledged_once(session: Session, app: Flask) -> None:
    centre = make_centre(session)
    tech = make_user(session, role=Role.TECHNICIAN, centre=centre)
    notice = _published(session, app)
    assert services.unacknowledged(session, tech) == [notice]
    with pytest.raises(services.SafetyNoticeFirst) as blocked:
        services.require_safety_acknowledged(session, tech, parts=["1-474-594-11"])
    assert notice.reference in blocked.value.message
    services.require_safety_acknowledged(session, tech, parts=["A-2072-533-A"])  # not about it
    first, new = services.acknowledge(session, notice, by=tech)
    again, new_again = services.acknowledge(session, notice, by=tech)
    assert new
    assert not new_again
    assert again.acknowledged_at == first.acknowledged_at
    services.require_safety_acknowledged(session, tech, parts=["1-474-594-11"])
    assert services.unacknowledged(session, tech) == []


@pytest.mark.usefixtures("catalogue")
def test_the_api_refuses_a_missing_part_and_publishes_only_once_reviewed(
    client: FlaskClient, session: Session
) -> None:
    author = make_user(session, role=Role.ENGINEER)
    reviewer = make_user(session, role=Role.ADMIN)
    tech = make_user(session, role=Role.TECHNICIAN)
    tokens = {u.email: accounts.issue_api_token(session, u) for u in (author, reviewer, tech)}
    session.commit()

    def call(user: User, url: str, body: Any = None) -> Any:
        headers = {"Authorization": f"Bearer {tokens[user.email]}"}
        if body is None and url.endswith("notices?unacknowledged=1"):
            return client.get(url, headers=headers)
        return client.post(url, json=body or {}, headers=headers)

    missing = call(author, "/api/v1/notices", {**WRITTEN, "what_to_do": ""})
    assert missing.status_code == 422
    assert set(missing.get_json()["errors"]) == {"what_to_do"}
    made = call(author, "/api/v1/notices", WRITTEN)
    assert made.status_code == 201
    notice_id = made.get_json()["id"]
    assert call(author, f"/api/v1/notices/{notice_id}/publish").status_code == 409
    assert call(author, f"/api/v1/notices/{notice_id}/review").status_code == 403
    assert call(reviewer, f"/api/v1/notices/{notice_id}/review").status_code == 200
    published = call(author, f"/api/v1/notices/{notice_id}/publish")
    assert published.status_code == 200
    assert published.get_json()["sent_to"] == 1  # the technician (default audience)
    waiting = call(tech, "/api/v1/notices?unacknowledged=1").get_json()["notices"]
    assert [n["id"] for n in waiting] == [notice_id]
    assert call(tech, f"/api/v1/notices/{notice_id}/acknowledge").status_code == 201
    assert call(tech, f"/api/v1/notices/{notice_id}/acknowledge").status_code == 200
    assert call(tech, "/api/v1/notices?unacknowledged=1").get_json()["notices"] == []


@pytest.mark.usefixtures("catalogue")
def test_reminders_go_in_business_hours_once_per_period(session: Session, app: Flask) -> None:
    tech = make_user(session, role=Role.TECHNICIAN)
    notice = _published(session, app, safety=False)
    with app.app_context():
        settings = current_settings()
        calendar = settings.escalations.calendar
        mailer = settings.mail
        sent_at = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo(calendar.zone))
        session.execute(update(services.NoticeDelivery).values(sent_at=sent_at))
        monday_night = datetime(2026, 12, 7, 23, 0, tzinfo=ZoneInfo(calendar.zone))
        monday_morning = datetime(2026, 12, 7, 10, 0, tzinfo=ZoneInfo(calendar.zone))
        after = timedelta(days=3)
        assert (
            services.remind(
                session, now=monday_night, after=after, calendar=calendar, mailer=mailer
            )
            == 0
        )
        assert (
            services.remind(
                session, now=monday_morning, after=after, calendar=calendar, mailer=mailer
            )
            == 1
        )
        assert (
            services.remind(
                session,
                now=monday_morning + timedelta(hours=1),
                after=after,
                calendar=calendar,
                mailer=mailer,
            )
            == 0
        )
        services.acknowledge(session, notice, by=tech)
        thursday = monday_morning + timedelta(days=3)
        assert (
            services.remind(session, now=thursday, after=after, calendar=calendar, mailer=mailer)
            == 0
        )
    reminders = session.scalars(
        select(OutboxMessage).where(OutboxMessage.subject.startswith("Reminder:"))
    ).all()
    assert [m.to_address for m in reminders] == [tech.email]


@pytest.mark.usefixtures("catalogue")
def test_a_thousand_people_get_exactly_one_mail_each_through_an_outage(
    session: Session,
    app: Flask,
    session_factory: sessionmaker[Session],
    smtp_server: SmtpServer,
) -> None:
    centre = session.scalar(select(ServiceCentre)) or make_centre(session)
    session.add_all(
        User(
            email=f"tech{n:04d}@centre.example",
            name=f"Technician {n}",
            role=Role.TECHNICIAN,
            centre_id=centre.id,
            password_hash="!",  # never signs in
        )
        for n in range(1000)
    )
    session.flush()
    notice = _published(session, app, safety=False)
    session.commit()
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 1000
    settings = outbox.SmtpSettings(host="127.0.0.1", port=smtp_server.port, timeout=2)
    smtp_server.stop()
    down = outbox.deliver_due(session_factory, settings, limit=1000)
    assert down.sent == 0
    smtp_server.start()
    session.execute(update(OutboxMessage).values(next_attempt_at=datetime(2000, 1, 1, tzinfo=UTC)))
    session.commit()
    started = time.perf_counter()
    while outbox.deliver_due(session_factory, settings, limit=1000).sent:
        pass
    took = time.perf_counter() - started
    received = Counter(m["To"] for m in smtp_server.inbox.messages)
    print(
        f"\n1,000 people, mail server down then up: {len(received)} got mail, "
        f"{max(received.values())} at most each, in {took:.1f} s"
    )
    assert len(received) == 1000
    assert set(received.values()) == {1}
    assert all(notice.reference in m["Subject"] for m in smtp_server.inbox.messages)
    assert session.scalar(select(func.count()).select_from(NoticeAcknowledgement)) == 0


@pytest.fixture
def committed_draft(engine: Engine, tmp_path: Path) -> Iterator[tuple[int, int, int]]:
    with Session(engine) as session:
        import_release(session, path=base_release(tmp_path / "r"), label="r")
        first = make_user(session, role=Role.ENGINEER)
        second = make_user(session, role=Role.ENGINEER)
        notice = services.create(session, by=first, asked=asked())
        session.commit()
        ids = (first.id, second.id, notice.id)
    yield ids
    database.delete_all_rows(engine)


def test_two_edits_sent_at_once_save_one_and_refuse_the_other(
    engine: Engine, committed_draft: tuple[int, int, int]
) -> None:
    *writers, notice_id = committed_draft
    titles = ("Power board GL2: fit GL2A", "Power board GL2: GL2A only")
    ready = threading.Barrier(2)
    answers: list[str] = []

    def edit(n: int) -> None:
        for attempt in range(100):
            with Session(engine) as session:
                writer = session.get(User, writers[n])
                notice = services.get(session, notice_id)
                assert writer is not None
                if attempt == 0:
                    ready.wait(10)
                try:
                    services.edit(session, notice, by=writer, asked=asked(title=titles[n]), seen=1)
                    session.commit()
                    answers.append("saved")
                    return
                except Conflict:
                    answers.append("conflict")
                    return
                except Exception as exc:
                    session.rollback()
                    if "locked" not in str(exc):
                        raise
                    time.sleep(0.01)

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    print(f"\ntwo edits of one notice at once ({engine.dialect.name}): {sorted(answers)}")
    assert sorted(answers) == ["conflict", "saved"]
    with Session(engine) as session:
        notice = services.get(session, notice_id)
        assert notice.version == 2
        assert notice.title in titles
