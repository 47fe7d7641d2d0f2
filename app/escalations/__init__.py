"""Escalations: the form and the mail address that replace the phone line."""

from datetime import timedelta

from flask import Blueprint

bp = Blueprint("escalations", __name__, url_prefix="/escalations")


@bp.app_template_filter("working_time")
def working_time(left: timedelta) -> str:
    """``2 h 05 min`` of working time (the sign is the caller's to say)."""
    minutes = int(abs(left.total_seconds()) // 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"


from app.escalations import routes  # noqa: F401  (registers the views on bp)
