"""Sign in and out, change or reset a password, accept an invitation: the web edge of
:mod:`app.auth.services` (parse the form, call one service, render)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from app.access import form_page, public, signed_in, signed_in_user
from app.auth import parking, services
from app.auth.errors import AccountError, InvalidCredentials, LinkProblem
from app.auth.forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    LogoutForm,
    ResetPasswordForm,
)
from app.auth.models import User
from app.auth.settings import AccountSettings
from app.db import get_session, keep_on_error
from app.extensions import current_settings

bp = Blueprint("auth", __name__)


def _settings() -> AccountSettings:
    return current_settings().accounts


def _browser(*, remember: bool) -> services.Browser:
    return services.Browser(
        remember=remember, address=request.remote_addr, user_agent=request.user_agent.string
    )


def _safe_next(target: str | None) -> str:
    """Only same-site paths; anything else would make the login page an open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("home.index")


def _sign_in(user: User, *, remember: bool) -> None:
    """Give this browser the sign-in session the service started for ``user``."""
    session.clear()  # a fresh session on sign-in: nothing planted before it survives
    # Outlives the sign-in (the cookie is signed): a form posted after it expired is handed back
    # to this account only, not to whoever signs in next on a shared workshop computer.
    session[parking.ACCOUNT_KEY] = user.id
    login_user(user, remember=remember)


@bp.route("/login", methods=["GET", "POST"])
@public
@form_page
def login() -> ResponseReturnValue:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        db = get_session()
        remember = bool(form.remember.data)
        attempt = services.record_attempt(
            db, email=form.email.data or "", address=request.remote_addr or "unknown"
        )
        # The one commit inside a request, before the password is checked: the throttle counts
        # committed attempts, so of any number racing, no more than the limit get their
        # password checked (tests/web/test_auth_races.py::test_parallel_guesses_* fail if this
        # waits for the commit point).
        db.commit()
        try:
            user = services.sign_in(
                db,
                attempt,
                password=form.password.data or "",
                browser=_browser(remember=remember),
                settings=_settings(),
            )
        except AccountError as exc:
            keep_on_error()  # the failure stays recorded (a refused attempt's record does not)
            form.form_errors.append(str(exc))
        else:
            _sign_in(user, remember=remember)
            flash(f"Signed in as {user.name}.", "success")
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), form.status


@bp.post("/logout")
@public
@form_page
def logout() -> ResponseReturnValue:
    form = LogoutForm()
    if not form.validate_on_submit():
        return render_template("auth/logout.html", form=form), 400
    if current_user.is_authenticated and current_user.login_token:
        services.end_login_session(get_session(), current_user.login_token)
    logout_user()
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@signed_in
@form_page
def change_password() -> ResponseReturnValue:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            revoked = services.change_password(
                get_session(),
                signed_in_user(),
                current=form.current.data or "",
                new=form.password.data or "",
                settings=_settings(),
            )
        except InvalidCredentials:
            form.current.errors = [*form.current.errors, "That is not your current password."]
        except AccountError as exc:
            form.password.errors = [*form.password.errors, str(exc)]
        else:
            flash("Your password has been changed; your other devices were signed out.", "success")
            _flash_revoked(revoked)
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form), form.status


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@form_page
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(get_session(), form.email.data or "", settings=_settings())
        # The same answer either way, so the form cannot be used to learn who has an account.
        return render_template("auth/forgot_sent.html", email=form.email.data)
    return render_template("auth/forgot_password.html", form=form), form.status


def _flash_revoked(revoked: int) -> None:
    """On the next page: what the password change ended (the service mailed it too)."""
    if revoked:
        tokens = "API token was" if revoked == 1 else "API tokens were"
        flash(
            f"Your {revoked} {tokens} revoked: whoever knew the old password could have made "
            "them. Make a new one on your account page.",
            "info",
        )


def _link_problem(exc: LinkProblem, kind: str) -> ResponseReturnValue:
    return render_template("auth/link_problem.html", message=str(exc), kind=kind), exc.status


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
@form_page
def reset_password(token: str) -> ResponseReturnValue:
    db = get_session()
    try:
        user = services.user_for_reset_token(db, token, settings=_settings())
    except LinkProblem as exc:
        return _link_problem(exc, "reset")
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            revoked = services.reset_password(
                db, user, form.password.data or "", settings=_settings()
            )
        except LinkProblem as exc:  # another request used the link first
            return _link_problem(exc, "reset")
        except AccountError as exc:
            form.password.errors = [*form.password.errors, str(exc)]
        else:
            flash("Your password has been set. Sign in with it now.", "success")
            _flash_revoked(revoked)
            logout_user()
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form, user=user), form.status


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@public
@form_page
def accept_invitation(token: str) -> ResponseReturnValue:
    db = get_session()
    try:
        invitation = services.open_invitation(db, token)
    except LinkProblem as exc:
        return _link_problem(exc, "invitation")
    form = AcceptInvitationForm(data={"name": invitation.name} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            user = services.accept_invitation(
                db,
                token=token,
                name=form.name.data or "",
                password=form.password.data or "",
                browser=_browser(remember=False),
                settings=_settings(),
            )
        except LinkProblem as exc:  # e.g. accepted by another request just now
            return _link_problem(exc, "invitation")
        except AccountError as exc:
            form.password.errors = [*form.password.errors, str(exc)]
        else:
            if current_user.is_authenticated:
                logout_user()
            _sign_in(user, remember=False)
            flash(f"Welcome to Benchside, {user.name}.", "success")
            return redirect(url_for("home.index"))
    return render_template(
        "auth/accept_invitation.html", form=form, invitation=invitation
    ), form.status


@bp.get("/account")
@signed_in
def account() -> ResponseReturnValue:
    return _account_page()


def _account_page(*, new_token: str | None = None, status: int = 200) -> ResponseReturnValue:
    tokens = services.api_tokens(get_session(), signed_in_user())
    return render_template("auth/account.html", tokens=tokens, new_token=new_token), status


@bp.post("/account/tokens")
@signed_in
def make_api_token() -> ResponseReturnValue:
    token = services.issue_api_token(get_session(), signed_in_user())
    # On this page and nowhere else: a flash would carry it in the session cookie.
    return _account_page(new_token=token, status=201)


@bp.post("/account/tokens/<int:token_id>/revoke")
@signed_in
def revoke_api_token(token_id: int) -> ResponseReturnValue:
    # Someone else's, or one revoked already: NotFound (404), nothing of theirs to act on.
    services.revoke_api_token(get_session(), signed_in_user(), token_id)
    flash("The token was revoked: it no longer opens the API.", "success")
    return redirect(url_for("auth.account"))
