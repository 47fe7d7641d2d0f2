"""The repair pages' forms: they check shape; the repairs core checks meaning."""

from __future__ import annotations

from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2; not in its stubs yet
from wtforms.validators import DataRequired, Length, Optional

from app.forms import Form
from app.repairs.models import LinkKind, RepairStatus
from app.repairs.services import MAX_COMPLAINT

CUSTOMER_HINT = "Seen only by your centre."


class RepairForm(Form):
    # One repair per rendering of the form, however often it is submitted (a double click).
    key = HiddenField(validators=[Optional(), Length(max=80)])
    model_number = StringField(
        "Model number",
        validators=[DataRequired(), Length(max=40)],
        description="From the rating plate, in any spelling: KDL-55W800C, kdl55w800c.",
    )
    serial = StringField("Serial number", validators=[DataRequired(), Length(max=40)])
    purchase_date = DateField(
        "Purchase date",
        validators=[Optional()],
        description="From the receipt, if the customer has it.",
    )
    complaint = TextAreaField(
        "Customer complaint",
        validators=[DataRequired(), Length(max=MAX_COMPLAINT)],
        description="What the customer reports, in their words.",
    )
    # Choices are the codes in use, set by the view.
    symptom_code = SelectField("Symptom code", validators=[Optional()], validate_choice=True)
    customer_name = StringField(
        "Customer name", validators=[Optional(), Length(max=120)], description=CUSTOMER_HINT
    )
    customer_contact = StringField(
        "Customer contact",
        validators=[Optional(), Length(max=200)],
        description=f"Phone or email. {CUSTOMER_HINT}",
    )


class StatusForm(Form):
    # Posted as "status"; named apart from ``Form.status`` (the status of the page it is on).
    new_status = SelectField(
        "New status",
        name="status",
        choices=[SelectChoice(s.value, s.label) for s in RepairStatus],
    )
    # The status the page showed: the change is decided on it (compare-and-set).
    seen = HiddenField(validators=[Optional(), Length(max=20)])
    note = StringField("Why (optional)", validators=[Optional(), Length(max=500)])


class DiagnoseForm(Form):
    tree = SelectField("Tree", validators=[DataRequired()], validate_choice=False)


class AttachForm(Form):
    kind = SelectField(
        "What",
        choices=[
            SelectChoice(LinkKind.WALK.value, "Walk (its id)"),
            SelectChoice(LinkKind.ORDER.value, "Order (its number)"),
            SelectChoice(LinkKind.TICKET.value, "Escalation (ESC-...)"),
        ],
        validators=[DataRequired()],
    )
    ref = StringField("Number", validators=[DataRequired(), Length(max=40)])


class NoteForm(Form):
    text = TextAreaField("Note", validators=[DataRequired(), Length(max=MAX_COMPLAINT)])


class ButtonForm(Form):
    """A button: only the CSRF token."""
