"""Sign in and out, change or reset a password, accept an invitation."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_user, logout_user

from app.access import form_page, public, signed_in
from app.auth import bp, parking, services
from app.auth.errors import AccountError, InvalidCredentials, LinkExpired, LinkInvalid
from app.auth.forms import (
    AcceptInvitationForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    LogoutForm,
    ResetPasswordForm,
)
from app.auth.models import User
from app.db import get_session
from app.mail.compose import external_url, queue_mail
from app.mail.outbox import sent_recently
from app.models import utcnow


def _safe_next(target: str | None) -> str:
    """Only same-site paths; anything else would make the login page an open redirect."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and "\\" not in target:
            return target
    return url_for("home.index")


def _throttle_policy() -> services.ThrottlePolicy:
    config = current_app.config
    return services.ThrottlePolicy(
        window=timedelta(minutes=config["LOGIN_FAILURE_WINDOW_MINUTES"]),
        max_per_account=config["LOGIN_MAX_FAILURES_PER_ACCOUNT"],
        max_per_address=config["LOGIN_MAX_FAILURES_PER_ADDRESS"],
    )


def _sign_in(user: User, *, remember: bool) -> None:
    services.start_login_session(
        get_session(),
        user,
        remember=remember,
        remember_for=current_app.config["REMEMBER_COOKIE_DURATION"],
        address=request.remote_addr,
        user_agent=request.user_agent.string,
    )
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
        attempt = services.record_attempt(
            db, email=form.email.data or "", address=request.remote_addr or "unknown"
        )
        # Committed before the password is checked: the throttle counts committed attempts.
        db.commit()
        try:
            user = services.authenticate(
                db, attempt, password=form.password.data or "", policy=_throttle_policy()
            )
        except AccountError as exc:
            db.commit()  # the failure stays recorded (a refused attempt does not)
            form.form_errors.append(str(exc))
        else:
            _sign_in(user, remember=bool(form.remember.data))
            db.commit()
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
        db = get_session()
        services.end_login_session(db, current_user.login_token)
        db.commit()
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
        db = get_session()
        try:
            revoked = services.change_password(
                db,
                current_user,
                current=form.current.data or "",
                new=form.password.data or "",
                min_length=current_app.config["MIN_PASSWORD_LENGTH"],
            )
        except InvalidCredentials:
            form.current.errors.append("That is not your current password.")
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            flash("Your password has been changed; your other devices were signed out.", "success")
            _tell_password_changed(current_user, revoked)
            db.commit()
            return redirect(url_for("auth.account"))
    return render_template("auth/change_password.html", form=form), form.status


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@form_page
def forgot_password() -> ResponseReturnValue:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        db = get_session()
        user = services.find_user(db, form.email.data or "")
        # A few links an hour per account: the form must not become a way to flood a mailbox.
        if user is not None and user.is_enabled and _may_mail_reset(user.email):
            token = services.make_reset_token(current_app.config["SECRET_KEY"], user)
            queue_mail(
                db,
                to=user.email,
                subject=RESET_SUBJECT,
                template="password_reset",
                user=user,
                link=external_url("auth.reset_password", token=token),
                minutes=current_app.config["PASSWORD_RESET_MAX_AGE_MINUTES"],
            )
            db.commit()
        # The same answer either way, so the form cannot be used to learn who has an account.
        return render_template("auth/forgot_sent.html", email=form.email.data)
    return render_template("auth/forgot_password.html", form=form), form.status


RESET_SUBJECT = "Reset your Benchside password"


def _tell_password_changed(user: User, revoked: int) -> None:
    """On the next page and by mail: the password changed, and what that ended."""
    if revoked:
        tokens = "API token was" if revoked == 1 else "API tokens were"
        flash(
            f"Your {revoked} {tokens} revoked: whoever knew the old password could have made "
            "them. Make a new one on your account page.",
            "info",
        )
    # The mail reaches the owner if it was not them: the one warning a thief cannot click away.
    queue_mail(
        get_session(),
        to=user.email,
        subject="Your Benchside password was changed",
        template="password_changed",
        user=user,
        when=utcnow(),
        revoked=revoked,
        account_link=external_url("auth.account"),
        forgot_link=external_url("auth.forgot_password"),
    )


def _may_mail_reset(email: str) -> bool:
    since = utcnow() - timedelta(hours=1)
    sent = sent_recently(get_session(), to=email, subject=RESET_SUBJECT, since=since)
    return sent < current_app.config["PASSWORD_RESET_MAILS_PER_HOUR"]


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
@form_page
def reset_password(token: str) -> ResponseReturnValue:
    db = get_session()
    config = current_app.config
    try:
        user = services.user_for_reset_token(
            db, config["SECRET_KEY"], token, max_age=config["PASSWORD_RESET_MAX_AGE_MINUTES"] * 60
        )
    except (LinkExpired, LinkInvalid) as exc:
        return render_template("auth/link_problem.html", message=str(exc), kind="reset"), 410
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            revoked = services.reset_password(
                db, user, form.password.data or "", min_length=config["MIN_PASSWORD_LENGTH"]
            )
        except LinkInvalid as exc:  # another request used the link first
            return render_template("auth/link_problem.html", message=str(exc), kind="reset"), 410
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            flash("Your password has been set. Sign in with it now.", "success")
            _tell_password_changed(user, revoked)
            db.commit()
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
    except (LinkExpired, LinkInvalid) as exc:
        return render_template("auth/link_problem.html", message=str(exc), kind="invitation"), 410
    form = AcceptInvitationForm(data={"name": invitation.name} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            user = services.accept_invitation(
                db,
                token=token,
                name=form.name.data or "",
                password=form.password.data or "",
                min_password_length=current_app.config["MIN_PASSWORD_LENGTH"],
            )
        except (LinkExpired, LinkInvalid) as exc:  # e.g. accepted by another request just now
            page = render_template("auth/link_problem.html", message=str(exc), kind="invitation")
            return page, 410
        except AccountError as exc:
            form.password.errors.append(str(exc))
        else:
            if current_user.is_authenticated:
                logout_user()
            _sign_in(user, remember=False)
            db.commit()
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
    tokens = services.api_tokens(get_session(), current_user)
    return render_template("auth/account.html", tokens=tokens, new_token=new_token), status


@bp.post("/account/tokens")
@signed_in
def make_api_token() -> ResponseReturnValue:
    db = get_session()
    token = services.issue_api_token(db, current_user)
    db.commit()
    # On this page and nowhere else: a flash would carry it in the session cookie.
    return _account_page(new_token=token, status=201)


@bp.post("/account/tokens/<int:token_id>/revoke")
@signed_in
def revoke_api_token(token_id: int) -> ResponseReturnValue:
    db = get_session()
    if not services.revoke_api_token(db, current_user, token_id):
        abort(404)  # someone else's, or revoked already: nothing of theirs to act on
    db.commit()
    flash("The token was revoked: it no longer opens the API.", "success")
    return redirect(url_for("auth.account"))
