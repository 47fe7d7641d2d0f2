"""The exchange programme's pages for approvers and keepers: the queue of requests, rules,
returned units, and the symptom codes engineers maintain.

The web edge: each view parses, calls one function of a core (``exchange``, ``programme``,
``codes``) and renders; a refusal re-renders the form with everything typed.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from app.access import form_page, roles, signed_in_user
from app.auth.models import ServiceCentre
from app.db import get_session
from app.exceptions import Conflict, Invalid
from app.models import utcnow
from app.repairs import codes, exchange, policy, programme
from app.repairs.admin_forms import ButtonForm, CodeEditForm, CodeForm, DecisionForm, RuleForm
from app.repairs.models import ExchangeRule, ExchangeStatus
from app.repairs.services import facts_of, person_of

bp = Blueprint("repair_admin", __name__)

APPROVERS = tuple(policy.APPROVERS)
KEEPERS = tuple(policy.KEEPERS)


def _field_errors(form: RuleForm | CodeForm | CodeEditForm, exc: Invalid | Conflict) -> None:
    """The core's refusal beside the fields it names (the rest above the form)."""
    named = exc.errors if isinstance(exc.errors, dict) else {}
    for name, message in named.items():
        if name in form:
            form[name].errors = [*form[name].errors, message]
    if not any(name in form for name in named):
        form.form_errors.append(exc.message)


# --- approvers ----------------------------------------------------------------------------------


@bp.get("/exchanges")
@roles(*APPROVERS)
def queue() -> ResponseReturnValue:
    """Requests the rules left to a person, oldest first."""
    session = get_session()
    waiting = exchange.pending(session)
    centres = {c.id: c.name for c in session.scalars(select(ServiceCentre))}
    return render_template("repair_admin/queue.html", waiting=waiting, centres=centres)


def _exchange_page(
    number: str, form: DecisionForm, *, status: int = 200, problem: str | None = None
) -> tuple[str, int]:
    session = get_session()
    me = signed_in_user()
    authorisation = exchange.authorisation_for(session, me, number)
    repair = authorisation.repair
    centre = session.get(ServiceCentre, repair.centre_id)
    return render_template(
        "repair_admin/exchange.html",
        authorisation=authorisation,
        repair=repair,
        centre=centre.name if centre else "",
        sees_customer=policy.sees_customer(person_of(me), facts_of(repair)),
        form=form,
        problem=problem,
        pending=authorisation.status == ExchangeStatus.PENDING,
    ), status


@bp.route("/exchanges/<number>", methods=["GET", "POST"])
@roles(*APPROVERS)
@form_page
def exchange_request(number: str) -> ResponseReturnValue:
    """A request with what it was decided from, and the approver's decision."""
    form = DecisionForm()
    if not form.validate_on_submit():
        return _exchange_page(number, form, status=form.status)
    session = get_session()
    authorisation = exchange.authorisation_for(session, signed_in_user(), number)
    try:
        with session.begin_nested():  # nothing of a refused decision is kept
            exchange.decide_pending(
                session,
                authorisation,
                by=signed_in_user(),
                approve=form.decision.data == "approve",
                note=form.note.data or "",
            )
    except Conflict as exc:
        # Another approver was first: the page shows their decision, and says so.
        session.refresh(authorisation)
        return _exchange_page(number, form, status=409, problem=exc.message)
    except Invalid as exc:
        form.note.errors = [*form.note.errors, exc.message]
        return _exchange_page(number, form, status=422)
    flash(f"{authorisation.number}: {authorisation.reason}", "success")
    return redirect(url_for("repair_admin.exchange_request", number=authorisation.number))


@bp.get("/exchanges/returns")
@roles(*APPROVERS)
def returns() -> ResponseReturnValue:
    """Defective units due back, the first due first; overdue ones marked."""
    due = programme.open_returns(get_session(), today=utcnow().date())
    return render_template("repair_admin/returns.html", due=due, button=ButtonForm())


@bp.post("/exchanges/returns/<rma>/received")
@roles(*APPROVERS)
def receive(rma: str) -> ResponseReturnValue:
    unit_return = exchange.receive_unit(get_session(), rma, by=signed_in_user(), on=utcnow().date())
    flash(
        f"{unit_return.rma}: {unit_return.model_number} {unit_return.serial} received "
        f"{unit_return.received_on}.",
        "success",
    )
    return redirect(url_for("repair_admin.returns"))


# --- keepers: symptom codes ---------------------------------------------------------------------


def _codes_page(form: CodeForm, *, status: int = 200) -> tuple[str, int]:
    return render_template(
        "repair_admin/codes.html",
        form=form,
        codes=codes.all_codes(get_session()),
        button=ButtonForm(),
    ), status


