"""The base of every form: CSRF from Flask-WTF, and input that can be stored.

A form that fails, for any reason including an expired CSRF token, re-renders with everything that
was typed; an expired token is reported as a message on the form, never as a bare error page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flask_wtf import FlaskForm
from wtforms import Field

from app.storable import CONTROL

CSRF_MESSAGE = (
    "This form had expired (you may have been away a while or signed in again). Everything you "
    "typed is still here: check it and submit again."
)
CONTROL_MESSAGE = (
    "Contains a control character (such as NUL, \\0), which cannot be stored: it was removed "
    "here, check the text and submit again."
)


class Form(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no type information
    def validate(self, extra_validators: Mapping[str, Sequence[Any]] | None = None) -> bool:
        is_valid = bool(super().validate(extra_validators=extra_validators))
        for field in self:
            if isinstance(field.data, str) and CONTROL.search(field.data):
                field.data = CONTROL.sub("", field.data)
                field.errors = [*field.errors, CONTROL_MESSAGE]
                is_valid = False
        return is_valid

    @property
    def status(self) -> int:
        """The status of a page that shows this form: 422 when a submission came back."""
        return 422 if self.is_submitted() else 200

    @property
    def form_errors_all(self) -> list[str]:
        """Errors that belong to the form rather than one visible field."""
        errors = list(self.form_errors)
        csrf: Field | None = getattr(self, "csrf_token", None)
        if csrf is not None and csrf.errors:
            errors.append(CSRF_MESSAGE)
        return errors
