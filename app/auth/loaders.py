"""How Flask-Login finds the user: the sign-in session's token, or an API bearer token."""

from __future__ import annotations

from datetime import datetime

from flask import Request
from flask_login import LoginManager

from app.access import bearer_token, is_api_request
from app.auth import services
from app.auth.models import User
from app.db import get_session, session_factory

#: When this process last saw each open token's use noted in the database (by the token's
#: digest). It only spares the write of a use noted less than a minute ago: whether the token
#: opens the API is asked of the database on every request, so a revocation holds at once.
_noted: dict[str, datetime | None] = {}
#: Past this many tokens the memory starts again (a few extra writes, nothing else).
_NOTED_MAX = 10_000


def _load_from_session(token: str) -> User | None:
    return services.user_for_login_token(get_session(), token)


def _load_from_bearer(_request: Request) -> User | None:
    token = bearer_token()
    if token is None or not is_api_request():
        return None
    digest = services.token_digest(token)
    if services.use_is_stale(_noted.get(digest)):
        # Before the look-up, in a transaction of its own (committed even when the request
        # fails): a GET commits nothing, and on SQLite a write behind the request's own read
        # would wait for that read to end. Once a minute per token, not on every request: a
        # write per request made two workers queue for SQLite's lock (or PostgreSQL's commit).
        with session_factory().begin() as own:
            services.note_api_token_use(own, token)
    found = services.user_for_api_token(get_session(), token)
    if found is None:
        _noted.pop(digest, None)
        return None
    if len(_noted) >= _NOTED_MAX:
        _noted.clear()
    _noted[digest] = found.last_used_at
    return found.user


def register(login_manager: LoginManager) -> None:
    # Called rather than applied as decorators: Flask-Login is untyped, and a decorator from it
    # would make the loaders untyped too.
    login_manager.user_loader(_load_from_session)
    login_manager.request_loader(_load_from_bearer)
