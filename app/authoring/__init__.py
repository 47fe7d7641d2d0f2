"""Engineers build, review and publish diagnostic trees in the browser."""

from flask import Blueprint

bp = Blueprint("authoring", __name__, url_prefix="/authoring")

from app.authoring import routes  # noqa: F401  (registers the views on bp)
