"""Outgoing mail over SMTP (the standard library's smtplib speaks it fully)."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formatdate

from escalate.settings import Settings

SMTP_TIMEOUT_SECONDS = 30


class MailNotConfigured(RuntimeError):
    """ESCALATE_SMTP_HOST is not set."""


def send(
    settings: Settings,
    *,
    to: Sequence[str],
    subject: str,
    text: str,
    message_id: str | None = None,
    timeout: float = SMTP_TIMEOUT_SECONDS,
) -> None:
    """Send one plain-text message; raises on any SMTP failure so a job retries it.

    A stable `message_id` lets receivers recognise a resend of the same message."""
    if not settings.smtp_host:
        raise MailNotConfigured("ESCALATE_SMTP_HOST is not set")
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    if message_id is not None:
        message["Message-ID"] = message_id
    message.set_content(text)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=timeout) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password or "")
        smtp.send_message(message)
