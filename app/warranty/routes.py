"""The warranty pages: a centre's claims, a claim (correct, submit, decide), the reviewers' queue
and payment batches; the labour rates, the terms and extended coverage kept by engineers and
admins; the proof of purchase added from a repair's page.

The web edge of ``app.warranty``: each view parses, calls one service of the core, renders. A
refusal that redirects runs its service call in a savepoint, so nothing of it is kept.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2; not in its stubs yet

from app.access import form_page, roles, signed_in_user
from app.auth import services as accounts
from app.db import get_session
from app.exceptions import AppError, Conflict, Invalid, NotFound
from app.extensions import current_settings
from app.models import utcnow
from app.repairs import policy as repair_policy
from app.repairs import services as repairs
from app.repairs.models import Repair
from app.roles import Role
from app.warranty import claims, keeping
from app.warranty.entitlement import CoverageFileError, entitlement, import_coverage
from app.warranty.forms import (
    BatchForm,
    ButtonForm,
    ClaimForm,
    CoverageForm,
    DecisionForm,
    ProofForm,
    RateForm,
    SubmitForm,
    TermForm,
)
from app.warranty.models import Claim, ClaimStatus, CoverageImport, LineKind, PurchaseProof
from app.warranty.proofs import attach_proof, proofs_of
from diagnostics import services as diagnostics

bp = Blueprint("warranty", __name__)

REPAIRERS = tuple(repair_policy.REPAIRERS)
REVIEWERS = tuple(claims.REVIEWERS)
KEEPERS = tuple(keeping.KEEPERS)
COVERAGE_MAX_BYTES = 5 * 1024 * 1024


def _apply(form: Any, exc: AppError) -> None:
    """Put a service's refusal on the form: on the fields it names, else above the form."""
    placed = False
    if isinstance(exc.errors, dict):
        for name, message in exc.errors.items():
            if name in form:
                form[name].errors = [*form[name].errors, str(message)]
                placed = True
    if not placed:
        form.form_errors.append(exc.message)


def _travel(typed: str | None) -> Decimal | None:
    """The travel typed, or None; :raises Invalid: not an amount."""
    typed = (typed or "").strip()
    if not typed:
        return None
    try:
        amount = Decimal(typed)
    except InvalidOperation:
        amount = Decimal("-1")
    if not amount.is_finite() or amount < 0 or amount > Decimal("10000"):
        raise Invalid("Travel is an amount.", errors={"travel": "An amount such as 12.50."})
    return amount.quantize(Decimal("0.01"))


def _status_label(status: ClaimStatus) -> str:
    return status.value.replace("_", " ")


@bp.app_template_filter("claim_status")
def claim_status(status: ClaimStatus) -> str:
    return _status_label(status)


# --- the claims list and the reviewers' queue ---------------------------------------------------


def _repairs_of(found: list[Claim]) -> dict[int, Repair]:
    ids = {c.repair_id for c in found}
    if not ids:
        return {}
    return {r.id: r for r in get_session().scalars(select(Repair).where(Repair.id.in_(ids)))}


@bp.get("/claims")
@roles(*REPAIRERS, *REVIEWERS)
def index() -> ResponseReturnValue:
    """The centre's claims with the total per status (a reviewer's: every centre's, filtered
    by centre and status)."""
    session = get_session()
    user = signed_in_user()
    found = claims.claims_for(session, user)
    reviewer = user.role in claims.REVIEWERS
    centre = request.args.get("centre", "").strip()
    status = request.args.get("status", "").strip()
    if reviewer and centre.isdigit():
        found = [c for c in found if c.centre_id == int(centre)]
    if status in {s.value for s in ClaimStatus}:
        found = [c for c in found if c.status.value == status]
    repair_refs = _repairs_of(found)
    centres = {c.id: c.name for c in accounts.centres(session)}
    return render_template(
        "warranty/index.html",
        claims=found,
        totals=claims.totals(found),
        repairs=repair_refs,
        centres=centres,
        reviewer=reviewer,
        chosen_centre=centre,
        chosen_status=status,
        statuses=list(ClaimStatus),
    )


@bp.get("/claims/review")
@roles(*REVIEWERS)
def review() -> ResponseReturnValue:
    """Submitted claims, the oldest first, with their flags."""
    session = get_session()
    queue = keeping.review_queue(session)
    repair_refs = _repairs_of(queue)
    centres = {c.id: c.name for c in accounts.centres(session)}
    return render_template(
        "warranty/review.html", claims=queue, repairs=repair_refs, centres=centres
    )


# --- a claim ------------------------------------------------------------------------------------


