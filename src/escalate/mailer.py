"""Outgoing mail over SMTP (the standard library's smtplib speaks it fully)."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import EmailMessage

from escalate.settings import Settings

SMTP_TIMEOUT_SECONDS = 30


class MailNotConfigured(RuntimeError):
    """ESCALATE_SMTP_HOST is not set."""


def send(settings: Settings, *, to: Sequence[str], subject: str, text: str) -> None:
    """Send one plain-text message; raises on any SMTP failure so a job retries it."""
    if not settings.smtp_host:
        raise MailNotConfigured("ESCALATE_SMTP_HOST is not set")
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content(text)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        smtp.send_message(message)
