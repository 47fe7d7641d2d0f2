"""Escalations: the form and the mail address that replace the phone line."""

from flask import Blueprint

bp = Blueprint("escalations", __name__, url_prefix="/escalations")

from app.escalations import routes  # noqa: F401  (registers the views on bp)
