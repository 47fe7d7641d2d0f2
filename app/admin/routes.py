"""Admins manage everyone; a centre manager manages the people of their own centre."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.access import form_page, roles
from app.admin import bp
from app.admin.forms import CentreForm, InviteForm
from app.auth import services
from app.auth.errors import AccountError
from app.auth.models import Invitation, Role, ServiceCentre, User
from app.db import get_session
from app.mail import outbox
from app.mail.compose import external_url, queue_mail
from app.models import utcnow

PEOPLE_MANAGERS = (Role.ADMIN, Role.CENTRE_MANAGER)


def _visible_centre_id() -> int | None:
    """``None`` for an admin (every centre), else the manager's own centre."""
    if current_user.role is Role.ADMIN:
        return None
    if current_user.centre_id is None:
        abort(403)  # a manager of no centre manages nobody, rather than everybody
    centre_id: int = current_user.centre_id
    return centre_id


@bp.get("/users")
@roles(*PEOPLE_MANAGERS)
def users() -> ResponseReturnValue:
    db = get_session()
    centre_id = _visible_centre_id()
    user_query = select(User).options(selectinload(User.centre)).order_by(User.name)
    invitation_query = (
        select(Invitation)
        .options(selectinload(Invitation.centre), selectinload(Invitation.invited_by))
        .where(
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at.desc())
    )
    if centre_id is not None:
        user_query = user_query.where(User.centre_id == centre_id)
        invitation_query = invitation_query.where(Invitation.centre_id == centre_id)
    return render_template(
        "admin/users.html",
        users=db.scalars(user_query).all(),
        invitations=db.scalars(invitation_query).all(),
    )


def _centre_choices() -> list[tuple[int, str]]:
    db = get_session()
    if current_user.role is Role.ADMIN:
        centres = db.scalars(select(ServiceCentre).order_by(ServiceCentre.name)).all()
        return [(0, "— none (staff of the manufacturer) —")] + [(c.id, c.name) for c in centres]
    centre = current_user.centre
    return [(centre.id, centre.name)] if centre is not None else []


@bp.route("/invitations/new", methods=["GET", "POST"])
@roles(*PEOPLE_MANAGERS)
@form_page
def invite() -> ResponseReturnValue:
    form = InviteForm()
    form.role.choices = [
        (role.value, role.label) for role in services.invitable_roles(current_user)
    ]
    form.centre.choices = _centre_choices()
    if form.validate_on_submit():
        db = get_session()
        centre = db.get(ServiceCentre, form.centre.data) if form.centre.data else None
        try:
            invitation, token = services.invite(
                db,
                inviter=current_user,
                email=form.email.data or "",
                name=form.name.data or "",
                role=Role(form.role.data),
                centre=centre,
                valid_for=timedelta(days=current_app.config["INVITATION_MAX_AGE_DAYS"]),
            )
        except AccountError as exc:
            form.form_errors.append(str(exc))
        else:
            queue_mail(
                db,
                to=invitation.email,
                subject="You are invited to Benchside",
                template="invitation",
                invitation=invitation,
                inviter=current_user,
                link=external_url("auth.accept_invitation", token=token),
            )
            db.commit()
            flash(f"Invitation sent to {invitation.email}.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/invite.html", form=form), form.status


@bp.post("/invitations/<int:invitation_id>/revoke")
@roles(*PEOPLE_MANAGERS)
def revoke_invitation(invitation_id: int) -> ResponseReturnValue:
    db = get_session()
    invitation = db.get(Invitation, invitation_id)
    centre_id = _visible_centre_id()
    if invitation is None or (centre_id is not None and invitation.centre_id != centre_id):
        abort(404)
    try:
        services.revoke_invitation(db, invitation, by=current_user)
    except AccountError as exc:
        flash(str(exc), "error")
    else:
        db.commit()
        flash(f"The invitation to {invitation.email} was withdrawn.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/enabled")
@roles(Role.ADMIN)
def toggle_user(user_id: int) -> ResponseReturnValue:
    db = get_session()
    user = db.get(User, user_id)
    if user is None:
        abort(404)
    if user.id == current_user.id:
        flash("You cannot disable your own account.", "error")
        return redirect(url_for("admin.users"))
    user.is_enabled = not user.is_enabled
    if not user.is_enabled:
        services.end_other_sessions(db, user, keep_token=None)
    db.commit()
    state = "enabled" if user.is_enabled else "disabled and signed out everywhere"
    flash(f"{user.email} is {state}.", "success")
    return redirect(url_for("admin.users"))


@bp.route("/centres", methods=["GET", "POST"])
@roles(Role.ADMIN)
@form_page
def centres() -> ResponseReturnValue:
    db = get_session()
    form = CentreForm()
    if form.validate_on_submit():
        name = (form.name.data or "").strip()
        if services.find_centre(db, name) is not None:
            form.name.errors.append("A service centre with this name exists already.")
        else:
            db.add(ServiceCentre(name=name))
            db.commit()
            flash(f"Service centre {name} added.", "success")
            return redirect(url_for("admin.centres"))
    all_centres = db.scalars(
        select(ServiceCentre)
        .options(selectinload(ServiceCentre.users))
        .order_by(ServiceCentre.name)
    ).all()
    return render_template("admin/centres.html", form=form, centres=all_centres), form.status


@bp.get("/mail")
@roles(Role.ADMIN)
def undelivered_mail() -> ResponseReturnValue:
    """Mail the outbox gave up on: the server refused it for good (a mailbox that does not exist,
    a relay that will not take it). Someone has to act: correct the address, or tell the person."""
    return render_template("admin/mail.html", messages=outbox.given_up(get_session()))


@bp.post("/mail/<int:message_id>/retry")
@roles(Role.ADMIN)
def retry_mail(message_id: int) -> ResponseReturnValue:
    if outbox.try_again(get_session(), message_id):
        flash("Queued again: the outbox sends it on its next round.", "success")
    else:
        flash("That message is no longer waiting for a decision.", "info")
    return redirect(url_for("admin.undelivered_mail"))
