"""Guided troubleshooting: from a code, a model or a symptom to a fix, one question a screen."""

from flask import Blueprint

bp = Blueprint("diagnose", __name__, url_prefix="/diagnose")

from app.diagnose import routes  # noqa: F401  (registers the views on bp)
