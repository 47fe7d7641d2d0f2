from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.access import signed_in
from app.api import bp


@bp.get("/me")
@signed_in
def me() -> ResponseReturnValue:
    centre = current_user.centre
    return jsonify(
        email=current_user.email,
        name=current_user.name,
        role=current_user.role.value,
        centre=centre.name if centre else None,
    )
