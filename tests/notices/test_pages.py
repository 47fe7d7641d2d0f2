"""Issue 18, the notice pages: a notice written with every part its own field (a missing one
refused, named, everything typed kept), reviewed by someone else, published only then,
previewed as a technician of a centre, followed by centre; where notices appear (home page
until acknowledged, the menu's count, a part's page, search); reminders from the command line."""

from __future__ import annotations

import io
import re
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app import create_app
from app.auth.models import User
from app.extensions import current_settings
from app.mail.models import OutboxMessage
from app.models import utcnow
from app.notices import attachments, services
from app.notices.models import Notice, NoticeAttachment, NoticeDelivery, NoticeStatus
from app.roles import Role
from parts_catalog.importer import import_release
from tests import database
from tests.conftest import AuthActions, make_test_config
from tests.factories import make_centre, make_user
from tests.notices.test_notices import asked
from tests.parts_catalog.releases import base_release

TYPED: dict[str, str] = {
    "kind": "part_notice",
    "safety": "y",
    "title": "Power board GL2: fit GL2A only",
    "what_changes": "1-474-594-11 is withdrawn; 1-474-594-12 replaces it.",
    "why": "Capacitor C512 on early boards <b>overheats</b>.",
    "effective_on": "2026-12-07",
    "what_to_do": "Order 1-474-594-12 and return any 1-474-594-11 in stock.",
    "contact": "parts-quality@benchside.example",
    "parts": "1-474-594-12",
    "models": "KDL-*",
}


@pytest.fixture
def catalogue(session: Session, tmp_path: Path) -> None:
    import_release(session, path=base_release(tmp_path / "r"), label="r")
    session.commit()


def _post(client: FlaskClient, auth: AuthActions, url: str, **data: str) -> Any:
    return client.post(url, data={"csrf_token": auth.csrf(), **data})


def _id_from(location: str) -> int:
    found = re.search(r"/notices/(\d+)$", location)
    assert found, location
    return int(found.group(1))


def _published(session: Session, app: Flask, **changes: Any) -> Notice:
    author = make_user(session, role=Role.ENGINEER)
    notice = services.create(session, by=author, asked=asked(**changes))
    services.review(session, notice, by=make_user(session, role=Role.ADMIN))
    with app.app_context():
        services.publish(session, notice, by=author, mailer=current_settings().mail)
    session.commit()
    return notice


