"""The public status page shows nothing that is not marked public: no internal notes, no
customer-only updates, no account names, no internal incident titles. It derives each
service's state from open incidents with public updates, keeps a 90-day history, takes
e-mail subscriptions confirmed by a link, and its groups are managed by the API."""

from __future__ import annotations

import re
from datetime import timedelta

from comms_support import SmtpInbox, World, build_world, drain, make_group
from fastapi.testclient import TestClient
from sqlalchemy import select

from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.incidents.models import StatusSubscriber

CONFIRM = re.compile(r"https?://[^/\s]+(/status/confirm/[A-Za-z0-9_\-]+)")


def _post(
    client: TestClient, headers, world: World, audience: str, message: str, kind="investigating"
):
    response = client.post(
        f"/api/v1/incidents/{world.incident_id}/updates",
        headers=headers,
        json={"kind": kind, "audience": audience, "message": message},
    )
    assert response.status_code == 201, response.text


def test_the_page_and_feed_show_only_public_text(
    client: TestClient, container: Container, admin_headers
) -> None:
    world = build_world(container, title="SECRET-TITLE node 7 kernel panic")
    make_group(container, name="Shop", slug="shop", service_ids=[world.service_id])
    _post(client, admin_headers, world, "internal", "SECRET-INTERNAL note: failover db-7")
    _post(client, admin_headers, world, "customers", "SECRET-CUSTOMER credits will follow")
    _post(client, admin_headers, world, "public", "Checkout is failing; we are investigating.")
    forbidden = ["SECRET-TITLE", "SECRET-INTERNAL", "SECRET-CUSTOMER", "Acme", "Globex", "Initech"]
    for path in ("/status", "/status/shop", "/status/feed.atom", "/status/shop/feed.atom"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "Checkout is failing" in response.text, path
        for text in forbidden:
            assert text not in response.text, (path, text)
    page = client.get("/status/shop").text
    assert 'data-overall="outage"' in page


def test_a_service_is_operational_without_public_updates_and_history_keeps_the_day(
    client: TestClient, container: Container, admin_headers, clock: FrozenClock
) -> None:
    world = build_world(container)
    make_group(
        container, name="Shop", slug="shop", service_ids=[world.service_id, world.other_service_id]
    )
    _post(client, admin_headers, world, "customers", "Only for customers.")
    assert 'data-overall="operational"' in client.get("/status/shop").text
    _post(client, admin_headers, world, "public", "Down.")
    assert 'data-overall="outage"' in client.get("/status/shop").text
    clock.advance(timedelta(minutes=36))
    _post(client, admin_headers, world, "public", "Fixed.", kind="resolved")
    clock.advance(timedelta(days=2))
    page = client.get("/status/shop").text
    assert 'data-overall="operational"' in page
    assert page.count('class="state-outage"') == 1  # one day of the 90 was an outage
    assert "Fixed." in page
    # 36 minutes down in 90 days; the other service was never affected.
    uptimes = re.findall(r"([\d.]+)% uptime, 90 days", page)
    assert sorted(uptimes) == ["100.00", "99.97"]


def test_without_groups_the_page_lists_every_service(
    client: TestClient, container: Container
) -> None:
    world = build_world(container)
    page = client.get("/status")
    assert page.status_code == 200
    assert "All services" in page.text and "Reports" in page.text
    assert world.incident_id  # built
    assert client.get("/status/no-such-page").status_code == 404


def test_subscribing_is_confirmed_by_the_mailed_link(
    client: TestClient, container: Container, inbox: SmtpInbox
) -> None:
    world = build_world(container)
    make_group(container, name="Shop", slug="shop", service_ids=[world.service_id])
    response = client.post(
        "/status/subscribe",
        data={"email": "fan@public.example", "group": "shop"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert client.post("/status/subscribe", data={"email": "not an address"}).status_code == 422
    drain(container)
    link = CONFIRM.search(inbox.text_to("fan@public.example"))
    assert link is not None
    assert "/status/unsubscribe/" in inbox.text_to("fan@public.example")
    with container.session_factory() as s:
        row = s.scalar(select(StatusSubscriber))
        assert row is not None and row.confirmed_at is None
    assert client.get(link.group(1)).status_code == 200  # shows a button, changes nothing
    assert client.post(link.group(1)).status_code == 200
    with container.session_factory() as s:
        row = s.scalar(select(StatusSubscriber))
        assert row is not None and row.confirmed_at is not None
    assert client.post("/status/confirm/forged").status_code == 404


def test_service_groups_api(client: TestClient, container: Container, admin_headers) -> None:
    world = build_world(container)
    created = client.post(
        "/api/v1/service-groups",
        headers=admin_headers,
        json={"name": "Payments", "slug": "payments", "services": [str(world.service_id)]},
    )
    assert created.status_code == 201, created.text
    assert created.json()["service_ids"] == [world.service_id]
    again = client.post(
        "/api/v1/service-groups",
        headers=admin_headers,
        json={"name": "Other", "slug": "payments"},
    )
    assert again.status_code == 409 and again.json()["field"] == "slug"
    reserved = client.post(
        "/api/v1/service-groups", headers=admin_headers, json={"name": "F", "slug": "feed"}
    )
    assert reserved.status_code == 422
    listed = client.get("/api/v1/service-groups", headers=admin_headers).json()
    assert listed["total"] == 1 and listed["items"][0]["slug"] == "payments"
    assert client.get("/status/payments").status_code == 200
