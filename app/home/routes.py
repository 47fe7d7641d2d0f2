from __future__ import annotations

from flask import current_app, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.access import public, signed_in
from app.db import get_session
from app.home import bp


@bp.get("/")
@signed_in
def index() -> ResponseReturnValue:
    return render_template("home/index.html")


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
    return jsonify(status="ok" if healthy else "failing", checks=checks), 200 if healthy else 503
