from __future__ import annotations

from typing import Any

from flask_login import current_user

from app.access import signed_in
from app.api import bp
from app.api.schemas import MeSchema


@bp.route("/me", methods=["GET"])
@bp.response(200, MeSchema)
@signed_in
def me() -> dict[str, Any]:
    """The account the request is signed in as."""
    centre = current_user.centre
    return {
        "email": current_user.email,
        "name": current_user.name,
        "role": current_user.role.value,
        "centre": centre.name if centre else None,
    }