def _codes(repair: Repair, current: str | None = None) -> list[SelectChoice]:
    choices = [SelectChoice("", "(choose)")] + [
        SelectChoice(c.code, c.label) for c in keeping.codes_for(get_session(), repair)
    ]
    if current and current not in {c.value for c in choices}:
        # A code no longer in effect stays visible on the claim that names it.
        choices.append(SelectChoice(current, f"{current} (not in effect)"))
    return choices


def _claim_form(claim: Claim, repair: Repair, *, posted: bool) -> ClaimForm:
    if posted:
        form = ClaimForm()
    else:
        travel = next((line.amount for line in claim.lines if line.kind == LineKind.TRAVEL), None)
        form = ClaimForm(
            formdata=None,
            labour_code=claim.labour_code or "",
            fault=claim.fault or "",
            travel=f"{travel:.2f}" if travel is not None else "",
            faulty_serial=claim.faulty_serial or "",
            replacement_serial=claim.replacement_serial or "",
            version=str(claim.version),
            parts=[
                {
                    "part_number": line.part_number or "",
                    "quantity": str(line.quantity),
                    "faulty_serial": line.faulty_serial or "",
                    "replacement_serial": line.replacement_serial or "",
                }
                for line in claim.lines
                if line.kind == LineKind.PART
            ],
        )
    form.labour_code.choices = _codes(repair, claim.labour_code)
    return form


