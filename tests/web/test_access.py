"""Roles are enforced on every route: the URL map is walked for every role and for no role.

The table below is written by hand, not read from the views, so that a decorator put on the wrong
view fails here. A new route must be added to it, or the first test fails.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

from app.access import public
from app.roles import Role
from tests.conftest import AuthActions, csrf_token

PUBLIC = "public"
SIGNED_IN = "signed in"
PEOPLE = frozenset({Role.ADMIN, Role.CENTRE_MANAGER})
KEEPERS = frozenset({Role.ENGINEER, Role.ADMIN})
ORDERERS = frozenset({Role.TECHNICIAN, Role.CENTRE_MANAGER})
ADMINS = frozenset({Role.ADMIN})
AGENTS = frozenset({Role.AGENT_TIER1, Role.AGENT_TIER2, Role.ENGINEER, Role.ADMIN})
REPAIRERS = frozenset({Role.TECHNICIAN, Role.CENTRE_MANAGER})
APPROVERS = frozenset({Role.EXCHANGE_APPROVER, Role.ADMIN})
REVIEWERS = frozenset({Role.CLAIM_REVIEWER, Role.ADMIN})

EXPECTED: dict[str, str | frozenset[Role]] = {
    "static": PUBLIC,
    "home.index": SIGNED_IN,
    "home.healthz": PUBLIC,
    "auth.login": PUBLIC,
    "auth.logout": PUBLIC,
    "auth.forgot_password": PUBLIC,
    "auth.reset_password": PUBLIC,
    "auth.accept_invitation": PUBLIC,
    "auth.change_password": SIGNED_IN,
    "auth.account": SIGNED_IN,
    "auth.make_api_token": SIGNED_IN,
    "auth.revoke_api_token": SIGNED_IN,
    "admin.users": PEOPLE,
    "admin.invite": PEOPLE,
    "admin.revoke_invitation": PEOPLE,
    "admin.toggle_user": frozenset({Role.ADMIN}),
    "admin.centres": frozenset({Role.ADMIN}),
    "admin.undelivered_mail": frozenset({Role.ADMIN}),
    "admin.retry_mail": frozenset({Role.ADMIN}),
    "api.me": SIGNED_IN,
    "api.get_part": SIGNED_IN,
    "api.get_resolution": SIGNED_IN,
    "api.get_where_used": SIGNED_IN,
    "api.get_model_parts": SIGNED_IN,
    "api.get_model_diagrams": SIGNED_IN,
    "api.get_releases": SIGNED_IN,
    "api.get_diff": SIGNED_IN,
    "api.search_all": SIGNED_IN,
    "api.start_session": SIGNED_IN,
    "api.get_walk": SIGNED_IN,
    "api.answer_walk": SIGNED_IN,
    "api.back_walk": SIGNED_IN,
    "api.list_trees": SIGNED_IN,
    "api.get_tree": SIGNED_IN,
    "api.put_draft": KEEPERS,
    "api.publish_tree": KEEPERS,
    "api.place_order": ORDERERS,
    "api.open_escalation": SIGNED_IN,
    "api.get_escalation": SIGNED_IN,
    "api.open_repair": REPAIRERS,
    "api.get_repair": SIGNED_IN,
    "api.change_repair_status": REPAIRERS,
    "api.attach_to_repair": REPAIRERS,
    "api.unit_history": SIGNED_IN,
    "api.start_repair_walk": REPAIRERS,
    "api.request_exchange": REPAIRERS,
    "api.decide_exchange": APPROVERS,
    # Warranty: the centre claims, reviewers (and admins) decide and pay; anyone signed in may ask
    # whether a unit is in warranty.
    "api.get_entitlement": SIGNED_IN,
    "api.add_proof": REPAIRERS,
    "api.list_claims": REPAIRERS | REVIEWERS,
    "api.create_claim": REPAIRERS,
    "api.get_claim": REPAIRERS | REVIEWERS,
    "api.edit_claim": REPAIRERS,
    "api.submit_claim": REPAIRERS,
    "api.decide_claim": REVIEWERS,
    # Notices: engineers and admins write, review and publish; everyone signed in reads and
    # acknowledges what was sent to them.
    "notices.index": SIGNED_IN,
    "notices.notice": SIGNED_IN,
    "notices.acknowledge": SIGNED_IN,
    "notices.new": KEEPERS,
    "notices.edit": KEEPERS,
    "notices.review": KEEPERS,
    "notices.publish": KEEPERS,
    "notices.preview_as": KEEPERS,
    "notices.attach": KEEPERS,
    "notices.remove_file": KEEPERS,
    "notices.download": SIGNED_IN,
    "api.create_notice": KEEPERS,
    "api.list_notices": SIGNED_IN,
    "api.get_notice": SIGNED_IN,
    "api.review_notice": KEEPERS,
    "api.publish_notice": KEEPERS,
    "api.acknowledge_notice": SIGNED_IN,
    "api.make_batch": REVIEWERS,
    "api.batch_csv": REVIEWERS,
    "escalations.new": SIGNED_IN,
    "escalations.submit": SIGNED_IN,
    "escalations.save_draft": SIGNED_IN,
    "escalations.ticket": SIGNED_IN,
    "escalations.queues": AGENTS,
    "escalations.dashboard": AGENTS,
    "escalations.assign": AGENTS,
    "escalations.held_mail": AGENTS,
    "escalations.accept_mail": AGENTS,
    "escalations.reject_mail": AGENTS,
    "escalations.mine": SIGNED_IN,
    "escalations.reply": SIGNED_IN,
    "escalations.upload": SIGNED_IN,
    "escalations.remove_attachment": SIGNED_IN,
    "escalations.download": SIGNED_IN,
    "orders.cart": ORDERERS,
    "orders.add": ORDERERS,
    "orders.paste": ORDERERS,
    "orders.set_serial": ORDERERS,
    "orders.confirm": ORDERERS,
    "orders.remove": ORDERERS,
    "orders.place": ORDERERS,
    "orders.history": SIGNED_IN,
    "orders.export": SIGNED_IN,
    "orders.order": SIGNED_IN,
    "orders.reorder": ORDERERS,
    "orders.cancel": SIGNED_IN,
    "orders.request_return": ORDERERS,
    "orders.change_status": ADMINS,
    "orders.returns": PEOPLE,  # admins decide; a centre manager follows the centre's
    "orders.decide": ADMINS,
    "orders.attach_to_repair": REPAIRERS,
    "api.list_orders": SIGNED_IN,
    "api.get_order": SIGNED_IN,
    "api.return_part": ORDERERS,
    "diagnose.index": SIGNED_IN,
    "diagnose.by_code": SIGNED_IN,
    "diagnose.start": SIGNED_IN,
    "diagnose.walk": SIGNED_IN,
    "diagnose.answer": SIGNED_IN,
    "diagnose.back": SIGNED_IN,
    "diagnose.restart": SIGNED_IN,
    "diagnose.feedback": SIGNED_IN,
    "diagnose.summary": SIGNED_IN,
    "diagnose.tree": SIGNED_IN,
    "diagnose.attach_to_repair": REPAIRERS,
    "authoring.index": KEEPERS,
    "authoring.new": KEEPERS,
    "authoring.editor": KEEPERS,
    "authoring.details": KEEPERS,
    "authoring.save_node": KEEPERS,
    "authoring.delete_node": KEEPERS,
    "authoring.publish": KEEPERS,
    "authoring.retire": KEEPERS,
    "authoring.diff": KEEPERS,
    "authoring.try_it": KEEPERS,
    "authoring.download": KEEPERS,
    "authoring.upload": KEEPERS,
    "authoring.analytics": KEEPERS,
    "api-docs.openapi_json": PUBLIC,
    "catalog.index": SIGNED_IN,
    "catalog.lookup": SIGNED_IN,
    "catalog.part": SIGNED_IN,
    "catalog.model": SIGNED_IN,
    "catalog.drawing": SIGNED_IN,
    "catalog.releases": SIGNED_IN,
    "catalog.diff": SIGNED_IN,
    "catalog.compare": SIGNED_IN,
    "catalog.upload": KEEPERS,
    "catalog.report_fitment": SIGNED_IN,
    "catalog.errata_queue": KEEPERS,
    "catalog.resolve_erratum": KEEPERS,
    "search.results": SIGNED_IN,
    "search.suggest": SIGNED_IN,
    "search.synonym_list": KEEPERS,
    "search.delete_synonym": KEEPERS,
    "search.miss_list": KEEPERS,
    # The exchange programme: approvers decide requests and receive units; keepers keep the
    # rules and the symptom codes.
    "repair_admin.queue": APPROVERS,
    "repair_admin.exchange_request": APPROVERS,
    "repair_admin.returns": APPROVERS,
    "repair_admin.receive": APPROVERS,
    "repair_admin.symptom_codes": KEEPERS,
    "repair_admin.edit_code": KEEPERS,
    "repair_admin.retire_code": KEEPERS,
    "repair_admin.rules": KEEPERS,
    "repair_admin.edit_rule": KEEPERS,
    "repair_admin.remove_rule": KEEPERS,
    # Repair pages: a centre's technicians and managers work on its repairs; a repair's page and
    # a unit's history answer anyone signed in (the core hides what is not theirs: 404s, no
    # customer details).
    "repairs.index": ORDERERS,
    "repairs.new": ORDERERS,
    "repairs.create": ORDERERS,
    "repairs.repair": SIGNED_IN,
    "repairs.change_status": ORDERERS,
    "repairs.add_note": ORDERERS,
    "repairs.attach": ORDERERS,
    "repairs.diagnose": ORDERERS,
    "repairs.request_exchange": ORDERERS,
    "repairs.history": SIGNED_IN,
    # Warranty pages: the centre claims and adds proofs; reviewers (and admins) review and pay;
    # keepers keep the rates and terms; admins import extended coverage.
    "warranty.index": REPAIRERS | REVIEWERS,
    "warranty.review": REVIEWERS,
    "warranty.claim": REPAIRERS | REVIEWERS,
    "warranty.proof": REPAIRERS | REVIEWERS,
    "warranty.edit": REPAIRERS,
    "warranty.submit": REPAIRERS,
    "warranty.decide": REVIEWERS,
    "warranty.new": REPAIRERS,
    "warranty.add_proof": REPAIRERS,
    "warranty.payments": REVIEWERS,
    "warranty.batch_csv": REVIEWERS,
    "warranty.rates": KEEPERS,
    "warranty.terms": KEEPERS,
    "warranty.remove_term": KEEPERS,
    "warranty.coverage": ADMINS,
}


def _url(rule: Rule) -> str:
    if rule.endpoint == "static":
        return "/static/benchside.css"
    values = {
        name: 987654 if isinstance(converter, NumberConverter) else "sample"
        for name, converter in rule._converters.items()
    }
    return rule.build(values)[1]


def _routes(app: Flask) -> list[tuple[str, str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, method, _url(rule)))
    return routes


def test_every_route_is_in_the_table(app: Flask) -> None:
    assert {rule.endpoint for rule in app.url_map.iter_rules()} == set(EXPECTED)


@pytest.mark.parametrize("role", [None, *Role], ids=lambda r: r.value if r else "anonymous")
def test_each_role_on_each_route(
    app: Flask, client: FlaskClient, auth: AuthActions, role: Role | None
) -> None:
    if role is not None:
        auth.login(role)
    token = csrf_token(client, "/" if role else "/login")
    problems = []
    for endpoint, method, url in _routes(app):
        expected = EXPECTED[endpoint]
        data = {"csrf_token": token} if method in ("POST", "PUT", "PATCH", "DELETE") else None
        with client.open(url, method=method, data=data) as response:
            status = response.status_code
            to_login = status in (302, 303) and response.headers["Location"].startswith("/login")
        if expected == PUBLIC:
            ok = status not in (401, 403) and not (to_login and endpoint != "auth.logout")
        elif role is None:
            ok = status == 401 if url.startswith("/api/") else to_login
        elif expected == SIGNED_IN or role in expected:
            ok = status not in (401, 403) and not to_login
        else:
            ok = status == 403
        if not ok:
            problems.append(f"{method} {url} as {role}: {status}")
        if endpoint == "auth.logout" and status == 302:
            # The walk signed out, which also cleared the session and its CSRF token.
            if role is not None:
                auth.login(role)
            token = csrf_token(client, "/" if role else "/login")
    assert problems == []


def test_a_route_without_an_access_rule_is_closed(app: Flask, auth: AuthActions) -> None:
    @app.get("/forgotten")
    def forgotten() -> str:
        return "open?"

    @app.get("/declared")
    @public
    def declared() -> str:
        return "open"

    client = app.test_client()
    assert client.get("/forgotten").status_code == 403
    assert client.get("/declared").status_code == 200


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_the_menu_offers_only_what_the_role_may_open(
    app: Flask, client: FlaskClient, auth: AuthActions, role: Role
) -> None:
    auth.login(role)
    html = client.get("/").get_data(as_text=True)
    nav = html[html.index('<nav aria-label="Main">') : html.index("</nav>")]
    for endpoint, expected in EXPECTED.items():
        if endpoint in (
            "admin.users",
            "admin.centres",
            "catalog.errata_queue",
            "search.synonym_list",
        ):
            with app.test_request_context():
                url = app.url_map.bind("localhost").build(endpoint)
            offered = f'href="{url}"' in nav
            allowed = expected in (PUBLIC, SIGNED_IN) or role in expected
            assert offered == allowed, (endpoint, role)
