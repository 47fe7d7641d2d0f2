from __future__ import annotations

from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from app.forms import Form


class InviteForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    role = SelectField("Role", validators=[DataRequired()])
    centre = SelectField("Service centre", coerce=int, validate_choice=True)


class CentreForm(Form):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
