"""Inviting a contact to the portal: only a contact of that account, only with an e-mail;
the mailed link is single-use and expires after 7 days."""

from __future__ import annotations

import re
from datetime import timedelta

from comms_support import (
    SmtpInbox,
    build_world,
    count,
    csrf_of,
    drain,
    make_customer,
    portal_login,
)
from fastapi.testclient import TestClient

from escalate.auth.models import CustomerUser, Role
from escalate.bootstrap import Container
from escalate.clock import FrozenClock

INVITE = re.compile(r"https?://[^/\s]+(/portal/invite/[A-Za-z0-9_\-]+)")


def _invite_path(client, headers, account_id: int, contact_id: int) -> str:
    return f"/api/v1/accounts/{account_id}/contacts/{contact_id}/portal-invite"


def test_only_a_contact_of_the_account_can_be_invited(
    client: TestClient, container: Container, admin_headers, make_token
) -> None:
    world = build_world(container)
    acme, globex = world.accounts["Acme"], world.accounts["Globex"]
    gus = next(c for e, c in world.contacts.items() if "@globex" in e)
    refused = client.post(_invite_path(client, admin_headers, acme, gus), headers=admin_headers)
    assert refused.status_code == 404
    assert (
        client.post(
            _invite_path(client, admin_headers, globex, gus), headers=make_token(Role.RESPONDER)
        ).status_code
        == 403
    )
    assert count(container, CustomerUser) == 0
    done = client.post(_invite_path(client, admin_headers, globex, gus), headers=admin_headers)
    assert done.status_code == 201
    assert done.json()["account_id"] == globex


def test_the_link_expires_after_seven_days_and_a_new_invite_replaces_it(
    client: TestClient,
    container: Container,
    admin_headers,
    inbox: SmtpInbox,
    clock: FrozenClock,
) -> None:
    world = build_world(container)
    email = next(e for e in world.notified if "@acme" in e)
    path = _invite_path(client, admin_headers, world.accounts["Acme"], world.contacts[email])
    assert client.post(path, headers=admin_headers).status_code == 201
    drain(container)
    first = INVITE.search(inbox.text_to(email))
    assert first
    clock.advance(timedelta(days=7, seconds=1))
    assert client.get(first.group(1)).status_code == 404
    inbox.messages.clear()
    assert client.post(path, headers=admin_headers).status_code == 201
    drain(container)
    second = INVITE.search(inbox.text_to(email))
    assert second and second.group(1) != first.group(1)
    page = client.get(second.group(1))
    assert page.status_code == 200
    short = client.post(
        second.group(1),
        data={"password": "short", "password_again": "short", "csrf_token": csrf_of(page.text)},
    )
    assert short.status_code == 422 and "8 characters" in short.text
    assert client.get(second.group(1)).status_code == 200  # still usable after a refusal


def test_setting_the_password_through_the_link_signs_the_contact_in(
    client: TestClient, container: Container, admin_headers, inbox: SmtpInbox
) -> None:
    world = build_world(container)
    email = next(e for e in world.notified if "@globex" in e)
    path = _invite_path(client, admin_headers, world.accounts["Globex"], world.contacts[email])
    assert client.post(path, headers=admin_headers).status_code == 201
    drain(container)
    link = INVITE.search(inbox.text_to(email))
    assert link
    form = client.get(link.group(1))
    done = client.post(
        link.group(1),
        data={
            "password": "a long portal password",
            "password_again": "a long portal password",
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert (done.status_code, done.headers["location"]) == (303, "/portal")
    overview = client.get("/portal", follow_redirects=False)
    assert overview.status_code == 200 and "Incidents affecting" in overview.text
    assert client.get(link.group(1)).status_code == 404  # the link is spent


def test_a_forgotten_password_is_reset_through_a_mailed_link(
    client: TestClient,
    container: Container,
    inbox: SmtpInbox,
    clock: FrozenClock,
) -> None:
    world = build_world(container)
    email = next(e for e in world.notified if "@acme" in e)
    make_customer(container, account_id=world.accounts["Acme"], contact_id=world.contacts[email])

    def ask(address: str) -> None:
        form = client.get("/portal/forgot")
        assert form.status_code == 200
        answer = client.post(
            "/portal/forgot",
            data={"email": address, "csrf_token": csrf_of(form.text)},
            follow_redirects=False,
        )
        assert (answer.status_code, answer.headers["location"]) == (303, "/portal/forgot?sent=1")

    drain(container)  # the first invitation
    inbox.messages.clear()
    clock.advance(timedelta(hours=1))
    ask("nobody@nowhere.example")  # the same answer, and nothing is mailed
    ask(email.upper())
    ask(email)  # asked again at once: no second mail
    drain(container)
    assert [m["To"] for m in inbox.messages] == [email]
    link = INVITE.search(inbox.text_to(email))
    assert link
    form = client.get(link.group(1))
    done = client.post(
        link.group(1),
        data={
            "password": "my new portal password",
            "password_again": "my new portal password",
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert (done.status_code, done.headers["location"]) == (303, "/portal")
    client.cookies.clear()
    portal_login(client, email, "my new portal password")
    assert count(container, CustomerUser) == 1


def test_the_account_page_shows_portal_access_and_the_accounts_incidents(
    client: TestClient, container: Container, make_user
) -> None:
    world = build_world(container, title="Checkout API errors")
    email = next(e for e in world.notified if "@acme" in e)
    make_customer(container, account_id=world.accounts["Acme"], contact_id=world.contacts[email])
    user = make_user(Role.MANAGER)
    login = client.get("/login")
    client.post(
        "/login",
        data={
            "email": user.email,
            "password": "correct horse battery",
            "csrf_token": csrf_of(login.text),
        },
    )
    page = client.get(f"/accounts/{world.accounts['Acme']}")
    assert page.status_code == 200
    assert "Portal: active since" in page.text and "Mail a new portal link" in page.text
    assert "Invite to portal" in page.text  # the other contacts
    assert f"#{world.incident_number} Checkout API errors" in page.text
    umbrella = client.get(f"/accounts/{world.accounts['Umbrella']}").text
    assert "No incident has affected this account." in umbrella
