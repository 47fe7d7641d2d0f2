from __future__ import annotations

from dataclasses import asdict

from flask import current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.access import public, signed_in, signed_in_user
from app.db import get_session
from app.extensions import current_settings
from app.home import bp
from app.home.queue import queue_for
from app.search import indexing
from parts_catalog.sqltypes import utcnow


@bp.get("/")
@signed_in
def index() -> ResponseReturnValue:
    """The person's work queue, by role: each item one tap from being acted on."""
    work = queue_for(get_session(), signed_in_user(), now=utcnow())
    zone = current_settings().escalations.calendar.zone
    return render_template("home/index.html", queue=work, zone=zone)


@bp.get("/healthz")
@public
def healthz() -> ResponseReturnValue:
    """Report whether the portal can serve: 200 when every check passes, else 503."""
    checks: dict[str, str] = {}
    try:
        get_session().execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        current_app.logger.warning("health check: database unreachable: %s", exc)
        checks["database"] = "unreachable"
    healthy = all(state == "ok" for state in checks.values())
    report: dict[str, object] = {"status": "ok" if healthy else "failing", "checks": checks}
    if healthy:
        # A search index that is behind or missing degrades the portal (numbers are still
        # answered) but does not take it out of service: reported, with a 200.
        indexes = {s.name: indexing.health(get_session(), s) for s in indexing.stores()}
        parts = indexes.pop("parts")
        report["search"] = {**asdict(parts), "others": {n: asdict(h) for n, h in indexes.items()}}
        if any(h.status != "ok" for h in (parts, *indexes.values())):
            report["status"] = "degraded"
    return jsonify(report), 200 if healthy else 503
