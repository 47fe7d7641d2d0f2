from __future__ import annotations

from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.forms import Form


class SynonymForm(Form):
    words = StringField(
        "What technicians type",
        validators=[DataRequired(), Length(max=80)],
        description="A word or phrase, e.g. power supply, wifi.",
    )
    means = StringField(
        "What the catalogue calls it",
        validators=[DataRequired(), Length(max=120)],
        description="Words from part descriptions, e.g. power board, wireless lan module.",
    )


class DeleteForm(Form):
    """A button: only the CSRF token."""