@bp.route("/repairs/symptom-codes", methods=["GET", "POST"])
@roles(*KEEPERS)
@form_page
def symptom_codes() -> ResponseReturnValue:
    form = CodeForm()
    if not form.validate_on_submit():
        return _codes_page(form, status=form.status)
    session = get_session()
    try:
        with session.begin_nested():
            found = codes.add_code(
                session,
                code=form.code.data or "",
                asked=codes.CodeAsked(form.description.data or "", form.product_line.data),
                by=signed_in_user(),
            )
    except (Invalid, Conflict) as exc:
        _field_errors(form, exc)
        return _codes_page(form, status=exc.status)
    flash(f"Symptom code {found.code} added: offered for new repairs now.", "success")
    return redirect(url_for("repair_admin.symptom_codes"))


@bp.route("/repairs/symptom-codes/<code>", methods=["GET", "POST"])
@roles(*KEEPERS)
@form_page
def edit_code(code: str) -> ResponseReturnValue:
    session = get_session()
    found = codes.get_code(session, code)
    form = CodeEditForm(obj=found)  # what was posted wins over what is stored
    if form.validate_on_submit():
        try:
            with session.begin_nested():
                codes.edit_code(
                    session,
                    found,
                    asked=codes.CodeAsked(form.description.data or "", form.product_line.data),
                    by=signed_in_user(),
                )
        except Invalid as exc:
            _field_errors(form, exc)
        else:
            flash(f"Symptom code {found.code} changed.", "success")
            return redirect(url_for("repair_admin.symptom_codes"))
    return render_template("repair_admin/code.html", form=form, code=found), form.status


@bp.post("/repairs/symptom-codes/<code>/retired")
@roles(*KEEPERS)
def retire_code(code: str) -> ResponseReturnValue:
    """Retire a code, or bring a retired one back (the button says which)."""
    session = get_session()
    found = codes.get_code(session, code)
    retire = found.retired_at is None
    codes.set_retired(session, found, retired=retire, by=signed_in_user())
    flash(
        f"{found.code} retired: old repairs keep it, new ones are not offered it."
        if retire
        else f"{found.code} is offered for new repairs again.",
        "success",
    )
    return redirect(url_for("repair_admin.symptom_codes"))


# --- keepers: exchange rules --------------------------------------------------------------------


def _rule_asked(form: RuleForm) -> programme.RuleAsked:
    return programme.RuleAsked(
        product_line=form.product_line.data,
        model_pattern=form.model_pattern.data,
        eligible=bool(form.eligible.data),
        value=form.value.data,
        exchange_only=bool(form.exchange_only.data),
        auto_approve=bool(form.auto_approve.data),
        advance=bool(form.advance.data),
        core_charge=form.core_charge.data,
        return_days=form.return_days.data or 0,
        note=form.note.data,
    )


def _rules_page(form: RuleForm, *, status: int = 200) -> tuple[str, int]:
    return render_template(
        "repair_admin/rules.html",
        form=form,
        rules=programme.all_rules(get_session()),
        button=ButtonForm(),
    ), status


@bp.route("/exchanges/rules", methods=["GET", "POST"])
@roles(*KEEPERS)
@form_page
def rules() -> ResponseReturnValue:
    form = RuleForm()
    if not form.validate_on_submit():
        return _rules_page(form, status=form.status)
    session = get_session()
    try:
        with session.begin_nested():
            rule = programme.add_rule(session, _rule_asked(form), by=signed_in_user())
    except (Invalid, Conflict) as exc:
        _field_errors(form, exc)
        return _rules_page(form, status=exc.status)
    flash(f"Rule for {_scope(rule)} added: requests are decided by it from now on.", "success")
    return redirect(url_for("repair_admin.rules"))


def _scope(rule: ExchangeRule) -> str:
    return rule.model_pattern or f"product line {rule.product_line}"


@bp.route("/exchanges/rules/<int:rule_id>", methods=["GET", "POST"])
@roles(*KEEPERS)
@form_page
def edit_rule(rule_id: int) -> ResponseReturnValue:
    session = get_session()
    rule = programme.get_rule(session, rule_id)
    form = RuleForm(obj=rule)  # what was posted wins over what is stored
    if form.validate_on_submit():
        try:
            with session.begin_nested():
                programme.edit_rule(session, rule, _rule_asked(form), by=signed_in_user())
        except (Invalid, Conflict) as exc:
            _field_errors(form, exc)
        else:
            flash(f"Rule for {_scope(rule)} changed; decisions taken keep the old one.", "success")
            return redirect(url_for("repair_admin.rules"))
    return render_template("repair_admin/rule.html", form=form, rule=rule), form.status


@bp.post("/exchanges/rules/<int:rule_id>/remove")
@roles(*KEEPERS)
def remove_rule(rule_id: int) -> ResponseReturnValue:
    session = get_session()
    rule = programme.get_rule(session, rule_id)
    scope = _scope(rule)
    programme.remove_rule(session, rule, by=signed_in_user())
    flash(f"Rule for {scope} removed.", "success")
    return redirect(url_for("repair_admin.rules"))
