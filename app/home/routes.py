from __future__ import annotations

from dataclasses import asdict

from flask import current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.access import public, signed_in, signed_in_user
from app.db import get_session
from app.home import bp
from app.notices import services as notices
from app.repairs import policy as repair_policy
from app.repairs import services as repairs
from app.search import indexing


@bp.get("/")
@signed_in
def index() -> ResponseReturnValue:
    user = signed_in_user()
    open_repairs = None
    if user.role in repair_policy.REPAIRERS:
        # The centre's repairs in progress, the person's own first, newest first within each.
        open_repairs = sorted(
            repairs.open_repairs(get_session(), user),
            key=lambda r: (r.technician_id != user.id, -r.opened_at.timestamp()),
        )
    # Published notices sent to this person, safety first, until they acknowledge each.
    waiting = notices.unacknowledged(get_session(), user)
    return render_template("home/index.html", open_repairs=open_repairs, waiting_notices=waiting)


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
