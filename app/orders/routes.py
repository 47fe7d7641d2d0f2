"""Ordering pages: the cart with its report, orders, returns. Views are thin: they parse, call
one service, and render; the request commits (or rolls back) once, in ``app.db``."""

from __future__ import annotations

import csv
import dataclasses
import io
import uuid

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from app.access import form_page, roles, signed_in, signed_in_user
from app.auth.models import User
from app.db import get_session
from app.exceptions import AppError
from app.extensions import current_settings
from app.notices import services as notices
from app.orders import policy, services
from app.orders.forms import (
    AddForm,
    ButtonForm,
    DecisionForm,
    PasteForm,
    PlaceForm,
    ReturnForm,
    SerialForm,
    StatusForm,
)
from app.orders.models import RETURN_REASONS, Order
from app.repairs import offers
from app.repairs import policy as repair_policy
from app.repairs import services as repairs
from app.repairs.models import LinkKind
from app.roles import Role
from app.storable import CONTROL
from parts_catalog.release_files import escape_cell

ORDERERS = tuple(policy.ORDERERS)

bp = Blueprint("orders", __name__, url_prefix="/orders")


def _user() -> User:
    """The signed-in person as a row, for the services (never the request's proxy)."""
    user: User = current_user._get_current_object()
    return user


def _cart_page(
    *,
    add: AddForm | None = None,
    paste: PasteForm | None = None,
    place: PlaceForm | None = None,
    problems: list[str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    session = get_session()
    lines = services.cart(session, _user())
    report = services.check(session, services.cart_asked(lines)) if lines else []
    place = place or PlaceForm(formdata=None)
    place.key.data = place.key.data or uuid.uuid4().hex
    totals, unpriced = services.totals(report)
    numbers = [line.requested for line in lines]
    return render_template(
        "orders/cart.html",
        line_notices={line.id: notices.about_parts(session, [line.requested]) for line in lines},
        safety=notices.safety_blocking(session, _user(), parts=numbers) if numbers else [],
        rows=list(zip(lines, report, strict=True)),
        totals=totals,
        unpriced=unpriced,
        backordered=sum(i.backordered for c in report for i in c.items),
        add=add or AddForm(formdata=None),
        paste=paste or PasteForm(formdata=None),
        place=place,
        serial_form=SerialForm(formdata=None),
        button=ButtonForm(),
        problems=problems,
        orderable=bool(report) and all(c.orderable for c in report),
        open_repairs=repairs.open_repairs(session, _user()),
    ), status


@bp.get("/cart")
@roles(*ORDERERS)
def cart() -> ResponseReturnValue:
    return _cart_page()


@bp.post("/cart/add")
@roles(*ORDERERS)
@form_page
def add() -> ResponseReturnValue:
    form = AddForm()
    if not form.validate():
        return _cart_page(add=form, status=form.status)
    if len(services.cart(get_session(), _user())) >= services.MAX_LINES:
        form.number.errors = [
            *form.number.errors,
            f"A cart holds at most {services.MAX_LINES} lines.",
        ]
        return _cart_page(add=form, status=422)
    asked = services.Asked(
        form.number.data or "",
        form.quantity.data or 1,
        (form.serial.data or "").strip() or None,
        acknowledged=bool(form.acknowledge.data),
    )
    try:
        said = services.add_to_cart(get_session(), _user(), [asked])
    except services.OrderError as exc:
        form.quantity.errors = [*form.quantity.errors, str(exc)]
        return _cart_page(add=form, status=422)
    flash(f"{'; '.join(said)}: it is in your cart.", "success")
    back = form.back.data or ""
    return redirect(
        back if back.startswith("/") and not back.startswith("//") else url_for("orders.cart")
    )


@bp.post("/cart/paste")
@roles(*ORDERERS)
@form_page
def paste() -> ResponseReturnValue:
    form = PasteForm()
    if not form.validate():
        return _cart_page(paste=form, status=form.status)
    text = form.text.data or ""
    if form.file.data:
        try:
            uploaded = form.file.data.read(100_001).decode("utf-8-sig")
        except UnicodeDecodeError:
            form.file.errors = [*form.file.errors, "The file is not UTF-8 text."]
            return _cart_page(paste=form, status=422)
        if len(uploaded) > 100_000 or CONTROL.search(uploaded):
            form.file.errors = [
                *form.file.errors,
                "The file is too long or holds control characters: a list of part numbers is "
                "plain text, a line each.",
            ]
            return _cart_page(paste=form, status=422)
        text += "\n" + uploaded
    asked, problems = services.read_list(text)
    if problems:
        # Nothing is dropped silently: the unreadable lines are named, the list stays typed.
        form.text.errors = [*form.text.errors, *problems]
        return _cart_page(paste=form, status=422)
    if not asked:
        form.text.errors = [*form.text.errors, "Paste at least one part number."]
        return _cart_page(paste=form, status=422)
    if len(services.cart(get_session(), _user())) + len(asked) > services.MAX_LINES:
        form.text.errors = [*form.text.errors, f"A cart holds at most {services.MAX_LINES} lines."]
        return _cart_page(paste=form, status=422)
    serial = (form.serial.data or "").strip() or None
    if serial:  # a diagnostic fix names the unit: its serial decides ranged replacements
        asked = [dataclasses.replace(a, serial=serial) for a in asked]
    try:
        said = services.add_to_cart(get_session(), _user(), asked)
    except services.OrderError as exc:
        form.text.errors = [*form.text.errors, str(exc)]
        return _cart_page(paste=form, status=422)
    flash(f"{'; '.join(said)}. Check the report below before ordering.", "success")
    return redirect(url_for("orders.cart"))


@bp.post("/cart/<int:line_id>/serial")
@roles(*ORDERERS)
@form_page
def set_serial(line_id: int) -> ResponseReturnValue:
    form = SerialForm()
    session = get_session()
    line = services.cart_line_for(session, _user(), line_id)
    if form.validate():
        services.set_serial(session, _user(), line.id, form.serial.data)
    else:
        problems = [str(e) for errors in form.errors.values() for e in errors]
        flash(f"The serial number was not set: {' '.join(problems)}", "error")
    return redirect(url_for("orders.cart"))


@bp.post("/cart/<int:line_id>/confirm")
@roles(*ORDERERS)
def confirm(line_id: int) -> ResponseReturnValue:
    """The person confirms that a conditional replacement's condition applies to the unit."""
    line = services.acknowledge(get_session(), _user(), line_id)
    flash(f"{line.requested}: condition confirmed; it can be ordered.", "success")
    return redirect(url_for("orders.cart"))


@bp.post("/cart/<int:line_id>/remove")
@roles(*ORDERERS)
def remove(line_id: int) -> ResponseReturnValue:
    services.remove_from_cart(get_session(), _user(), line_id)
    return redirect(url_for("orders.cart"))


@bp.post("/cart/place")
@roles(*ORDERERS)
@form_page
def place() -> ResponseReturnValue:
    form = PlaceForm()
    if not form.validate():
        return _cart_page(place=form, status=form.status)
    session = get_session()
    try:
        order, _new = services.place_cart(
            session,
            _user(),
            mailer=current_settings().mail,
            reference=form.reference.data,
            kind=form.kind.data or "paid",
            job=form.job.data,
            idempotency_key=form.key.data or None,
        )
    except services.OrderError as exc:
        return _cart_page(place=form, problems=[exc.message, *exc.problems], status=422)
    except notices.SafetyNoticeFirst as exc:
        return _cart_page(place=form, problems=[exc.message], status=exc.status)
    except services.KeyReused as exc:
        form.key.data = uuid.uuid4().hex  # this page, read again, may place its own order
        problem = (
            f"This page placed order {exc.record.id} already, and the cart has changed since. "
            "Check the report below, then place the order again."
        )
        return _cart_page(place=form, problems=[problem], status=409)
    said = f"Order {order.id} is placed. A confirmation is on its way by mail."
    # Its job a repair's reference: the order is part of that repair.
    if _new and (repair := offers.attach_order_to_job(session, order, by=_user())) is not None:
        said += f" It is part of {repair.reference}."
    flash(said, "success")
    return redirect(url_for("orders.order", order_id=order.id))


@bp.get("")
@signed_in
def history() -> ResponseReturnValue:
    return render_template(
        "orders/history.html", orders=services.orders_for(get_session(), _user())
    )


@bp.get("/export.csv")
@signed_in
def export() -> ResponseReturnValue:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "order",
            "placed_at",
            "status",
            "reference",
            "requested",
            "part_number",
            "quantity",
            "reserved",
            "backordered",
            "unit_price",
        ]
    )
    for order in services.orders_for(get_session(), _user()):
        for line in order.lines:
            for item in line.items:
                writer.writerow(
                    [
                        order.id,
                        order.placed_at.isoformat(),
                        order.status,
                        escape_cell(order.reference or ""),
                        escape_cell(line.requested),
                        item.part_number,
                        item.quantity,
                        item.reserved,
                        item.backordered,
                        item.unit_price or "",
                    ]
                )
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="orders.csv"'},
    )


