from __future__ import annotations

from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from app.forms import Form


class LoginForm(Form):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])
    remember = BooleanField("Keep me signed in on this device")


class LogoutForm(Form):
    pass


class _NewPassword:
    password = PasswordField(
        "New password",
        validators=[DataRequired(), Length(max=1024)],
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")],
    )


class ChangePasswordForm(_NewPassword, Form):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=1024)])


class ForgotPasswordForm(Form):
    # Only looked up, never validated further: any address that has an account may reset.
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])


class ResetPasswordForm(_NewPassword, Form):
    pass


class AcceptInvitationForm(_NewPassword, Form):
    name = StringField("Your name", validators=[DataRequired(), Length(max=120)])
