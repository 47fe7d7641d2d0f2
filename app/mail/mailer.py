"""Mail written from templates and queued in the caller's transaction: the Flask-free half of
sending mail, given to services as a settings value (``Settings.mail``).

Links in mail are built on ``BASE_URL``, never on a request's Host header: anyone can send a
request naming another host, and a password-reset link pointing there would hand it the token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, TemplateNotFound
from sqlalchemy.orm import Session

from app.mail.models import OutboxMessage
from app.mail.outbox import enqueue


@dataclass(frozen=True)
class Mailer:
    """What a service needs to write mail.

    :param base_url: the portal's public address, e.g. ``https://portal.example``.
    :param templates: the environment that holds ``mail/<name>.txt`` (with the portal's filters).
    :param link: an absolute address for an endpoint and its values, on ``base_url``.
    """

    base_url: str
    templates: Environment
    link: Callable[..., str]

    @property
    def domain(self) -> str:
        """The domain of Message-IDs: the portal's own host name."""
        return urlsplit(self.base_url).hostname or "benchside.local"

    def render(self, template: str, **context: Any) -> str:
        return self.templates.get_template(f"mail/{template}.txt").render(**context)

    def render_html(self, template: str, **context: Any) -> str | None:
        """``mail/<template>.html`` (escaped as a page is), or None where the mail is text only."""
        try:
            found = self.templates.get_template(f"mail/{template}.html")
        except TemplateNotFound:
            return None
        return found.render(**context)

    def queue(
        self,
        session: Session,
        *,
        to: str,
        subject: str,
        template: str,
        reply_to: str | None = None,
        **context: Any,
    ) -> OutboxMessage:
        """Render ``mail/<template>.txt`` (and ``.html`` beside it, where there is one) and add
        it to the outbox, in the session's transaction: it goes out only if the transaction
        commits."""
        body = self.render(template, **context)
        return enqueue(
            session,
            to=to,
            subject=subject,
            body=body,
            domain=self.domain,
            reply_to=reply_to,
            body_html=self.render_html(template, **context),
        )