def _claim_page(
    claim: Claim,
    *,
    form: ClaimForm | None = None,
    decision: DecisionForm | None = None,
    refused: list[str] | None = None,
    problem: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    session = get_session()
    user = signed_in_user()
    repair = session.get(Repair, claim.repair_id)
    assert repair is not None  # a claim's repair is never deleted (a foreign key)
    settings = current_settings().warranty
    editable = claim.status in claims.EDITABLE
    found = (
        refused
        if refused is not None
        else (claims.problems(session, claim, settings=settings) if editable else [])
    )
    mine = user.role in claims.REPAIRERS and user.centre_id == claim.centre_id
    return render_template(
        "warranty/claim.html",
        claim=claim,
        repair=repair,
        # A reviewer does not open the centre's repair: what the claim rests on is shown here.
        sees_repair=repair_policy.sees(repairs.person_of(user), repairs.facts_of(repair)),
        covered=entitlement(
            session,
            model_number=repair.model_number,
            serial=repair.serial,
            repair=repair,
            today=repair.opened_at.date(),
        ),
        proofs=proofs_of(session, repair),
        centre=next((c.name for c in accounts.centres(session) if c.id == claim.centre_id), ""),
        problems=found,
        flags=claim.flags or (claims.flags_of(session, claim) if editable else []),
        editable=editable and mine,
        decides=user.role in claims.REVIEWERS and claim.status == ClaimStatus.SUBMITTED,
        form=form or _claim_form(claim, repair, posted=False),
        submit_form=SubmitForm(formdata=None, version=str(claim.version)),
        decision=decision or DecisionForm(formdata=None),
        problem=problem,
        travel_allowed=_travel_allowed(repair),
    ), status


def _travel_allowed(repair: Repair) -> bool:
    facts = diagnostics.model_facts(get_session(), repair.model_number)
    line = (facts.product_line if facts else "") or ""
    return line in current_settings().warranty.travel_lines


@bp.get("/claims/<reference>")
@roles(*REPAIRERS, *REVIEWERS)
def claim(reference: str) -> ResponseReturnValue:
    """A claim: lines, total, the problems that stop its submission, flags, decision, history
    (another centre's: 404)."""
    return _claim_page(claims.claim_for(get_session(), signed_in_user(), reference))


@bp.get("/claims/<reference>/proofs/<int:proof_id>")
@roles(*REPAIRERS, *REVIEWERS)
def proof(reference: str, proof_id: int) -> ResponseReturnValue:
    """A proof of purchase of the claim's repair, as a download (never shown inline: it is a
    file a customer handed in)."""
    session = get_session()
    found = claims.claim_for(session, signed_in_user(), reference)
    kept = session.get(PurchaseProof, proof_id)
    if kept is None or kept.repair_id != found.repair_id:
        raise NotFound(f"No such proof of purchase for {found.reference}.")
    return Response(
        kept.content,
        mimetype=kept.content_type,
        headers={"Content-Disposition": f'attachment; filename="proof-{kept.id}"'},
    )


def _back(claim: Claim) -> ResponseReturnValue:
    return redirect(url_for("warranty.claim", reference=claim.reference), code=303)


def _parts_of(form: ClaimForm) -> list[claims.PartClaimed]:
    parts = []
    for entry in form.parts.entries:
        quantity = entry.form.quantity.data or "1"
        parts.append(
            claims.PartClaimed(
                (entry.form.part_number.data or "").strip(),
                int(quantity) if quantity.isdigit() else 1,
                (entry.form.faulty_serial.data or "").strip() or None,
                (entry.form.replacement_serial.data or "").strip() or None,
            )
        )
    return parts


@bp.post("/claims/<reference>/edit")
@roles(*REPAIRERS)
@form_page
def edit(reference: str) -> ResponseReturnValue:
    """Correct a draft or a claim sent back for information: the same claim, history kept."""
    session = get_session()
    user = signed_in_user()
    found = claims.claim_for(session, user, reference)
    repair = session.get(Repair, found.repair_id)
    assert repair is not None
    form = _claim_form(found, repair, posted=True)
    if not form.validate():
        return _claim_page(found, form=form, status=form.status)
    try:
        version = int(form.version.data or "0")
        with session.begin_nested():
            claims.edit_claim(
                session,
                found,
                by=user,
                seen_version=version,
                settings=current_settings().warranty,
                labour_code=form.labour_code.data or "",
                fault=form.fault.data or None,
                travel=_travel(form.travel.data),
                faulty_serial=form.faulty_serial.data or None,
                replacement_serial=form.replacement_serial.data or None,
                # No part lines posted (a page without them): every part ordered is claimed.
                parts=_parts_of(form) or None,
            )
    except Conflict as exc:
        session.refresh(found)
        return _claim_page(found, form=form, problem=exc.message, status=409)
    except (Invalid, ValueError) as exc:
        if isinstance(exc, AppError):
            _apply(form, exc)
        return _claim_page(found, form=form, status=422)
    flash(f"{found.reference} is corrected (version {found.version}).", "success")
    return _back(found)


@bp.post("/claims/<reference>/submit")
@roles(*REPAIRERS)
@form_page
def submit(reference: str) -> ResponseReturnValue:
    """Submit: every problem at once when it cannot be; a second click is told it was done."""
    session = get_session()
    user = signed_in_user()
    found = claims.claim_for(session, user, reference)
    form = SubmitForm()
    if not form.validate() or not (form.version.data or "").isdigit():
        return _claim_page(found, problem="Nothing was submitted: reload the claim.", status=422)
    try:
        with session.begin_nested():
            claims.submit(
                session,
                found,
                by=user,
                seen_version=int(form.version.data or "0"),
                settings=current_settings().warranty,
            )
    except Invalid as exc:
        session.refresh(found)
        errors = exc.errors if isinstance(exc.errors, list) else [exc.message]
        return _claim_page(found, refused=[str(e) for e in errors], problem=exc.message, status=422)
    except Conflict as exc:
        session.refresh(found)
        return _claim_page(found, problem=exc.message, status=409)
    flash(f"{found.reference} is {_status_label(found.status)}.", "success")
    return _back(found)


@bp.post("/claims/<reference>/decision")
@roles(*REVIEWERS)
@form_page
def decide(reference: str) -> ResponseReturnValue:
    """A reviewer approves, rejects or asks for information (with the reason)."""
    session = get_session()
    user = signed_in_user()
    found = claims.claim_for(session, user, reference)
    form = DecisionForm()
    if not form.validate():
        return _claim_page(found, decision=form, status=form.status)
    try:
        with session.begin_nested():
            claims.decide(
                session,
                found,
                by=user,
                decision=form.decision.data or "",
                reason=form.reason.data or "",
            )
    except Conflict as exc:
        session.refresh(found)
        return _claim_page(found, decision=form, problem=exc.message, status=409)
    except Invalid as exc:
        session.refresh(found)
        _apply(form, exc)
        return _claim_page(found, decision=form, status=422)
    flash(f"{found.reference} is {_status_label(found.status)}.", "success")
    return _back(found)


@bp.route("/repairs/<reference>/claim", methods=["GET", "POST"])
@roles(*REPAIRERS)
@form_page
def new(reference: str) -> ResponseReturnValue:
    """A claim from a repair: drafted, then shown with what stops its submission."""
    session = get_session()
    user = signed_in_user()
    repair = repairs.repair_to_work_on(session, user, reference)
    if request.method == "POST":
        form = ClaimForm()
    else:
        form = ClaimForm(formdata=None, fault=repair.symptom_code or "")
    form.labour_code.choices = _codes(repair)
    page: dict[str, Any] = {"repair": repair, "travel_allowed": _travel_allowed(repair)}
    if request.method == "GET" or not form.validate():
        return render_template("warranty/new.html", form=form, **page), form.status
    try:
        with session.begin_nested():
            drafted = claims.draft_claim(
                session,
                repair,
                by=user,
                labour_code=form.labour_code.data or "",
                fault=form.fault.data or None,
                travel=_travel(form.travel.data),
                faulty_serial=form.faulty_serial.data or None,
                replacement_serial=form.replacement_serial.data or None,
                settings=current_settings().warranty,
            )
    except AppError as exc:
        _apply(form, exc)
        return render_template("warranty/new.html", form=form, **page), exc.status
    flash(f"{drafted.reference} is drafted: check it, then submit it.", "success")
    return _back(drafted)


# --- the proof of purchase ----------------------------------------------------------------------


@bp.post("/repairs/<reference>/proof")
@roles(*REPAIRERS)
@form_page
def add_proof(reference: str) -> ResponseReturnValue:
    """Keep a proof of purchase with the repair (a file cannot be typed back: a refusal is
    said above the box, on the repair's page)."""
    session = get_session()
    user = signed_in_user()
    repair = repairs.repair_to_work_on(session, user, reference)
    back = redirect(url_for("repairs.repair", reference=repair.reference) + "#warranty", 303)
    form = ProofForm()
    if not form.validate():
        messages = [*form.form_errors_all, *(e for es in form.errors.values() for e in es)]
        flash("No proof was added: " + " ".join(messages), "error")
        return back
    upload = form.proof.data
    limit = current_settings().warranty.proof_max_bytes
    try:
        with session.begin_nested():
            proof = attach_proof(
                session,
                repair,
                by=user,
                content=upload.stream.read(limit + 1),
                filename=upload.filename or "",
                limit=limit,
            )
    except AppError as exc:
        details = list(exc.errors.values()) if isinstance(exc.errors, dict) else []
        flash(" ".join([exc.message, *map(str, details)]), "error")
        return back
    flash(f"Proof of purchase {proof.filename} added.", "success")
    return back


# --- payment batches ----------------------------------------------------------------------------


def _batch_form(*, posted: bool) -> BatchForm:
    if posted:
        form = BatchForm()
    else:
        today = utcnow().date()
        form = BatchForm(formdata=None, period_from=today.replace(day=1), period_to=today)
    form.centre.choices = [SelectChoice("", "(choose)")] + [
        SelectChoice(str(c.id), c.name) for c in accounts.centres(get_session())
    ]
    return form


@bp.route("/claims/payments", methods=["GET", "POST"])
@roles(*REVIEWERS)
@form_page
def payments() -> ResponseReturnValue:
    """Payment batches: a centre's claims approved in a period, paid together."""
    session = get_session()
    form = _batch_form(posted=request.method == "POST")
    if request.method == "POST" and form.validate():
        start, end = form.period_from.data, form.period_to.data
        if start is None or end is None or start > end:
            form.period_to.errors = [*form.period_to.errors, "The period ends before it starts."]
        else:
            try:
                with session.begin_nested():  # nothing is paid is nothing made
                    batch = claims.pay(
                        session,
                        centre_id=int(form.centre.data or "0"),
                        period_from=start,
                        period_to=end,
                        by=signed_in_user(),
                    )
            except Invalid as exc:
                form.period_to.errors = [*form.period_to.errors, exc.message]
            else:
                paid = claims.claims_of_batch(session, batch)
                flash(
                    f"{batch.reference}: {len(paid)} claim{'' if len(paid) == 1 else 's'}, "
                    f"{batch.total:.2f} in total.",
                    "success",
                )
                return redirect(url_for("warranty.payments"), code=303)
    centres = {c.id: c.name for c in accounts.centres(session)}
    found = keeping.batches(session)
    counts = {b.id: len(claims.claims_of_batch(session, b)) for b in found}
    status = 422 if request.method == "POST" else 200
    return render_template(
        "warranty/payments.html",
        form=form,
        batches=found,
        counts=counts,
        centres=centres,
    ), status


@bp.get("/claims/payments/<reference>.csv")
@roles(*REVIEWERS)
def batch_csv(reference: str) -> ResponseReturnValue:
    """The batch as CSV: a row per claim line, and the total they add up to."""
    session = get_session()
    batch = claims.batch_by_reference(session, reference)
    return Response(
        claims.batch_csv(session, batch),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{batch.reference}.csv"'},
    )


# --- what engineers and admins keep -------------------------------------------------------------


@bp.route("/warranty/rates", methods=["GET", "POST"])
@roles(*KEEPERS)
@form_page
def rates() -> ResponseReturnValue:
    """Labour codes and their amounts by effective date; a new date makes a new version."""
    session = get_session()
    posted = request.method == "POST"
    form = RateForm() if posted else RateForm(formdata=None, effective_on=utcnow().date())
    if posted and form.validate():
        try:
            with session.begin_nested():
                rate = keeping.add_rate(
                    session,
                    by=signed_in_user(),
                    code=form.code.data or "",
                    product_line=form.product_line.data or "",
                    repair_kind=form.repair_kind.data or "",
                    amount=form.amount.data or Decimal("0"),
                    effective_on=form.effective_on.data or utcnow().date(),
                )
        except AppError as exc:
            _apply(form, exc)
            return render_template(
                "warranty/rates.html", form=form, codes=keeping.rates(session)
            ), exc.status
        flash(
            f"{rate.code}: {rate.amount:.2f} from {rate.effective_on:%d %b %Y}. Claims of "
            "repairs before that date keep the earlier amount.",
            "success",
        )
        return redirect(url_for("warranty.rates"), code=303)
    return render_template(
        "warranty/rates.html", form=form, codes=keeping.rates(session)
    ), form.status


@bp.route("/warranty/terms", methods=["GET", "POST"])
@roles(*KEEPERS)
@form_page
def terms() -> ResponseReturnValue:
    """Warranty terms per product line or model pattern (parts and labour months)."""
    session = get_session()
    posted = request.method == "POST"
    form = TermForm() if posted else TermForm(formdata=None)
    if posted and form.validate():
        try:
            with session.begin_nested():
                term = keeping.set_term(
                    session,
                    by=signed_in_user(),
                    product_line=form.product_line.data,
                    model_pattern=form.model_pattern.data,
                    parts_months=form.parts_months.data or 0,
                    labour_months=form.labour_months.data or 0,
                )
        except AppError as exc:
            _apply(form, exc)
            return render_template(
                "warranty/terms.html", form=form, terms=keeping.terms(session), button=ButtonForm()
            ), exc.status
        scope = term.model_pattern or f"product line {term.product_line}"
        flash(
            f"Warranty of {scope}: {term.parts_months} months parts, "
            f"{term.labour_months} months labour.",
            "success",
        )
        return redirect(url_for("warranty.terms"), code=303)
    return render_template(
        "warranty/terms.html", form=form, terms=keeping.terms(session), button=ButtonForm()
    ), form.status


@bp.post("/warranty/terms/<int:term_id>/remove")
@roles(*KEEPERS)
@form_page
def remove_term(term_id: int) -> ResponseReturnValue:
    """Remove a term: the units it covered fall back to their line's term, or to unknown."""
    session = get_session()
    if not ButtonForm().validate():
        flash("Nothing was removed: the page had expired. Try again.", "error")
        return redirect(url_for("warranty.terms"), code=303)
    with session.begin_nested():
        keeping.remove_term(session, by=signed_in_user(), term_id=term_id)
    flash("The term is removed; entitlements are answered without it from now on.", "success")
    return redirect(url_for("warranty.terms"), code=303)


@bp.route("/warranty/coverage", methods=["GET", "POST"])
@roles(Role.ADMIN)
@form_page
def coverage() -> ResponseReturnValue:
    """Import extended coverage from a CSV: every problem listed, nothing imported on error."""
    session = get_session()
    posted = request.method == "POST"
    form = CoverageForm() if posted else CoverageForm(formdata=None)
    problems: list[str] = []
    if posted and form.validate():
        upload = form.file.data
        raw = upload.stream.read(COVERAGE_MAX_BYTES + 1)
        try:
            if len(raw) > COVERAGE_MAX_BYTES:
                raise CoverageFileError(
                    "Nothing was imported: the file is larger than 5 MB.", errors=[]
                )
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                raise CoverageFileError(
                    "Nothing was imported: the file is not UTF-8 text.", errors=[]
                ) from None
            with session.begin_nested():
                batch = import_coverage(
                    session,
                    text=text,
                    filename=upload.filename or "coverage.csv",
                    by=signed_in_user().email,
                )
        except CoverageFileError as exc:
            form.file.errors = [*form.file.errors, exc.message]
            problems = [str(p) for p in exc.errors] if isinstance(exc.errors, list) else []
        else:
            flash(f"{batch.filename}: {batch.rows} rows of extended coverage imported.", "success")
            return redirect(url_for("warranty.coverage"), code=303)
    imports = session.scalars(
        select(CoverageImport).order_by(CoverageImport.id.desc()).limit(100)
    ).all()
    return render_template(
        "warranty/coverage.html", form=form, problems=problems, imports=imports
    ), (422 if posted else 200)
