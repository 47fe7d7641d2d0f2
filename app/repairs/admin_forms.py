"""Forms of the approvers' and keepers' pages (shape only; the cores judge meaning)."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    RadioField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2; not in its stubs yet
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.forms import Form


class ButtonForm(Form):
    """A button: only the CSRF token."""


class DecisionForm(Form):
    decision = RadioField(
        "Decision",
        choices=[
            SelectChoice("approve", "Approve the exchange"),
            SelectChoice("refuse", "Refuse it"),
        ],
        validators=[InputRequired(message="Approve or refuse.")],
    )
    note = TextAreaField(
        "Reason",
        validators=[Optional(), Length(max=2000)],
        description="Required to refuse: the centre reads it.",
    )


class CodeForm(Form):
    code = StringField(
        "Code",
        validators=[DataRequired(), Length(max=20)],
        description="Letters, digits and dashes, e.g. NOPWR. It cannot be changed later.",
    )
    description = StringField(
        "What the customer reports", validators=[DataRequired(), Length(max=200)]
    )
    product_line = StringField(
        "Product line",
        validators=[Optional(), Length(max=40)],
        description="Empty: offered for every product.",
    )


class CodeEditForm(Form):
    description = StringField(
        "What the customer reports", validators=[DataRequired(), Length(max=200)]
    )
    product_line = StringField(
        "Product line",
        validators=[Optional(), Length(max=40)],
        description="Empty: offered for every product.",
    )


class RuleForm(Form):
    product_line = StringField(
        "Product line",
        validators=[Optional(), Length(max=40)],
        description="TV, say. Give a product line or a model pattern.",
    )
    model_pattern = StringField(
        "Model pattern",
        validators=[Optional(), Length(max=80)],
        description="A model or a glob (KDL-32*); it wins over its product line's rule.",
    )
    eligible = BooleanField("In the exchange programme", default=True)
    value = DecimalField(
        "Exchange value",
        places=2,
        validators=[Optional(), NumberRange(min=0)],
        description="Empty: the catalogue's exchange value of the model.",
    )
    exchange_only = BooleanField("Exchange only: these units are never repaired")
    auto_approve = BooleanField(
        "Approve at once when the repair costs more than the value", default=True
    )
    advance = BooleanField("Advance exchange: the replacement ships before the unit returns")
    core_charge = DecimalField(
        "Core charge",
        places=2,
        validators=[Optional(), NumberRange(min=0)],
        description="Charged if the defective unit is not back by its due date.",
    )
    return_days = IntegerField(
        "Days to return the defective unit",
        default=15,
        validators=[InputRequired(message="Give a number of days."), NumberRange(1, 365)],
    )
    note = TextAreaField("Note", validators=[Optional(), Length(max=2000)])
