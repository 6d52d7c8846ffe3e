"""What leaves for customers and the public names an incident by its services, never by the
responders' title; a status-page subscriber hears only of services a public page lists;
the portal shows an incident once customers have been told of it."""

from __future__ import annotations

from typing import Any

from comms_support import (
    build_world,
    make_customer,
    make_group,
    portal_login,
    subscribe_confirmed,
)
from fastapi.testclient import TestClient
from sqlalchemy import select

from escalate.accounts.models import Service
from escalate.bootstrap import Container
from escalate.notify.models import Notification

TITLE = "Disk full on db-primary-1 (10.0.3.7)"


def _post(
    client: TestClient, headers: dict[str, str], incident_id: int, audience: str
) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/incidents/{incident_id}/updates",
        headers=headers,
        json={"kind": "investigating", "audience": audience, "message": "We are on it."},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _mails(container: Container) -> list[tuple[str, str]]:
    with container.session_factory() as s:
        return [
            (n.address, n.subject)
            for n in s.scalars(select(Notification).where(Notification.kind == "status_update"))
        ]


def test_update_mails_name_the_services_not_the_title(
    client: TestClient, container: Container, admin_headers: dict[str, str]
) -> None:
    world = build_world(container, title=TITLE)
    _post(client, admin_headers, world.incident_id, "customers")
    mails = _mails(container)
    assert sorted(to for to, _ in mails) == sorted(world.notified)
    with container.session_factory() as s:
        service = s.get(Service, world.service_id)
        assert service is not None
        assert {subject for _, subject in mails} == {f"[Investigating] {service.name}"}


def test_a_subscriber_hears_only_of_services_a_public_page_lists(
    client: TestClient, container: Container, admin_headers: dict[str, str]
) -> None:
    world = build_world(container)
    subscribe_confirmed(container, "fan@example.org", slug=None)
    # A public page exists, and it does not list the incident's service.
    make_group(container, name="Reports", slug="reports", service_ids=[world.other_service_id])
    first = _post(client, admin_headers, world.incident_id, "public")
    assert "fan@example.org" not in [to for to, _ in _mails(container)]
    assert first["subscribers_notified"] == 0
    # Once a public page lists it, the main page's subscribers hear of it.
    make_group(container, name="Shop", slug="shop", service_ids=[world.service_id])
    second = _post(client, admin_headers, world.incident_id, "public")
    assert [to for to, _ in _mails(container)].count("fan@example.org") == 1
    assert second["subscribers_notified"] == 1
    listed = client.get(
        f"/api/v1/incidents/{world.incident_id}/updates", headers=admin_headers
    ).json()
    assert {u["id"]: u["subscribers_notified"] for u in listed["items"]} == {
        first["id"]: 0,
        second["id"]: 1,
    }


def test_the_portal_shows_an_incident_once_customers_were_told(
    client: TestClient, container: Container, admin_headers: dict[str, str]
) -> None:
    world = build_world(container, title=TITLE)
    email = next(e for e in world.notified if "@acme" in e)
    login = make_customer(
        container, account_id=world.accounts["Acme"], contact_id=world.contacts[email]
    )
    portal_login(client, login)
    path = f"/portal/incidents/{world.incident_id}"
    assert path not in client.get("/portal").text
    assert client.get(path).status_code == 404
    _internal = client.post(
        f"/api/v1/incidents/{world.incident_id}/updates",
        headers=admin_headers,
        json={"kind": "investigating", "audience": "internal", "message": "Looking."},
    )
    assert _internal.status_code == 201
    assert client.get(path).status_code == 404  # an internal update tells no customer
    _post(client, admin_headers, world.incident_id, "customers")
    overview = client.get("/portal").text
    assert path in overview
    shown = client.get(path)
    assert shown.status_code == 200 and "We are on it." in shown.text
    for page in (overview, shown.text):
        assert "db-primary-1" not in page and "Disk full" not in page


def test_a_title_for_customers_replaces_the_services_everywhere_it_leaves(
    client: TestClient, container: Container, admin_headers: dict[str, str]
) -> None:
    world = build_world(container, title=TITLE)
    make_group(container, name="Shop", slug="shop", service_ids=[world.service_id])
    email = next(e for e in world.notified if "@acme" in e)
    login = make_customer(
        container, account_id=world.accounts["Acme"], contact_id=world.contacts[email]
    )
    path = f"/api/v1/incidents/{world.incident_id}"
    named = client.patch(
        path, headers=admin_headers, json={"customer_title": "  Checkout is slow in the EU "}
    )
    assert named.status_code == 200, named.text
    assert named.json()["customer_title"] == "Checkout is slow in the EU"
    _post(client, admin_headers, world.incident_id, "public")
    assert {s for _, s in _mails(container)} == {"[Investigating] Checkout is slow in the EU"}
    assert "Checkout is slow in the EU" in client.get("/status").text
    portal_login(client, login)
    assert "Checkout is slow in the EU" in client.get("/portal").text
    too_long = client.patch(path, headers=admin_headers, json={"customer_title": "x" * 301})
    assert too_long.status_code == 422 and "customer_title" in too_long.text
    cleared = client.patch(path, headers=admin_headers, json={"customer_title": ""})
    assert cleared.status_code == 200 and cleared.json()["customer_title"] is None
    assert "Checkout is slow in the EU" not in client.get("/portal").text
