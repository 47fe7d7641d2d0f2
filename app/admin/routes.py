"""Admins manage everyone; a centre manager manages the people of their own centre.

The web edge of the people rules in :mod:`app.auth.services` and :mod:`app.auth.policy`.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue

from app.access import form_page, roles, signed_in_user
from app.admin import bp
from app.admin.forms import CentreForm, InviteForm
from app.auth import policy, services
from app.auth.errors import AccountError, CentreExists, NotAllowed
from app.db import get_session
from app.extensions import current_settings
from app.mail import outbox
from app.roles import Role

PEOPLE_MANAGERS = tuple(policy.PEOPLE_MANAGERS)


@bp.get("/users")
@roles(*PEOPLE_MANAGERS)
def users() -> ResponseReturnValue:
    people = services.people(get_session(), signed_in_user())
    return render_template("admin/users.html", users=people.users, invitations=people.invitations)


#: The centre choice of staff of the manufacturer (``0``: the form's int of "none").
NO_CENTRE = (0, "— none (staff of the manufacturer) —")


@bp.route("/invitations/new", methods=["GET", "POST"])
@roles(*PEOPLE_MANAGERS)
@form_page
def invite() -> ResponseReturnValue:
    me = signed_in_user()
    form = InviteForm()
    form.role.choices = [(role.value, role.label) for role in policy.invitable_roles(me)]
    centres = [(c.id, c.name) for c in services.invitable_centres(get_session(), me)]
    form.centre.choices = [NO_CENTRE, *centres] if policy.may_invite_staff(me) else centres
    if form.validate_on_submit():
        try:
            invitation = services.send_invitation(
                get_session(),
                inviter=me,
                email=form.email.data or "",
                name=form.name.data or "",
                role=Role(form.role.data),
                centre_id=form.centre.data or None,
                settings=current_settings().accounts,
            )
        except AccountError as exc:
            form.form_errors.append(str(exc))
        else:
            flash(f"Invitation sent to {invitation.email}.", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/invite.html", form=form), form.status


@bp.post("/invitations/<int:invitation_id>/revoke")
@roles(*PEOPLE_MANAGERS)
def revoke_invitation(invitation_id: int) -> ResponseReturnValue:
    # One they do not manage is not found (404, from the service): it is none of theirs.
    try:
        invitation = services.revoke_invitation(get_session(), invitation_id, by=signed_in_user())
    except NotAllowed as exc:
        flash(str(exc), "error")
    else:
        flash(f"The invitation to {invitation.email} was withdrawn.", "success")
    return redirect(url_for("admin.users"))


@bp.post("/users/<int:user_id>/enabled")
@roles(Role.ADMIN)
def toggle_user(user_id: int) -> ResponseReturnValue:
    try:
        user = services.toggle_enabled(get_session(), user_id, by=signed_in_user())
    except NotAllowed as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.users"))
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
        try:
            centre = services.add_centre(db, form.name.data or "", by=signed_in_user())
        except CentreExists as exc:
            form.name.errors = [*form.name.errors, str(exc)]
        else:
            flash(f"Service centre {centre.name} added.", "success")
            return redirect(url_for("admin.centres"))
    all_centres = services.centres(db)
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
