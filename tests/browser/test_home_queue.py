"""The home queue in a browser on a phone: a walk resumed and a notice acknowledged, each in one
tap from home."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from app.models import utcnow
from app.notices.models import Notice, NoticeDelivery, NoticeKind, NoticeStatus
from app.roles import Role
from diagnostics import services
from tests.browser.conftest import LiveServer
from tests.factories import make_user

pytestmark = pytest.mark.browser

TREE = (
    "id: hum\ntitle: Loud hum from the power board\nproduct_line: TV\nmodels: ['KDL-*']\n"
    "start: where\nnodes:\n"
    "  where: {kind: choice, text: 'Where is the hum?', options: [{label: board, next: fix}, "
    "{label: speaker, next: fix}]}\n"
    "  fix: {kind: fix, text: Replace the power board}\n"
)


def test_a_technician_resumes_a_walk_and_acknowledges_a_notice_from_home(
    bench_page: Page, live_server: LiveServer
) -> None:
    page = bench_page
    with live_server.session() as session:
        revision = services.import_tree(session, TREE, by="eng", publish=True)
        tech = make_user(session, role=Role.TECHNICIAN)
        engineer = make_user(session, role=Role.ENGINEER)
        services.start(session, revision, by=tech.email, centre_id=tech.centre_id)
        now = utcnow()
        notice = Notice(
            reference="SB-2026-0042",
            kind=NoticeKind.POLICY_CHANGE,
            title="Labour claims need the walk attached",
            what_changes="Claims",
            why="Audit",
            effective_on=now.date(),
            what_to_do="Attach the walk.",
            contact="eng@example.com",
            status=NoticeStatus.PUBLISHED,
            author_id=engineer.id,
            created_at=now - timedelta(days=1),
            updated_at=now - timedelta(days=1),
            published_at=now,
        )
        session.add(notice)
        session.flush()
        session.add(NoticeDelivery(notice_id=notice.id, user_id=tech.id, sent_at=now))
        session.commit()
        email, title = tech.email, revision.title

    live_server.sign_in(page, email)
    walks = page.locator("#walks")
    walks.get_by_role("link", name=re.compile(f"^Resume: {re.escape(title)}")).click()
    expect(page).to_have_url(re.compile(r"/diagnose/sessions/[\w-]+$"))

    page.goto(live_server.url + "/")
    waiting = page.locator("#notices-waiting")
    expect(waiting).to_contain_text("Labour claims need the walk attached")
    waiting.get_by_role("button", name="Acknowledge").click()
    expect(page.locator(".flash-success")).to_contain_text("SB-2026-0042 acknowledged")
    expect(page.locator("#notices-waiting")).to_have_count(0)
    expect(page.locator("#notices-waiting-none")).to_contain_text("No notice waits")