@pytest.mark.usefixtures("catalogue")
def test_a_notice_missing_what_to_do_instead_is_refused_with_everything_typed_kept(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    auth.login(Role.ENGINEER)
    form = client.get("/notices/new").get_data(as_text=True)
    for name in ("title", "what_changes", "why", "effective_on", "what_to_do", "contact"):
        tag = re.search(rf'<(?:input|textarea)[^>]*name="{name}"[^>]*>', form)
        assert tag, name
        assert "required" in tag.group(0), name
    refused = _post(client, auth, "/notices/new", **{**TYPED, "what_to_do": "  ", "contact": ""})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "the notice needs what to do instead, who to contact" in page
    assert "Say what to do instead: the steps, the new address or part." in page
    assert "Say whom to contact with questions." in page
    for name, value in TYPED.items():
        if name not in ("kind", "safety", "what_to_do", "contact"):
            escaped = value.replace("<", "&lt;").replace(">", "&gt;")
            assert escaped in page, name
    assert '<option selected value="part_notice">' in page
    assert re.search(r'name="safety"[^>]*checked|checked[^>]*name="safety"', page)
    assert session.scalar(select(func.count()).select_from(Notice)) == 0
    # A part that is not in the catalogue is named with the missing parts, not after them.
    unknown = _post(
        client, auth, "/notices/new", **{**TYPED, "what_to_do": "", "parts": "9-999-999-99"}
    ).get_data(as_text=True)
    assert "part 9-999-999-99 is not in the catalogue" in unknown
    assert "Say what to do instead" in unknown
    made = _post(client, auth, "/notices/new", **TYPED)
    assert made.status_code == 302
    notice = session.get_one(Notice, _id_from(made.headers["Location"]))
    assert (notice.status, notice.safety, notice.what_to_do) == (
        NoticeStatus.DRAFT,
        True,
        TYPED["what_to_do"],
    )
    assert sorted((t.kind.value, t.value) for t in notice.targets) == [
        ("model", "KDL-*"),
        ("part", "1-474-594-12"),
    ]


@pytest.mark.usefixtures("catalogue")
def test_a_second_person_reviews_and_only_then_the_author_publishes(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    centre = make_centre(session, name="Northside")
    tech = make_user(session, role=Role.TECHNICIAN, centre=centre)
    author = auth.login(Role.ENGINEER)
    notice_id = _id_from(_post(client, auth, "/notices/new", **TYPED).headers["Location"])
    url = f"/notices/{notice_id}"
    own = client.get(url).get_data(as_text=True)
    assert f"{url}/review" not in own  # no review button for the author
    assert "someone else reviews it" in own
    assert _post(client, auth, f"{url}/review").status_code == 403
    early = _post(client, auth, f"{url}/publish")
    assert early.status_code == 409
    assert "has not been reviewed" in early.get_data(as_text=True)
    # An edit keeps the draft a draft; the form comes back filled in.
    edit = client.get(f"{url}/edit").get_data(as_text=True)
    assert TYPED["why"].replace("<", "&lt;").replace(">", "&gt;") in edit
    assert 'name="version" type="hidden" value="1"' in edit
    changed = _post(client, auth, f"{url}/edit", **{**TYPED, "version": "1", "title": "GL2A only"})
    assert changed.status_code == 302
    stale = _post(client, auth, f"{url}/edit", **{**TYPED, "version": "1", "title": "Old"})
    assert stale.status_code == 409
    assert "changed meanwhile" in stale.get_data(as_text=True)

    auth.logout()
    auth.login(Role.ENGINEER)
    theirs = client.get(url).get_data(as_text=True)
    assert f"{url}/review" in theirs
    assert _post(client, auth, f"{url}/review").status_code == 302
    assert session.get_one(Notice, notice_id).status == NoticeStatus.REVIEWED
    auth.logout()
    auth.login(user=author)
    published = _post(client, auth, f"{url}/publish")
    assert published.status_code == 302
    session.expire_all()
    assert session.get_one(Notice, notice_id).status == NoticeStatus.PUBLISHED
    deliveries = session.scalars(select(NoticeDelivery)).all()
    assert [d.user_id for d in deliveries] == [tech.id]
    page = client.get(url).get_data(as_text=True)
    assert "Northside: 0 of 1 acknowledged" in page
    assert "not yet" in page


@pytest.mark.usefixtures("catalogue")
def test_the_preview_says_whether_a_centres_technician_receives_it(
    client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    north = make_centre(session, name="Northside")
    south = make_centre(session, name="Southside")
    author = make_user(session, role=Role.ENGINEER)
    notice = services.create(
        session,
        by=author,
        asked=asked(safety=False, targets={"part": ["1-474-594-12"], "centre": ["Northside"]}),
    )
    session.commit()
    auth.login(Role.ENGINEER)
    there = client.get(f"/notices/{notice.id}/preview?centre={north.id}").get_data(as_text=True)
    assert "A technician of Northside receives this notice" in there
    assert "Beside part 1-474-594-12" in there
    assert "notices-beside" in there
    away = client.get(f"/notices/{notice.id}/preview?centre={south.id}").get_data(as_text=True)
    assert "A technician of Southside does not receive this notice" in away
    auth.logout()
    auth.login(Role.TECHNICIAN)
    assert client.get(f"/notices/{notice.id}/preview").status_code == 403
    assert client.get(f"/notices/{notice.id}").status_code == 404  # a draft is the writers'


@pytest.mark.usefixtures("catalogue")
def test_notices_wait_on_the_home_page_safety_first_until_acknowledged(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    tech = make_user(session, role=Role.TECHNICIAN)
    plain = _published(session, app, safety=False, title="New return labels")
    safety = _published(session, app, title="Discharge C512 first")
    auth.login(user=tech)
    home = client.get("/").get_data(as_text=True)
    waiting = home[home.index('id="notices-waiting"') :]
    assert waiting.index(safety.title) < waiting.index(plain.title)
    assert ">Notices (2)</a>" in home
    acked = _post(client, auth, f"/notices/{safety.id}/acknowledge", next="/")
    assert acked.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert safety.title not in home
    assert plain.title in home
    assert ">Notices (1)</a>" in home
    page = client.get(f"/notices/{safety.id}").get_data(as_text=True)
    assert "You acknowledged this notice on" in page
    assert "Acknowledged</h2>" not in page  # the tracking is for writers and managers
    # An address elsewhere is never where an acknowledgement sends a person.
    away = _post(client, auth, f"/notices/{plain.id}/acknowledge", next="//evil.example/")
    assert away.headers["Location"] == f"/notices/{plain.id}"
    assert 'id="notices-waiting"' not in client.get("/").get_data(as_text=True)


@pytest.mark.usefixtures("catalogue")
def test_a_centre_manager_follows_their_centres_acknowledgements_only(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    north = make_centre(session, name="Northside")
    south = make_centre(session, name="Southside")
    mine = make_user(session, role=Role.TECHNICIAN, centre=north, name="Nora North")
    theirs = make_user(session, role=Role.TECHNICIAN, centre=south, name="Sam South")
    manager = make_user(session, role=Role.CENTRE_MANAGER, centre=north, name="Mo Manager")
    notice = _published(session, app, safety=False)
    services.acknowledge(session, notice, by=mine)
    session.commit()
    auth.login(user=manager)
    page = client.get(f"/notices/{notice.id}").get_data(as_text=True)
    assert "Northside: 1 of 2 acknowledged" in page  # Nora, and the manager themself
    assert mine.name in page
    assert theirs.name not in page
    assert "Southside" not in page


@pytest.mark.usefixtures("catalogue")
def test_notices_appear_beside_a_part_of_their_chain_and_in_search(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    notice = _published(
        session,
        app,
        safety=False,
        title="Power board GL2: capacitor C512",
        targets={"part": ["1-474-594-12"]},
    )
    other = _published(
        session,
        app,
        safety=False,
        title="Remote controls",
        what_changes="RM-ED047 is replaced by RM-ED050.",
        why="The old one is out of stock.",
        what_to_do="Order RM-ED050.",
        targets={},
    )
    auth.login(Role.TECHNICIAN)
    old = client.get("/catalog/parts/1-474-594-11").get_data(as_text=True)
    assert notice.reference in old  # the notice names the new number; the old one shows it
    assert other.reference not in old
    by_words = client.get("/search?q=capacitor+c512&kind=notices").get_data(as_text=True)
    assert notice.reference in by_words
    assert other.reference not in by_words
    by_number = client.get("/search?q=1474594-11&kind=notices").get_data(as_text=True)
    assert notice.reference in by_number
    assert other.reference not in by_number
    nothing = client.get("/search?q=toaster&kind=notices").get_data(as_text=True)
    assert "No published notice says “toaster”" in nothing
    everything = client.get("/search?q=1-474-594-11").get_data(as_text=True)
    assert 'class="notice-hits' in everything
    assert "hit-notice" in everything  # beside the part's own result


@pytest.mark.usefixtures("catalogue")
def test_the_remind_command_reminds_in_business_hours_only(
    app: Flask,
    session: Session,
    session_factory: sessionmaker[Session],
    database_url: str,
    tmp_path: Path,
) -> None:
    tech = make_user(session, role=Role.TECHNICIAN)
    _published(session, app, safety=False)
    session.execute(update(NoticeDelivery).values(sent_at=utcnow() - timedelta(days=4)))
    session.commit()

    def run(**hours: Any) -> str:
        config = type("Hours", (make_test_config(database_url, tmp_path),), hours)
        other = create_app(config)
        other.extensions["session_factory"] = session_factory
        try:
            result = other.test_cli_runner().invoke(args=["notices", "remind"])
        finally:
            other.extensions["engine"].dispose()
        assert result.exit_code == 0, result.output
        return str(result.output)

    # A calendar that never opens, then one that is always open.
    closed = run(BUSINESS_HOURS="08:00-08:00")
    assert "Outside business hours: nobody reminded" in closed
    always = {
        "BUSINESS_HOURS": "00:00-23:59:59.999999",
        "BUSINESS_DAYS": "mon,tue,wed,thu,fri,sat,sun",
        "BUSINESS_HOLIDAYS": "",
        "NOTICE_REMIND_AFTER_DAYS": 3,
    }
    assert "1 reminder queued (not acknowledged after 3 days)." in run(**always)
    assert "0 reminders queued" in run(**always)  # once per period
    reminders = session.scalars(
        select(OutboxMessage.to_address).where(OutboxMessage.subject.startswith("Reminder:"))
    ).all()
    assert reminders == [tech.email]


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.mark.usefixtures("catalogue")
def test_a_notice_carries_pdfs_and_pictures_that_are_part_of_its_review(
    app: Flask, client: FlaskClient, auth: AuthActions, session: Session
) -> None:
    author = make_user(session, role=Role.ENGINEER)
    notice = services.create(session, by=author, asked=asked(safety=False))
    services.review(session, notice, by=make_user(session, role=Role.ADMIN))
    session.commit()
    auth.login(user=author)
    url = f"/notices/{notice.id}"

    def send(data: bytes, name: str) -> Any:
        return client.post(
            f"{url}/files",
            data={"csrf_token": auth.csrf(), "file": (io.BytesIO(data), name)},
            content_type="multipart/form-data",
        )

    text = send(b"just words", "bulletin.pdf")
    assert text.status_code == 422
    assert "“bulletin.pdf” is not a PDF or a picture (JPEG, PNG)." in text.get_data(as_text=True)
    session.expire_all()
    assert session.get_one(Notice, notice.id).status == NoticeStatus.REVIEWED  # nothing changed
    assert send(PDF, "C512 discharge.pdf").status_code == 302
    session.expire_all()
    assert session.get_one(Notice, notice.id).status == NoticeStatus.DRAFT  # a new review
    page = client.get(url).get_data(as_text=True)
    link = re.search(rf'href="({url}/files/(\d+))">C512 discharge.pdf</a>', page)
    assert link
    file_url = link.group(1)

    auth.logout()
    auth.login(Role.TECHNICIAN)
    assert client.get(file_url).status_code == 404  # a draft's file, like the draft
    services.review(session, notice, by=make_user(session, role=Role.ADMIN))
    with app.app_context():
        services.publish(session, notice, by=author, mailer=current_settings().mail)
    session.commit()
    got = client.get(file_url)
    assert got.status_code == 200
    assert got.data == PDF
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"].startswith("attachment;")
    files = client.get(url).get_data(as_text=True).split('id="files-h"')[1].split("</section>")[0]
    assert "C512 discharge.pdf" in files
    assert 'type="file"' not in files  # nothing more is attached to a published notice
    auth.logout()
    auth.login(user=author)
    late = send(PDF, "another.pdf")
    assert late.status_code == 409
    assert "its files no longer change" in late.get_data(as_text=True)
    gone = _post(client, auth, f"{file_url}/remove")
    assert gone.status_code == 409


def test_files_attached_at_once_stop_at_the_limit(engine: Engine) -> None:
    """Fifteen uploads sent together to a notice that takes ten: the notice's row, locked by
    each, decides (real connections, committed; run with --postgres for PostgreSQL)."""
    with Session(engine) as session:
        author = make_user(session, role=Role.ENGINEER)
        notice = services.create(session, by=author, asked=asked(safety=False, targets={}))
        session.commit()
        author_id, notice_id = author.id, notice.id
    tries = 15
    ready = threading.Barrier(tries)
    outcomes: list[str] = []

    def upload(n: int) -> None:
        waited = False
        for _attempt in range(200):
            with Session(engine) as s:
                try:
                    if not waited:
                        waited = True
                        ready.wait(10)
                    attachments.attach(
                        s,
                        services.get(s, notice_id),
                        by=s.get_one(User, author_id),
                        filename=f"page-{n}.pdf",
                        data=PDF,
                        limit=10**6,
                    )
                    s.commit()
                    outcomes.append("kept")
                    return
                except attachments.Refused as exc:
                    s.rollback()
                    outcomes.append(exc.message)
                    return
                except OperationalError as exc:  # SQLite: "database is locked", try again
                    s.rollback()
                    if "locked" not in str(exc):
                        raise
                    time.sleep(0.01)
        outcomes.append("gave up")

    try:
        started = time.perf_counter()
        threads = [threading.Thread(target=upload, args=(n,)) for n in range(tries)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        took = time.perf_counter() - started
        with Session(engine) as session:
            kept = session.scalar(
                select(func.count())
                .select_from(NoticeAttachment)
                .where(NoticeAttachment.notice_id == notice_id)
            )
            version = session.get_one(Notice, notice_id).version
        print(
            f"\n{tries} files attached at once to one notice ({engine.dialect.name}): {kept} "
            f"kept (at most {attachments.MAX_PER_NOTICE}), "
            f"{outcomes.count(f'At most {attachments.MAX_PER_NOTICE} files with one notice.')} "
            f"refused, in {took:.2f} s"
        )
        assert kept == attachments.MAX_PER_NOTICE
        assert outcomes.count("kept") == attachments.MAX_PER_NOTICE
        assert len(outcomes) == tries
        assert version == 1 + attachments.MAX_PER_NOTICE  # each kept file changed the notice
    finally:
        database.delete_all_rows(engine)
