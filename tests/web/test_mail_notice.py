"""Without an SMTP server nothing is mailed: signed-in staff are told so on every page, the
portal invitation does not claim to be sent, and the public pages say nothing about it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from escalate import bootstrap
from escalate.accounts.models import Contact
from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.settings import Settings
from escalate.web.app import create_app

NOTICE = "E-mail is not configured (ESCALATE_SMTP_HOST): nothing is mailed from this server"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(text: str) -> str:
    match = CSRF.search(text)
    assert match
    return unescape(match.group(1))


def _log_in(client: TestClient, email: str) -> None:
    form = client.get("/login").text
    data = {"email": email, "password": "correct horse battery", "csrf_token": _csrf(form)}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303


@pytest.fixture
def mailing_client(settings: Settings, clock: FrozenClock) -> Iterator[TestClient]:
    """The app with an SMTP server configured (nothing here is delivered)."""
    built = bootstrap.build(settings.model_copy(update={"smtp_host": "127.0.0.1"}), clock=clock)
    with TestClient(create_app(built)) as client:
        yield client
    built.dispose()


def _invite(client: TestClient, container: Container, account_id: int) -> str:
    with container.session_factory() as session:
        contact_id = session.scalars(
            select(Contact.id).where(Contact.account_id == account_id, Contact.email.is_not(None))
        ).first()
    page = client.get(f"/accounts/{account_id}")
    sent = client.post(
        f"/accounts/{account_id}/contacts/{contact_id}/portal-invite",
        data={"csrf_token": _csrf(page.text)},
    )
    assert sent.status_code == 200
    return sent.text


def test_without_smtp_staff_are_told_and_the_invite_is_not_called_sent(
    client: TestClient, container: Container, make_user, make_account
) -> None:
    for public in ("/login", "/status", "/status/feed.atom", "/portal/login", "/status/nope"):
        assert NOTICE not in client.get(public).text, public
    manager = make_user(Role.MANAGER)
    _log_in(client, manager.email)
    assert NOTICE in client.get("/").text
    assert NOTICE in client.get("/incidents").text
    assert NOTICE not in client.get("/status").text  # public, even for a signed-in person
    shown = _invite(client, container, make_account("Acme"))
    assert "Portal invitation created but not sent" in shown
    assert "Portal invitation sent." not in shown


def test_with_smtp_there_is_no_notice_and_the_invite_is_sent(
    mailing_client: TestClient, container: Container, make_user, make_account
) -> None:
    manager = make_user(Role.MANAGER)
    _log_in(mailing_client, manager.email)
    assert NOTICE not in mailing_client.get("/").text
    shown = _invite(mailing_client, container, make_account("Acme"))
    assert "Portal invitation sent." in shown
