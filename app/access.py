"""Who may open which view: declared on every view, enforced in one place, denied by default.

A view is tagged with :func:`public`, :func:`signed_in` or :func:`roles`; :func:`enforce` runs
before every request and refuses any view that carries no tag, so a route added without a thought
for access control is closed rather than open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from flask import Flask, abort, current_app, flash, redirect, request, url_for
from flask import session as flask_session
from flask_login import current_user
from werkzeug.wrappers import Response

from app.roles import Role

if TYPE_CHECKING:
    from app.auth.models import User

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Access:
    """``roles`` is ``None`` when any signed-in user may enter."""

    public: bool = False
    roles: frozenset[Role] | None = None
    #: The view validates CSRF itself through its form and re-renders what was typed on failure.
    form_page: bool = False
    #: A post that arrives after the sign-in expired is kept and handed back after signing in.
    parks: bool = False
    #: False while only ``form_page`` was applied: that alone says nothing about who may enter.
    declared: bool = False


#: Views that libraries register, which cannot carry a tag: static files and the OpenAPI document.
LIBRARY_PUBLIC_ENDPOINTS = frozenset({"static", "api-docs.openapi_json"})


def _update(view: F, **changes: Any) -> F:
    # Decorators may stack in any order (``@form_page`` above or below ``@roles``).
    view.access = replace(getattr(view, "access", Access()), **changes)  # type: ignore[attr-defined]
    return view


def public(view: F) -> F:
    return _update(view, public=True, declared=True)


def signed_in(view: F) -> F:
    return _update(view, public=False, roles=None, declared=True)


def roles(*allowed: Role) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        return _update(view, public=False, roles=frozenset(allowed), declared=True)

    return decorate


def form_page(view: F) -> F:
    """Mark a view whose form checks the CSRF token itself and re-renders what was typed."""
    return _update(view, form_page=True)


def keeps_through_sign_in(view: F) -> F:
    """Mark a form view whose GET page restores a post that arrived after the sign-in expired
    (see :mod:`app.auth.parking`): the sender signs in again and finds everything they typed."""
    return _update(view, parks=True)


def access_of(endpoint: str | None, app: Flask | None = None) -> Access | None:
    if endpoint is None:
        return None
    app = app or current_app
    if endpoint in LIBRARY_PUBLIC_ENDPOINTS:
        return Access(public=True, declared=True)
    access: Access | None = getattr(app.view_functions.get(endpoint), "access", None)
    return access if access is not None and access.declared else None


def signed_in_user() -> User:
    """The signed-in ``User`` row itself, not Flask-Login's proxy: what views hand to services
    (only in views that require a sign-in)."""
    user: User = current_user._get_current_object()
    return user


def is_api_request() -> bool:
    return request.blueprint == "api" or request.path.startswith("/api/")


def bearer_token() -> str | None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def enforce() -> Response | None:
    """Before each request: let the user in, send them to sign in, or refuse with 403."""
    if request.endpoint is None:  # no route matched: the 404 handler answers
        return None
    access = access_of(request.endpoint)
    if access is None:
        current_app.logger.error("view %s declares no access rule; refused", request.endpoint)
        abort(403)
    if access.public:
        return None
    if not current_user.is_authenticated:
        if is_api_request():
            abort(401)
        if access.parks and request.method == "POST":
            return _park_and_sign_in()
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if access.roles is not None and current_user.role not in access.roles:
        abort(403)
    return None


def _park_and_sign_in() -> Response:
    # Imported here: the auth package's views import this module.
    from app.auth import parking
    from app.db import get_session

    session = get_session()
    owner = flask_session.get(parking.ACCOUNT_KEY)
    if not isinstance(owner, int):
        # No account signed in on this browser before: nothing of theirs to keep, and a post
        # from elsewhere must not be handed to whoever signs in next.
        return redirect(url_for("auth.login", next=request.path))
    token = parking.park(session, request.path, request.form, owner)
    # No commit here: the redirect is a success, so the commit point keeps the parked form.
    flash("Your sign-in had expired. Sign in again: what you typed is kept.", "info")
    return redirect(url_for("auth.login", next=f"{request.path}?parked={token}"), code=303)
