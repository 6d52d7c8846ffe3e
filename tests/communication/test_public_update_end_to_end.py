"""Issue 5's check, on both engines: one public status update reaches, by real SMTP on
loopback, every notification contact of every affected account and the status page's
confirmed subscribers, and no one else; it appears in each affected customer's portal, on
the status page and in its Atom feed. The portal invitation itself travels by mail too."""

from __future__ import annotations

import re
from xml.etree import ElementTree

from comms_support import (
    SmtpInbox,
    World,
    build_world,
    csrf_of,
    drain,
    make_group,
    portal_login,
    subscribe_confirmed,
)
from fastapi.testclient import TestClient

from escalate.bootstrap import Container
from escalate.web.app import create_app

ATOM = "{http://www.w3.org/2005/Atom}"
INVITE = re.compile(r"https?://[^/\s]+(/portal/invite/[A-Za-z0-9_\-]+)")
UNSUBSCRIBE = re.compile(r"https?://[^/\s]+(/status/unsubscribe/[A-Za-z0-9_.\-]+)")


def _accept_invite_from_mail(client: TestClient, inbox: SmtpInbox, email: str) -> None:
    path = INVITE.search(inbox.text_to(email))
    assert path, "no invite link in the mail"
    page = client.get(path.group(1))
    assert page.status_code == 200, page.text
    done = client.post(
        path.group(1),
        data={
            "password": "portal password 1",
            "password_again": "portal password 1",
            "csrf_token": csrf_of(page.text),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    # Single use: the same link opens nothing a second time.
    assert client.get(path.group(1)).status_code == 404


def _invite(client: TestClient, headers, world: World, account: str, email: str) -> None:
    response = client.post(
        f"/api/v1/accounts/{world.accounts[account]}/contacts/{world.contacts[email]}"
        "/portal-invite",
        headers=headers,
    )
    assert response.status_code == 201, response.text


def test_one_public_update_reaches_everyone_it_should_and_no_one_else(
    client: TestClient, container: Container, admin_headers, inbox: SmtpInbox
) -> None:
    world = build_world(container, title="INTERNAL-TITLE checkout pods OOM")
    make_group(container, name="Shop", slug="shop", service_ids=[world.service_id])
    subscribe_confirmed(container, "fan@public.example", slug="shop")
    acme_contact = next(e for e in world.notified if "@acme" in e)
    globex_contact = next(e for e in world.notified if "@globex" in e)
    for account, email in (("Acme", acme_contact), ("Globex", globex_contact)):
        _invite(client, admin_headers, world, account, email)
    drain(container)
    for email in (acme_contact, globex_contact):
        _accept_invite_from_mail(client, inbox, email)
    inbox.messages.clear()

    posted = client.post(
        f"/api/v1/incidents/{world.incident_id}/updates",
        headers=admin_headers,
        json={
            "kind": "investigating",
            "audience": "public",
            "message": "PUBLIC-TEXT: checkouts fail for some customers; we are on it.",
        },
    )
    assert posted.status_code == 201, posted.text
    assert drain(container) == len(world.notified) + 1

    assert inbox.recipients() == sorted([*world.notified, "fan@public.example"])
    for email in world.notified:
        assert "PUBLIC-TEXT" in inbox.text_to(email)
    fan_mail = inbox.text_to("fan@public.example")
    assert "PUBLIC-TEXT" in fan_mail and "INTERNAL-TITLE" not in fan_mail
    assert UNSUBSCRIBE.search(fan_mail)
    fan_subject = next(m["Subject"] for m in inbox.messages if m["To"] == "fan@public.example")
    assert "INTERNAL-TITLE" not in str(fan_subject)

    deliveries = posted.json()["deliveries"]
    assert sorted(d["email"] for d in deliveries) == world.notified
    listed = client.get(
        f"/api/v1/incidents/{world.incident_id}/updates", headers=admin_headers
    ).json()
    assert {d["notification_status"] for d in listed["items"][0]["deliveries"]} == {"delivered"}

    for email in (acme_contact, globex_contact):
        with TestClient(create_app(container)) as customer:
            portal_login(customer, email)
            page = customer.get(f"/portal/incidents/{world.incident_id}")
            assert page.status_code == 200
            assert "PUBLIC-TEXT" in page.text
            assert str(world.incident_id) in customer.get("/portal").text

    for path in ("/status", "/status/shop"):
        page = client.get(path)
        assert page.status_code == 200
        assert "PUBLIC-TEXT" in page.text
        assert "INTERNAL-TITLE" not in page.text

    feed = client.get("/status/feed.atom")
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("application/atom+xml")
    root = ElementTree.fromstring(feed.content)
    assert root.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated", "author"):
        assert root.find(f"{ATOM}{required}") is not None, required
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 1
    for required in ("id", "title", "updated", "content"):
        assert entries[0].find(f"{ATOM}{required}") is not None, required
    assert "PUBLIC-TEXT" in (entries[0].findtext(f"{ATOM}content") or "")
    assert b"INTERNAL-TITLE" not in feed.content

    # The unsubscribe link in the mail works: the next update skips the fan.
    link = UNSUBSCRIBE.search(fan_mail)
    assert link is not None
    assert client.get(link.group(1)).status_code == 200
    assert client.post(link.group(1)).status_code == 200
    inbox.messages.clear()
    client.post(
        f"/api/v1/incidents/{world.incident_id}/updates",
        headers=admin_headers,
        json={"kind": "identified", "audience": "public", "message": "Cause found."},
    )
    drain(container)
    assert inbox.recipients() == world.notified
