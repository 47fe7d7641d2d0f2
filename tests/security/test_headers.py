"""Security headers on every response, and pages that need no inline script or style.

Every GET route of the URL map is opened by every role and by nobody, with the world's real
ids where a route takes one (so most pages render in full) and samples elsewhere (so refusals
and 404s are checked too). Every response must carry the headers; every HTML page must keep to
the Content-Security-Policy's rules: no inline ``<script>``, no ``on…=`` handler, no ``style``
attribute or element, no ``javascript:`` link.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter
from werkzeug.test import TestResponse

from app import create_app
from app.access import public
from app.roles import Role
from app.security import CONTENT_SECURITY_POLICY
from config import ProductionConfig
from tests.conftest import make_test_config
from tests.security.conftest import World, inline_code, sign_in

EXPECTED = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def test_the_policy_is_the_strict_one() -> None:
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives == {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "object-src": "'none'",
        "base-uri": "'none'",
        "frame-ancestors": "'none'",
        "form-action": "'self'",
    }


def headers_problems(response: TestResponse, where: str) -> list[str]:
    problems = [
        f"{where}: {name} is {response.headers.get(name)!r}"
        for name, value in EXPECTED.items()
        if response.headers.get(name) != value
    ]
    policy = dict(
        item.strip().split("=", 1)
        for item in response.headers.get("Permissions-Policy", "").split(",")
        if "=" in item
    )
    # The camera for the portal's own pages only (scanning a rating plate); the rest refused.
    wanted = {"camera": "(self)", "microphone": "()", "geolocation": "()", "payment": "()"}
    if any(policy.get(feature) != allowed for feature, allowed in wanted.items()):
        problems.append(f"{where}: Permissions-Policy is {policy!r}")
    if "Strict-Transport-Security" in response.headers:
        problems.append(f"{where}: HSTS outside production")
    if not response.headers.get("X-Request-ID"):
        problems.append(f"{where}: no X-Request-ID")
    return problems


def url_for_rule(rule: Rule, world: World) -> str:
    """The rule's address with the world's objects where it names one."""
    known: dict[str, object] = {
        "order_id": world.order.id,
        "reference": world.ticket.reference,
        "attachment_id": world.ticket_file.id,
        "session_id": world.walk.id,
        "tree_id": "tv-red-led-blinks",
        "number": "1-474-594-11",
        "model_number": "KDL-55W800C",
        "a": "r1",
        "b": "r1",
        "token": world.reset_token,
        "invitation_id": world.invitation.id,
        "return_id": world.return_request.id,
        "erratum_id": world.erratum.id,
        "synonym_id": world.synonym.id,
        "line_id": world.cart_line.id,
    }
    if rule.endpoint == "static":
        return "/static/benchside.css"
    if rule.endpoint == "auth.accept_invitation":
        return f"/invitations/{world.invitation_token}"
    values = {
        name: known.get(name, 987654 if isinstance(converter, NumberConverter) else "sample")
        for name, converter in rule._converters.items()
    }
    return rule.build(values)[1]


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: r.value if r else "anonymous")
def test_every_page_has_the_headers_and_no_inline_code(
    app: Flask, world: World, role: Role | None
) -> None:
    client = sign_in(app, world.user(role) if role else None)
    problems: list[str] = []
    opened = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.endpoint == "auth.logout":
            continue
        url = url_for_rule(rule, world)
        with client.get(url) as response:
            where = f"GET {url} as {role} ({response.status_code})"
            problems += headers_problems(response, where)
            if response.mimetype == "text/html":
                problems += [f"{where}: {found}" for found in inline_code(response.text)]
            opened += response.status_code == 200
    assert problems == []
    assert opened >= (10 if role else 3)  # the world's pages rendered, not only refusals


def test_errors_and_other_answers_have_the_headers(app: Flask, world: World) -> None:
    @app.get("/boom")
    @public
    def boom() -> str:
        raise RuntimeError("a bug")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    anonymous = app.test_client()
    signed_in = sign_in(app, world.tech_a)
    answers = {
        "404 page": anonymous.get("/no/such/page"),
        "404 API": signed_in.get("/api/v1/parts/NO-SUCH-PART"),
        "401 API": anonymous.get("/api/v1/me"),
        "403 page": signed_in.get("/admin/users"),
        "405": anonymous.put("/login"),
        "500": anonymous.get("/boom"),
        "400 CSRF": signed_in.post(f"/orders/{world.order.id}/cancel"),
        "redirect": anonymous.get("/"),
        "static": anonymous.get("/static/search.js"),
        "download": signed_in.get(
            f"/escalations/{world.ticket.reference}/files/{world.ticket_file.id}"
        ),
        "CSV": signed_in.get("/orders/export.csv"),
        "JSON": anonymous.get("/healthz"),
    }
    app.config["MAX_CONTENT_LENGTH"] = 10
    answers["413"] = anonymous.post("/login", data="x" * 100, content_type="text/plain")
    problems = []
    for name, response in answers.items():
        problems += headers_problems(response, name)
        response.close()
    assert problems == []
    assert answers["500"].status_code == 500
    assert answers["413"].status_code == 413


def test_hsts_in_production_only(database_url: str, tmp_path: Path) -> None:
    class Production(ProductionConfig):
        DATABASE_URL = database_url
        SEARCH_INDEX_DIR = tmp_path / "search"
        UPLOAD_DIR = tmp_path / "uploads"

    production = create_app(Production)
    response = production.test_client().get("/login", base_url="https://portal.example")
    assert response.headers["Strict-Transport-Security"] == (
        f"max-age={ProductionConfig.HSTS_MAX_AGE_SECONDS}; includeSubDomains"
    )
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    production.extensions["engine"].dispose()
    development = create_app(make_test_config(database_url, tmp_path))
    assert "Strict-Transport-Security" not in development.test_client().get("/login").headers
    development.extensions["engine"].dispose()
