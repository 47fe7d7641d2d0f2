from __future__ import annotations

from wtforms import HiddenField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2; not in its stubs yet
from wtforms.validators import DataRequired, Length, Optional

from app.forms import Form


class EscalationForm(Form):
    key = HiddenField(validators=[Optional(), Length(max=80)])
    diagnostic_session = HiddenField(validators=[Optional(), Length(max=32)])
    subject = StringField("Subject", validators=[DataRequired(), Length(max=200)])
    category = SelectField("Category", validators=[DataRequired()])
    model_number = StringField("Model number", validators=[DataRequired(), Length(max=40)])
    serial = StringField("Serial number", validators=[Optional(), Length(max=40)])
    priority = SelectField(
        "Priority",
        choices=[
            SelectChoice("normal", "Normal"),
            SelectChoice("urgent", "Urgent (a customer is waiting)"),
        ],
        default="normal",
    )
    description = TextAreaField(
        "What happens, and what you tried",
        validators=[DataRequired(), Length(max=20_000)],
        description="The more you say, the fewer questions come back. Measurements help.",
    )


class ReplyForm(Form):
    text = TextAreaField("Message", validators=[DataRequired(), Length(max=20_000)])
    action = HiddenField(default="reply")
