"""The warranty pages' forms: they check shape; the warranty core checks meaning."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import (
    DateField,
    DecimalField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms import Form as PlainForm
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2; not in its stubs yet
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.forms import Form

AMOUNT = "An amount such as 12.50."


class PartLineForm(PlainForm):
    """One part line of a claim: which part, and the serials of the old and the new part."""

    part_number = HiddenField(validators=[DataRequired(), Length(max=40)])
    quantity = HiddenField(validators=[DataRequired(), Length(max=4)])
    faulty_serial = StringField("Faulty serial", validators=[Optional(), Length(max=40)])
    replacement_serial = StringField("Replacement serial", validators=[Optional(), Length(max=40)])


class ClaimForm(Form):
    # Choices are the labour codes in effect at the repair's date, set by the view.
    labour_code = SelectField("Labour code", validators=[DataRequired()], validate_choice=True)
    fault = StringField(
        "Fault (symptom code)",
        validators=[Optional(), Length(max=20)],
        description="The symptom code claimed for; the repair's own by default.",
    )
    travel = StringField(
        "Travel",
        validators=[Optional(), Length(max=12)],
        description="An amount such as 12.50, for a repair at the customer's.",
    )
    faulty_serial = StringField(
        "Faulty serial",
        validators=[Optional(), Length(max=40)],
        description="The unit's serial by default; for an exchanged unit, the defective one.",
    )
    replacement_serial = StringField(
        "Replacement serial",
        validators=[Optional(), Length(max=40)],
        description="The serial of the unit or board fitted in its place.",
    )
    parts = FieldList(FormField(PartLineForm), min_entries=0, max_entries=100)
    # The version the page showed: an edit is decided on it.
    version = HiddenField(validators=[Optional(), Length(max=10)])


class SubmitForm(Form):
    version = HiddenField(validators=[DataRequired(), Length(max=10)])


DECISION_CHOICES = [
    SelectChoice("approve", "Approve"),
    SelectChoice("reject", "Reject"),
    SelectChoice("needs_information", "Needs information"),
]


class DecisionForm(Form):
    decision = SelectField("Decision", choices=DECISION_CHOICES, validators=[DataRequired()])
    reason = TextAreaField(
        "Reason",
        validators=[Optional(), Length(max=4000)],
        description="Required to reject or to ask for information: the centre reads it.",
    )


class BatchForm(Form):
    # Choices are the service centres, set by the view.
    centre = SelectField("Service centre", validators=[DataRequired()], validate_choice=True)
    period_from = DateField("Approved from", validators=[InputRequired()])
    period_to = DateField("Approved to", validators=[InputRequired()])


class RateForm(Form):
    code = StringField("Labour code", validators=[DataRequired(), Length(max=20)])
    product_line = StringField("Product line", validators=[DataRequired(), Length(max=40)])
    repair_kind = StringField("Kind of repair", validators=[DataRequired(), Length(max=80)])
    amount = DecimalField(
        "Amount", places=2, validators=[InputRequired(message=AMOUNT), NumberRange(min=0)]
    )
    effective_on = DateField("Effective from", validators=[InputRequired()])


class TermForm(Form):
    product_line = StringField(
        "Product line", validators=[Optional(), Length(max=40)], description="TV, Camera..."
    )
    model_pattern = StringField(
        "Model pattern",
        validators=[Optional(), Length(max=80)],
        description="Or models matching a glob, such as KDL-32*: it wins over the line's term.",
    )
    parts_months = IntegerField(
        "Parts (months)", validators=[InputRequired(), NumberRange(min=0, max=120)]
    )
    labour_months = IntegerField(
        "Labour (months)", validators=[InputRequired(), NumberRange(min=0, max=120)]
    )


class CoverageForm(Form):
    file = FileField("Coverage file (CSV)", validators=[FileRequired("Choose the CSV file.")])


class ProofForm(Form):
    proof = FileField(
        "Proof of purchase",
        validators=[FileRequired("Choose the receipt or invoice.")],
        description="The receipt or invoice: PDF, JPEG or PNG.",
    )


class ButtonForm(Form):
    """A button: only the CSRF token."""
