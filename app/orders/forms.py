from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField
from wtforms import BooleanField, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2; not in its stubs yet
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.forms import Form
from app.orders.models import RETURN_REASONS, STATUSES, OrderKind, ReturnStatus


class AddForm(Form):
    number = StringField(
        "Part number", validators=[DataRequired(), Length(max=40)], description="Any spelling."
    )
    quantity = IntegerField("Quantity", default=1, validators=[DataRequired(), NumberRange(1, 999)])
    back = HiddenField()
    # From the part page: the unit's serial it was narrowed down to, and the confirmed condition.
    serial = HiddenField(validators=[Optional(), Length(max=40)])
    acknowledge = BooleanField("The condition applies to this unit")


class PasteForm(Form):
    text = TextAreaField(
        "Paste a list",
        validators=[Optional(), Length(max=20000)],
        description="One part a line: number, quantity (or just the number for one).",
    )
    file = FileField(
        "or upload a CSV or text file",
        validators=[FileAllowed(["csv", "txt"], "A .csv or .txt file.")],
    )
    # From a diagnostic fix: the unit's serial, which decides ranged replacements.
    serial = HiddenField(validators=[Optional(), Length(max=40)])


class PlaceForm(Form):
    # One order per rendering of the cart, however often it is submitted.
    key = HiddenField(validators=[Optional(), Length(max=80)])
    reference = StringField("Your reference", validators=[Optional(), Length(max=80)])
    kind = SelectField(
        "Order type",
        choices=[
            SelectChoice(OrderKind.PAID.value, "Paid"),
            SelectChoice(OrderKind.WARRANTY.value, "Warranty"),
        ],
        default=OrderKind.PAID.value,
    )
    job = StringField(
        "Warranty job or serial",
        validators=[Optional(), Length(max=80)],
        description="Required for a warranty order.",
    )


class SerialForm(Form):
    serial = StringField("Serial number", validators=[DataRequired(), Length(max=40)])


class ReturnForm(Form):
    item = HiddenField(validators=[DataRequired()])
    quantity = IntegerField("Quantity", default=1, validators=[DataRequired(), NumberRange(1, 999)])
    reason = SelectField(
        "Reason", choices=[SelectChoice(k.value, v) for k, v in RETURN_REASONS.items()]
    )
    model_number = StringField(
        "Model it was listed for (required for a catalogue error)",
        validators=[Optional(), Length(max=40)],
    )
    note = TextAreaField("Note", validators=[Length(max=2000)])


class StatusForm(Form):
    # Posted as "status"; named apart from ``Form.status`` (the status of the page it is on).
    new_status = SelectField(
        "Status", name="status", choices=[SelectChoice(s.value, s.value) for s in STATUSES]
    )
    # The status the page showed: the change is decided on it (compare-and-set).
    seen = HiddenField(validators=[Optional(), Length(max=12)])


class DecisionForm(Form):
    decision = SelectField(
        "Decision",
        choices=[
            SelectChoice(ReturnStatus.ACCEPTED.value, "Accept"),
            SelectChoice(ReturnStatus.REFUSED.value, "Refuse"),
            SelectChoice(ReturnStatus.CREDITED.value, "Credit"),
        ],
    )
    note = StringField("Reason or note", validators=[Length(max=500)])


class ButtonForm(Form):
    """A button: only the CSRF token."""
