"""How Flask-Login finds the user: the sign-in session's token, or an API bearer token."""

from __future__ import annotations

from flask import Request
from flask_login import LoginManager

from app.access import bearer_token, is_api_request
from app.auth import services
from app.auth.models import User
from app.db import get_session, session_factory


def _load_from_session(token: str) -> User | None:
    return services.user_for_login_token(get_session(), token)


def _load_from_bearer(_request: Request) -> User | None:
    token = bearer_token()
    if token is None or not is_api_request():
        return None
    # Before the look-up, in a transaction of its own (committed even when the request fails):
    # a GET commits nothing, and on SQLite a write behind the request's own read would wait for
    # that read to end.
    with session_factory().begin() as own:
        services.note_api_token_use(own, token)
    return services.user_for_api_token(get_session(), token)


def register(login_manager: LoginManager) -> None:
    # Called rather than applied as decorators: Flask-Login is untyped, and a decorator from it
    # would make the loaders untyped too.
    login_manager.user_loader(_load_from_session)
    login_manager.request_loader(_load_from_bearer)
