"""The repair pages: opening a repair, its page and timeline, a unit's history.

The web edge: each view parses, calls one service of the repairs core (``services``,
``exchange``), and renders. Who may do what is the core's policy; a refusal that redirects runs
its service call in a savepoint, so nothing of it is kept behind the redirect.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2; not in its stubs yet

from app.access import form_page, roles, signed_in, signed_in_user
from app.auth.models import ServiceCentre, User
from app.db import get_session
from app.escalations.models import Ticket
from app.exceptions import AppError
from app.extensions import current_settings
from app.idempotency import KeyReused
from app.models import utcnow
from app.orders.models import Order
from app.repairs import exchange, policy, services
from app.repairs.forms import AttachForm, ButtonForm, DiagnoseForm, NoteForm, RepairForm, StatusForm
from app.repairs.models import (
    ExchangeAuthorisation,
    LinkKind,
    Repair,
    RepairStatus,
    SymptomCode,
)
from app.warranty import keeping
from app.warranty.entitlement import entitlement
from app.warranty.forms import ProofForm
from app.warranty.proofs import proofs_of
from diagnostics import services as diagnostics
from diagnostics.errors import UnknownSession
from diagnostics.models import DiagnosticSession
from diagnostics.trees import EXCHANGE, FIX

bp = Blueprint("repairs", __name__)

REPAIRERS = tuple(policy.REPAIRERS)


@bp.app_template_filter("repair_age")
def repair_age(opened_at: datetime) -> str:
    """How long a repair has been open, as a bench counts it (days)."""
    days = (utcnow().date() - opened_at.date()).days
    return "today" if days <= 0 else "1 day" if days == 1 else f"{days} days"


def _codes(session: Session) -> list[SelectChoice]:
    """The symptom codes in use (a retired one is kept for old repairs, never offered)."""
    codes = session.scalars(
        select(SymptomCode).where(SymptomCode.retired_at.is_(None)).order_by(SymptomCode.code)
    )
    return [SelectChoice("", "(none)")] + [
        SelectChoice(c.code, f"{c.code}: {c.description}") for c in codes
    ]


def _repair_form(*, empty: bool = False) -> RepairForm:
    form = RepairForm(formdata=None) if empty else RepairForm()
    form.symptom_code.choices = _codes(get_session())
    return form


def _new_page(
    form: RepairForm,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    standing: Repair | None = None,
) -> tuple[str, int]:
    for name, message in (errors or {}).items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
    form.key.data = form.key.data or uuid.uuid4().hex
    return render_template(
        "repairs/new.html", form=form, problem=problem, standing=standing
    ), status


@bp.get("/repairs")
@roles(*REPAIRERS)
def index() -> ResponseReturnValue:
    """The centre's repairs: in progress first (the person's own first among them), then the
    ended ones, newest first."""
    user = signed_in_user()
    repairs = services.centre_repairs(get_session(), user)
    in_progress = sorted(
        (r for r in repairs if r.status.in_progress),
        key=lambda r: (r.technician_id != user.id, -r.opened_at.timestamp()),
    )
    ended = [r for r in repairs if not r.status.in_progress]
    return render_template("repairs/index.html", in_progress=in_progress, ended=ended)


@bp.get("/repairs/new")
@roles(*REPAIRERS)
def new() -> ResponseReturnValue:
    form = _repair_form(empty=True)
    # From a walk, an order or the unit's history: the unit is prefilled.
    form.model_number.data = request.args.get("model", "").strip()[:40]
    form.serial.data = request.args.get("serial", "").strip()[:40]
    return _new_page(form)


@bp.post("/repairs/new")
@roles(*REPAIRERS)
@form_page
def create() -> ResponseReturnValue:
    form = _repair_form()
    if not form.validate():
        return _new_page(form, status=form.status)
    session = get_session()
    asked = services.NewRepair(
        model_number=form.model_number.data or "",
        serial=form.serial.data or "",
        complaint=form.complaint.data or "",
        purchase_on=form.purchase_date.data,
        symptom_code=form.symptom_code.data or None,
        customer_name=form.customer_name.data,
        customer_contact=form.customer_contact.data,
    )
    try:
        # A savepoint: a refusal answers with the form and keeps nothing.
        with session.begin_nested():
            repair, _new = services.open_repair(
                session,
                by=signed_in_user(),
                asked=asked,
                settings=current_settings().repairs,
                idempotency_key=form.key.data or None,
            )
    except services.RepairError as exc:
        errors = exc.errors if isinstance(exc.errors, dict) else {}
        return _new_page(form, status=422, errors=dict(errors))
    except services.AlreadyOpen as exc:
        return _new_page(form, status=409, problem=exc.message, standing=exc.repair)
    except KeyReused:
        # A page from before the last repair it opened (the Back button), changed since.
        form.key.data = uuid.uuid4().hex
        return _new_page(
            form,
            status=409,
            problem="This page opened a repair already and has been changed since: check it "
            "and open the repair again.",
        )
    if repair.redo_of_id is not None:
        flash(f"{repair.reference} is open. It is a redo: see the earlier fix below.", "info")
    else:
        flash(f"{repair.reference} is open.", "success")
    return redirect(url_for("repairs.repair", reference=repair.reference), code=303)


# --- the repair's page --------------------------------------------------------------------------


@dataclass(frozen=True)
class AttachedWalk:
    id: str
    tree: str
    outcome: str | None
    at: str  # the node it ended at, or stands at
    fixed: bool | None
    started_at: datetime


@dataclass(frozen=True)
class Redo:
    """The other side of a redo (another centre's is named, as its timeline does, but not
    linked: it is not the viewer's to open)."""

    reference: str | None
    own: bool
    centre: str
    days: int
    fix: str | None  # the earlier repair's fix, from its walk


def _walk(session: Session, walk_id: str) -> DiagnosticSession | None:
    try:
        return diagnostics.get(session, walk_id)
    except UnknownSession:
        return None


def _walks(session: Session, repair: Repair) -> list[AttachedWalk]:
    walks = []
    for link in repair.links:
        if link.kind != LinkKind.WALK:
            continue
        walk = _walk(session, link.ref)
        if walk is None:
            continue
        walks.append(
            AttachedWalk(
                walk.id,
                walk.revision.title,
                walk.outcome,
                diagnostics.position(walk).text,
                walk.fixed,
                walk.started_at,
            )
        )
    return walks


def _fix_of(session: Session, repair: Repair) -> str | None:
    """What fixed a repair: the fix its latest walk that reached one stands at."""
    for walk in reversed(_walks(session, repair)):
        if walk.outcome in (FIX, EXCHANGE):
            return walk.at
    return None


def _centre_name(session: Session, centre_id: int) -> str:
    centre = session.get(ServiceCentre, centre_id)
    return centre.name if centre else ""


def _redos(session: Session, user: User, repair: Repair) -> tuple[Redo | None, list[Redo]]:
    person = services.person_of(user)
    earlier = None
    before = repair.redo_of
    if before is not None and before.closed_at is not None:
        earlier = Redo(
            before.reference,
            policy.sees(person, services.facts_of(before)),
            _centre_name(session, before.centre_id),
            (repair.opened_at.date() - before.closed_at.date()).days,
            _fix_of(session, before),
        )
    later = [
        Redo(
            again.reference,
            policy.sees(person, services.facts_of(again)),
            _centre_name(session, again.centre_id),
            (again.opened_at.date() - repair.closed_at.date()).days if repair.closed_at else 0,
            None,
        )
        for again in services.redone_by(session, repair)
    ]
    return earlier, later


def _repair_page(
    repair: Repair,
    *,
    note_form: NoteForm | None = None,
    attach_form: AttachForm | None = None,
    problem: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    session = get_session()
    user = signed_in_user()
    person, facts = services.person_of(user), services.facts_of(repair)
    works = policy.may_work_on(person, facts)
    walks = _walks(session, repair)
    orders = [
        order
        for link in repair.links
        if link.kind == LinkKind.ORDER and link.ref.isdigit()
        for order in [session.get(Order, int(link.ref))]
        if order is not None
    ]
    tickets = [
        ticket
        for link in repair.links
        if link.kind == LinkKind.TICKET
        for ticket in [session.scalar(select(Ticket).where(Ticket.reference == link.ref))]
        if ticket is not None
    ]
    authorisations = exchange.for_repair(session, repair)
    standing = next(
        (a for a in authorisations if a.status in exchange.STANDING), None
    )  # shown instead of the button
    outlook = (
        exchange.outlook(session, repair)
        if works and repair.status.in_progress and standing is None
        else None
    )
    earlier, later = _redos(session, user, repair)
    diagnose = DiagnoseForm(formdata=None)
    diagnose.tree.choices = [
        SelectChoice(r.tree_id, r.title) for r in services.trees_for(session, repair)
    ]
    fix_walk = next((w for w in reversed(walks) if w.outcome in (FIX, EXCHANGE)), None)
    status_form = StatusForm(formdata=None, seen=repair.status.value)
    status_form.new_status.choices = [
        SelectChoice(s.value, s.label) for s in RepairStatus if s in services.NEXT[repair.status]
    ]
    return render_template(
        "repairs/repair.html",
        repair=repair,
        works=works,
        customer=policy.sees_customer(person, facts),
        centre=_centre_name(session, repair.centre_id),
        technician=session.get(User, repair.technician_id),
        walks=walks,
        latest_walk=walks[-1] if walks else None,
        fix_walk=fix_walk,
        orders=orders,
        tickets=tickets,
        authorisations=authorisations,
        standing=standing,
        outlook=outlook,
        earlier=earlier,
        later=later,
        diagnose=diagnose,
        status_form=status_form,
        note_form=note_form or NoteForm(formdata=None),
        attach_form=attach_form or AttachForm(formdata=None),
        button=ButtonForm(),
        problem=problem,
        exchanged=RepairStatus.EXCHANGED,
        # The warranty box: the unit's entitlement from this repair's purchase date and proof.
        warranty=entitlement(
            session, model_number=repair.model_number, serial=repair.serial, repair=repair
        ),
        proofs=proofs_of(session, repair),
        proof_form=ProofForm(formdata=None),
        warranty_claims=keeping.claims_of_repair(session, repair),
    ), status


@bp.get("/repairs/<reference>")
@signed_in
def repair(reference: str) -> ResponseReturnValue:
    """A repair: its centre, approvers and admins see it; another centre gets a 404."""
    return _repair_page(services.repair_for(get_session(), signed_in_user(), reference))


def _back(repair: Repair) -> ResponseReturnValue:
    return redirect(url_for("repairs.repair", reference=repair.reference), code=303)


@bp.post("/repairs/<reference>/status")
@roles(*REPAIRERS)
@form_page
def change_status(reference: str) -> ResponseReturnValue:
    session = get_session()
    user = signed_in_user()
    found = services.repair_to_work_on(session, user, reference)
    form = StatusForm()
    form.new_status.choices = [SelectChoice(s.value, s.label) for s in RepairStatus]
    if not form.validate():
        flash("The status was not changed: " + " ".join(_messages(form)), "error")
        return _back(found)
    try:
        with session.begin_nested():  # a refusal leaves nothing behind the redirect
            services.change_status(
                session,
                found,
                to=form.new_status.data or "",
                seen=form.seen.data or None,
                by=user,
                note=form.note.data or "",
            )
    except AppError as exc:
        flash(exc.message, "error")
        return _back(found)
    flash(f"{found.reference} is {found.status.label.lower()}.", "success")
    return _back(found)


def _messages(form: StatusForm | DiagnoseForm | ButtonForm) -> list[str]:
    return [*form.form_errors_all, *(e for errors in form.errors.values() for e in errors)]


@bp.post("/repairs/<reference>/notes")
@roles(*REPAIRERS)
@form_page
def add_note(reference: str) -> ResponseReturnValue:
    session = get_session()
    user = signed_in_user()
    found = services.repair_to_work_on(session, user, reference)
    form = NoteForm()
    if not form.validate():
        return _repair_page(found, note_form=form, status=form.status)
    try:
        with session.begin_nested():
            services.add_note(session, found, text=form.text.data or "", by=user)
    except services.RepairError as exc:
        form.text.errors = [*form.text.errors, *_field_errors(exc)]
        return _repair_page(found, note_form=form, status=exc.status)
    flash("Note added.", "success")
    return _back(found)


def _field_errors(exc: AppError) -> list[str]:
    return list(exc.errors.values()) if isinstance(exc.errors, dict) else [exc.message]


@bp.post("/repairs/<reference>/attach")
@roles(*REPAIRERS)
@form_page
def attach(reference: str) -> ResponseReturnValue:
    session = get_session()
    user = signed_in_user()
    found = services.repair_to_work_on(session, user, reference)
    form = AttachForm()
    if not form.validate():
        return _repair_page(found, attach_form=form, status=form.status)
    try:
        with session.begin_nested():
            services.attach(
                session, found, kind=form.kind.data or "", ref=form.ref.data or "", by=user
            )
    except AppError as exc:
        form.ref.errors = [*form.ref.errors, exc.message]
        return _repair_page(found, attach_form=form, status=exc.status)
    flash("Attached.", "success")
    return _back(found)


@bp.post("/repairs/<reference>/diagnose")
@roles(*REPAIRERS)
@form_page
def diagnose(reference: str) -> ResponseReturnValue:
    """Start a walk of a tree for the repair's unit, attached to the repair."""
    session = get_session()
    user = signed_in_user()
    found = services.repair_to_work_on(session, user, reference)
    form = DiagnoseForm()
    form.tree.choices = []
    if not form.validate():
        flash("Choose a tree to walk. " + " ".join(_messages(form)), "error")
        return _back(found)
    try:
        with session.begin_nested():
            walk = services.start_walk(session, found, tree_id=form.tree.data or "", by=user)
    except AppError as exc:
        flash(exc.message, "error")
        return _back(found)
    return redirect(url_for("diagnose.walk", session_id=walk.id), code=303)


@bp.post("/repairs/<reference>/exchange")
@roles(*REPAIRERS)
@form_page
def request_exchange(reference: str) -> ResponseReturnValue:
    """Ask to exchange the unit: the rules decide at once or queue it for an approver; a
    second click answers with the standing request (one order, one RMA)."""
    session = get_session()
    user = signed_in_user()
    found = services.repair_to_work_on(session, user, reference)
    form = ButtonForm()
    if not form.validate():
        flash("Nothing was sent: " + " ".join(_messages(form)), "error")
        return _back(found)
    try:
        with session.begin_nested():
            authorisation, _new = exchange.request_exchange(session, found, by=user)
    except AppError as exc:
        flash(exc.message, "error")
        return _back(found)
    flash(_said(authorisation), "error" if authorisation.status == exchange.REFUSED else "success")
    return _back(found)


def _said(authorisation: ExchangeAuthorisation) -> str:
    unit_return = authorisation.unit_return
    if authorisation.status == exchange.APPROVED and unit_return is not None:
        return (
            f"Exchange {authorisation.number} approved. Return the defective unit under "
            f"{unit_return.rma} by {unit_return.due_on.isoformat()}."
        )
    if authorisation.status == exchange.PENDING:
        return f"Exchange {authorisation.number} is waiting for an approver: {authorisation.reason}"
    return f"Exchange {authorisation.number} refused: {authorisation.reason}"


# --- a unit's history ---------------------------------------------------------------------------


@bp.get("/serials/<model>/<serial>")
@signed_in
def history(model: str, serial: str) -> ResponseReturnValue:
    """Everything done to one unit across centres; other centres' repairs without the
    customer's details."""
    user = signed_in_user()
    session = get_session()
    found = services.history(session, viewer=user, model_number=model, serial=serial)
    return render_template(
        "repairs/history.html",
        unit=found,
        may_open=bool(policy.may_open(services.person_of(user))),
        warranty=entitlement(session, model_number=model, serial=serial)
        if found.known_model
        else None,
    )
