"""An incident's timeline shows the monitoring alerts grouped into it (first seen, and
resolved by the tool) among its own events, in time order, paged, and never to customers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from escalate.alerts.models import IntegrationKind
from escalate.clock import FrozenClock


def _event(client: TestClient, key: str, action: str, dedup_key: str) -> None:
    body: dict[str, Any] = {"routing_key": key, "event_action": action, "dedup_key": dedup_key}
    if action == "trigger":
        body["payload"] = {"summary": f"{dedup_key} down", "source": "db-1", "severity": "critical"}
    assert client.post("/v2/enqueue", json=body).status_code == 202


def test_the_alerts_of_an_incident_are_on_its_timeline(
    client: TestClient, admin_headers: dict[str, str], make_integration, clock: FrozenClock
) -> None:
    _, key = make_integration(IntegrationKind.EVENTS_V2, name="Checkout monitoring")
    opened_at = clock.now()
    _event(client, key, "trigger", "primary")
    [incident] = client.get("/api/v1/incidents", headers=admin_headers).json()["items"]
    path = f"/api/v1/incidents/{incident['id']}"
    clock.advance(timedelta(minutes=5))
    _event(client, key, "trigger", "replica")
    _event(client, key, "trigger", "replica")  # a repeat: the same alert, counted
    clock.advance(timedelta(minutes=5))
    assert (
        client.post(f"{path}/notes", headers=admin_headers, json={"text": "Failover stuck"})
    ).status_code == 201
    clock.advance(timedelta(minutes=5))
    _event(client, key, "resolve", "primary")

    timeline = client.get(f"{path}/timeline", headers=admin_headers).json()
    alerts = [e for e in timeline["items"] if e["source"] != "event"]
    assert [(e["kind"], e["summary"], e["actor_label"]) for e in alerts] == [
        ("alert", "Alert (critical) on db-1: primary down", "Checkout monitoring"),
        (
            "alert",
            "Alert (critical) on db-1: replica down; seen 2 times, last "
            f"{opened_at + timedelta(minutes=5):%Y-%m-%d %H:%M} UTC",
            "Checkout monitoring",
        ),
        ("alert_resolved", "Alert resolved: primary down", "Checkout monitoring"),
    ]
    assert alerts[0]["at"] == timeline["items"][0]["at"]  # the alert comes first
    assert timeline["items"][0]["source"] == "alert"
    moments = [e["at"] for e in timeline["items"]]
    assert moments == sorted(moments)
    assert any(e["kind"] == "note" for e in timeline["items"])

    # Paged in the merged order: two pages give the whole, once each.
    total = timeline["total"]
    first = client.get(f"{path}/timeline?limit=2", headers=admin_headers).json()
    rest = client.get(f"{path}/timeline?limit=100&offset=2", headers=admin_headers).json()
    assert first["total"] == total == len(timeline["items"])
    assert first["items"] + rest["items"] == timeline["items"]

    # What customers may see carries no alert.
    public = client.get(f"{path}/timeline?internal=false", headers=admin_headers).json()
    assert all(e["source"] == "event" for e in public["items"])
