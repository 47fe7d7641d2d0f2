from __future__ import annotations

from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # new in WTForms 3.2; not in its stubs yet
from wtforms.validators import DataRequired, Length, Optional

from app.forms import Form

SCHEMES = [
    SelectChoice("blink", "Standby LED blinks (count)"),
    SelectChoice("error", "Error code on screen (e.g. E61)"),
    SelectChoice("display", "Front display message"),
]


class CodeForm(Form):
    scheme = SelectField("Kind of code", choices=SCHEMES, default="blink")
    value = StringField(
        "Code",
        validators=[DataRequired(), Length(max=30)],
        description="The number of blinks (6), the error code without its trailing zeros "
        "(E:61:00 is E61), or the message shown (PROTECT).",
    )
    model = StringField(
        "Model number",
        validators=[DataRequired(), Length(max=40)],
        description="From the rating plate, in any spelling: KDL-55W800C, kdl55w800c.",
    )
    serial = StringField("Serial number", validators=[Optional(), Length(max=40)])


class StartForm(Form):
    """Start a chosen tree (from the model's list or a symptom search)."""

    tree = StringField(validators=[DataRequired(), Length(max=80)])
    model = StringField(validators=[Optional(), Length(max=40)])
    serial = StringField(validators=[Optional(), Length(max=40)])


class AnswerForm(Form):
    node = StringField(validators=[Optional(), Length(max=80)])  # the question this answers
    option = StringField(validators=[Optional(), Length(max=200)])
    value = StringField("Measured value", validators=[Optional(), Length(max=30)])
    # The value the technician confirms after re-measuring (a value outside the plausible
    # range): it confirms that value only, not whatever is typed next.
    confirm_implausible = StringField(validators=[Optional(), Length(max=30)])
    proceed = BooleanField()

    def confirms_value(self) -> bool:
        """Whether the confirmation box was ticked for the value sent with it."""
        confirmed, typed = self.confirm_implausible.data, self.value.data
        if not confirmed or not typed:
            return False
        try:
            return _number(confirmed) == _number(typed)
        except ValueError:
            return False


def _number(text: str) -> float:
    return float(text.strip().replace(",", "."))


class FeedbackForm(Form):
    fixed = SelectField(
        "Did this fix it?",
        choices=[SelectChoice("yes", "Yes, it works"), SelectChoice("no", "No, still faulty")],
    )
    note = TextAreaField("Anything the engineers should know", validators=[Length(max=2000)])


class ButtonForm(Form):
    """A button: only the CSRF token."""