def _order_or_404(order_id: int) -> Order:
    return services.order_for(get_session(), _user(), order_id)


def _order_page(
    order: Order,
    *,
    return_form: ReturnForm | None = None,
    problem: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return render_template(
        "orders/order.html",
        order=order,
        return_form=return_form or ReturnForm(formdata=None),
        status_form=StatusForm(
            formdata=None, new_status=order.status.value, seen=order.status.value
        ),
        button=ButtonForm(),
        reasons=RETURN_REASONS,
        problem=problem,
        can_order=policy.may_return(services.person_of(_user()), services.facts_of(order)).allowed,
        can_change_status=policy.may_change_status(services.person_of(_user())),
        repair_offers=offers.for_order(get_session(), _user(), order),
    ), status


@bp.get("/<int:order_id>")
@signed_in
def order(order_id: int) -> ResponseReturnValue:
    return _order_page(_order_or_404(order_id))


@bp.post("/<int:order_id>/reorder")
@roles(*ORDERERS)
def reorder(order_id: int) -> ResponseReturnValue:
    session = get_session()
    order = _order_or_404(order_id)
    try:
        with session.begin_nested():  # a refusal leaves nothing behind the redirect
            said = services.reorder(session, _user(), order)
    except services.OrderError as exc:
        flash(exc.message, "error")
        return redirect(url_for("orders.order", order_id=order_id))
    flash(
        f"{'; '.join(said)}. Resolved again as the catalogue says today: check the report.",
        "success",
    )
    return redirect(url_for("orders.cart"))


@bp.post("/<int:order_id>/cancel")
@signed_in
def cancel(order_id: int) -> ResponseReturnValue:
    session = get_session()
    order = _order_or_404(order_id)
    try:
        with session.begin_nested():  # a refusal leaves nothing behind the redirect
            services.cancel(session, order)
    except services.OrderError as exc:
        flash(exc.message, "error")
        return redirect(url_for("orders.order", order_id=order_id))
    flash("Cancelled: reserved stock went back.", "success")
    return redirect(url_for("orders.order", order_id=order_id))


@bp.post("/<int:order_id>/returns")
@roles(*ORDERERS)
@form_page
def request_return(order_id: int) -> ResponseReturnValue:
    order = _order_or_404(order_id)
    services.may_return(_user(), order)
    form = ReturnForm()
    if not form.validate():
        messages = [
            f"{form[name].label.text}: {' '.join(errs)}"
            for name, errs in form.errors.items()
            if name in form
        ]
        return _order_page(
            order,
            return_form=form,
            problem="; ".join(messages) or "Check the return.",
            status=form.status,
        )
    if not (form.item.data or "").isdecimal():
        return _order_page(
            order, return_form=form, problem="Choose the part to return.", status=422
        )
    session = get_session()
    try:
        made = services.request_return(
            session,
            order,
            int(form.item.data or 0),
            quantity=form.quantity.data or 1,
            reason=form.reason.data or "",
            note=form.note.data or "",
            model_number=form.model_number.data,
            by=_user().email,
        )
    except services.OrderError as exc:
        return _order_page(order, return_form=form, problem=exc.message, status=422)
    if made.erratum_id:
        flash(
            "Return accepted: catalogue errors always are. The engineers have the report "
            "to correct the catalogue.",
            "success",
        )
    else:
        flash("Return requested: you will see the decision here.", "success")
    return redirect(url_for("orders.order", order_id=order_id))


@bp.post("/<int:order_id>/status")
@roles(Role.ADMIN)
@form_page
def change_status(order_id: int) -> ResponseReturnValue:
    session = get_session()
    order = _order_or_404(order_id)
    form = StatusForm()
    if form.validate():
        try:
            with session.begin_nested():  # a refusal leaves nothing behind the redirect
                services.set_status(
                    session, order, form.new_status.data or "", seen=form.seen.data or None
                )
        except services.OrderError as exc:
            flash(exc.message, "error")
            return redirect(url_for("orders.order", order_id=order_id))
        flash(f"Order {order_id} is {order.status}.", "success")
    return redirect(url_for("orders.order", order_id=order_id))


@bp.get("/returns")
@roles(Role.ADMIN, Role.CENTRE_MANAGER)
def returns() -> ResponseReturnValue:
    """Admins decide every return; a centre manager follows the centre's."""
    return render_template(
        "orders/returns.html",
        returns=services.open_returns(get_session(), _user()),
        can_decide=policy.may_decide_return(services.person_of(_user())),
        form=DecisionForm(formdata=None),
        reasons=RETURN_REASONS,
    )


@bp.post("/returns/<int:return_id>")
@roles(Role.ADMIN)
@form_page
def decide(return_id: int) -> ResponseReturnValue:
    form = DecisionForm()
    session = get_session()
    if form.validate():
        try:
            with session.begin_nested():  # a refusal leaves nothing behind the redirect
                services.decide_return(
                    session,
                    return_id,
                    decision=form.decision.data or "",
                    note=form.note.data or "",
                    by=_user().email,
                )
        except services.OrderError as exc:
            flash(exc.message, "error")
            return redirect(url_for("orders.returns"))
        flash("Decision recorded.", "success")
    return redirect(url_for("orders.returns"))


@bp.post("/<int:order_id>/repair")
@roles(*repair_policy.REPAIRERS)
def attach_to_repair(order_id: int) -> ResponseReturnValue:
    """Make the order part of the repair its page offered (``repair``: the reference)."""
    session = get_session()
    order = _order_or_404(order_id)
    reference = (request.form.get("repair") or "").strip()[:20]
    try:
        with session.begin_nested():  # nothing of a refused attach is kept behind the redirect
            repair = repairs.repair_to_work_on(session, signed_in_user(), reference)
            repairs.attach(session, repair, kind=LinkKind.ORDER, ref=str(order.id), by=_user())
    except AppError as exc:
        flash(exc.message, "error")
    else:
        flash(f"Order {order.id} is part of {repair.reference} now.", "success")
    return redirect(url_for("orders.order", order_id=order_id))
