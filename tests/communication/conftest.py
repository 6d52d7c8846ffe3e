"""Fixtures of the communication tests: a real SMTP inbox on loopback and settings that
point the outbox's e-mail channel at it (the pattern of tests/notify/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from comms_support import SmtpInbox, run_smtp_inbox

from escalate.settings import Settings


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[int, SmtpInbox]]:
    yield from run_smtp_inbox()


@pytest.fixture
def settings(settings: Settings, smtp_inbox: tuple[int, SmtpInbox]) -> Settings:
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_inbox[0],
            "mail_from": "status@escalate.example",
            "notify_timeout_seconds": 5.0,
        }
    )


@pytest.fixture
def inbox(smtp_inbox: tuple[int, SmtpInbox]) -> SmtpInbox:
    return smtp_inbox[1]
