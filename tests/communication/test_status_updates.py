"""Posting status updates through the API: who receives them, what is recorded, and bad
input refused with nothing written (both engines)."""

from __future__ import annotations

import pytest
from comms_support import World, build_world, count
from fastapi.testclient import TestClient
from sqlalchemy import select

from escalate.bootstrap import Container
from escalate.incidents import observers
from escalate.incidents.models import (
    Incident,
    IncidentEvent,
    StatusUpdate,
    UpdateDelivery,
)
from escalate.notify.models import Notification


@pytest.fixture
def world(container: Container) -> World:
    return build_world(container)


def _post(client: TestClient, headers, world: World, **body):
    return client.post(f"/api/v1/incidents/{world.incident_id}/updates", headers=headers, json=body)


def test_a_customer_update_is_mailed_to_every_notified_contact_and_no_one_else(
    client: TestClient, container: Container, admin_headers, world: World
) -> None:
    response = _post(
        client,
        admin_headers,
        world,
        kind="investigating",
        audience="customers",
        message="  We are looking into failed checkouts.  ",
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["message"] == "We are looking into failed checkouts."
    assert body["status"] == "investigating"
    assert sorted(d["email"] for d in body["deliveries"]) == world.notified
    assert {d["contact_id"] for d in body["deliveries"]} == {
        world.contacts[e] for e in world.notified
    }
    with container.session_factory() as s:
        addresses = sorted(s.scalars(select(Notification.address)))
        incident = s.get(Incident, world.incident_id)
        assert incident is not None
        assert incident.first_customer_update_at == container.clock.now()
        event = s.scalar(select(IncidentEvent).where(IncidentEvent.kind == "update"))
        assert event is not None and event.internal is False
    assert addresses == world.notified

    listed = client.get(
        f"/api/v1/incidents/{world.incident_id}/updates", headers=admin_headers
    ).json()
    assert listed["total"] == 1
    assert len(listed["items"][0]["deliveries"]) == len(world.notified)


def test_an_internal_update_mails_no_one_and_stays_internal(
    client: TestClient, container: Container, admin_headers, world: World
) -> None:
    response = _post(
        client, admin_headers, world, kind="identified", audience="internal", message="DB failover"
    )
    assert response.status_code == 201, response.text
    assert response.json()["deliveries"] == []
    assert count(container, Notification) == 0
    with container.session_factory() as s:
        event = s.scalar(select(IncidentEvent).where(IncidentEvent.kind == "update"))
        assert event is not None and event.internal is True
        incident = s.get(Incident, world.incident_id)
        assert incident is not None and incident.first_customer_update_at is None


def test_preview_shows_each_audience_and_writes_nothing(
    client: TestClient, container: Container, admin_headers, world: World
) -> None:
    response = client.post(
        f"/api/v1/incidents/{world.incident_id}/updates/preview",
        headers=admin_headers,
        json={"kind": "monitoring", "audience": "public", "message": "Fix deployed."},
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    mails = [m for a in preview["accounts"] for m in a["mails"]]
    assert sorted(m["email"] for m in mails) == world.notified
    assert all("Fix deployed." in m["body"] for m in mails)
    assert preview["public_text"] == "Fix deployed."
    assert count(container, StatusUpdate) == 0
    assert count(container, Notification) == 0
    templates = client.get(
        f"/api/v1/incidents/{world.incident_id}/update-templates", headers=admin_headers
    ).json()["templates"]
    assert {t["kind"] for t in templates} >= {"investigating", "identified", "resolved"}
    assert all("Checkout API" in t["message"] for t in templates)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "investigating", "audience": "customers", "message": "   "}, "message"),
        ({"kind": "investigating", "audience": "customers", "message": "x" * 100_000}, "message"),
        ({"kind": "investigating", "audience": "customers"}, "message"),
        ({"kind": "guessing", "audience": "customers", "message": "hi"}, "kind"),
        ({"kind": "investigating", "audience": "everyone", "message": "hi"}, "audience"),
        (
            {"kind": "investigating", "audience": "customers", "message": "hi", "status": "x"},
            "status",
        ),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_nothing_is_written(
    client: TestClient, container: Container, admin_headers, world: World, body, field
) -> None:
    events_before = count(container, IncidentEvent)
    response = _post(client, admin_headers, world, **body)
    assert response.status_code == 422, response.text
    assert response.json()["field"].endswith(field)
    assert count(container, StatusUpdate) == 0
    assert count(container, UpdateDelivery) == 0
    assert count(container, Notification) == 0
    assert count(container, IncidentEvent) == events_before


def test_a_resolved_incident_takes_only_its_resolution_notice(
    client: TestClient, container: Container, admin_headers, world: World
) -> None:
    resolved = client.post(f"/api/v1/incidents/{world.incident_id}/resolve", headers=admin_headers)
    assert resolved.status_code == 200
    events_before = count(container, IncidentEvent)
    for kind in ("investigating", "identified", "acknowledgement", "monitoring"):
        response = _post(client, admin_headers, world, kind=kind, audience="public", message="x")
        assert response.status_code == 409, response.text
        assert "resolved" in response.json()["detail"]
    assert count(container, StatusUpdate) == 0
    assert count(container, Notification) == 0
    assert count(container, IncidentEvent) == events_before
    # The notice that it is over may come after the restoration, as the story's did.
    notice = _post(
        client, admin_headers, world, kind="resolved", audience="customers", message="ok"
    )
    assert notice.status_code == 201, notice.text
    assert count(container, StatusUpdate) == 1


def test_an_unknown_incident_is_404(client: TestClient, admin_headers) -> None:
    response = client.post(
        "/api/v1/incidents/999999/updates",
        headers=admin_headers,
        json={"kind": "investigating", "audience": "customers", "message": "x"},
    )
    assert response.status_code == 404


_heard: list[int] = []


def _record(_session, _clock, incident_id: int) -> None:
    _heard.append(incident_id)


def test_the_sla_observers_hear_of_customer_facing_updates_and_status_moves_only(
    client: TestClient, admin_headers, world: World
) -> None:
    observers.register(_record)
    try:
        _heard.clear()  # ids repeat across the tests' fresh databases
        _post(client, admin_headers, world, kind="investigating", audience="customers", message="y")
        heard = _heard.count(world.incident_id)
        assert heard >= 1
        # Internal, and the incident is investigating already: nothing a clock depends on.
        _post(client, admin_headers, world, kind="investigating", audience="internal", message="x")
        assert _heard.count(world.incident_id) == heard
    finally:
        observers.unregister(_record)
