"""PagerDuty Events API v2 over HTTP, on both engines: the answers PagerDuty gives, dedup,
acknowledge and resolve, and refused events logged with their reason."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from escalate.alerts.models import Alert, InboundError, IntegrationKind
from escalate.bootstrap import Container


def _event(key: str, action: str = "trigger", **extra: Any) -> dict[str, Any]:
    event: dict[str, Any] = {"routing_key": key, "event_action": action, **extra}
    if action == "trigger" and "payload" not in extra:
        event["payload"] = {"summary": "DB down", "source": "db-1", "severity": "critical"}
    return event


def _errors(container: Container) -> list[InboundError]:
    with container.session_factory() as session:
        return list(session.scalars(select(InboundError).order_by(InboundError.id)))


def test_trigger_repeat_acknowledge_resolve_make_one_alert(
    client: TestClient, container: Container, make_integration, admin_headers
) -> None:
    _, key = make_integration(IntegrationKind.EVENTS_V2)
    for action in ("trigger", "trigger", "acknowledge", "resolve"):
        response = client.post("/v2/enqueue", json=_event(key, action, dedup_key="db-1/down"))
        assert response.status_code == 202, response.text
        assert response.json() == {
            "status": "success",
            "message": "Event processed",
            "dedup_key": "db-1/down",
        }
        if action == "acknowledge":
            [alert] = client.get("/api/v1/alerts", headers=admin_headers).json()["items"]
            assert alert["status"] == "acknowledged"
    listed = client.get(
        "/api/v1/alerts", params={"dedup_key": "db-1/down"}, headers=admin_headers
    ).json()
    assert listed["total"] == 1
    [alert] = listed["items"]
    assert (alert["status"], alert["count"], alert["severity"]) == ("resolved", 2, "critical")
    assert alert["acknowledged_at"] and alert["resolved_at"]
    # No routing rule yet: it landed on the catch-all, opened an incident, and is unrouted.
    assert alert["incident_id"] is not None and alert["routed"] is False
    detail = client.get(f"/api/v1/alerts/{alert['id']}", headers=admin_headers).json()
    assert [e["action"] for e in detail["events"]] == [
        "trigger",
        "repeat",
        "acknowledge",
        "resolve",
    ]
    assert all(e["applied"] for e in detail["events"])
    assert "routing_key" not in detail["payload"]


def test_a_trigger_without_dedup_key_answers_the_one_made_up(
    client: TestClient, container: Container, make_integration
) -> None:
    _, key = make_integration(IntegrationKind.EVENTS_V2)
    dedup_key = client.post("/v2/enqueue", json=_event(key)).json()["dedup_key"]
    with container.session_factory() as session:
        assert session.scalar(select(Alert.dedup_key)) == dedup_key


def test_resolving_an_unknown_key_is_accepted_and_changes_nothing(
    client: TestClient, container: Container, make_integration
) -> None:
    _, key = make_integration(IntegrationKind.EVENTS_V2)
    response = client.post("/v2/enqueue", json=_event(key, "resolve", dedup_key="never-seen"))
    assert response.status_code == 202
    with container.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_an_unknown_routing_key_is_400_in_pagerdutys_shape(
    client: TestClient, container: Container
) -> None:
    response = client.post("/v2/enqueue", json=_event("esc_int_unknown"))
    assert response.status_code == 400
    assert response.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["Invalid routing key"],
    }
    [error] = _errors(container)
    assert (error.endpoint, error.status_code, error.integration_id) == ("/v2/enqueue", 400, None)
    assert "Invalid routing key" in error.reason


def test_an_invalid_event_is_400_with_its_errors_and_hides_the_key(
    client: TestClient, container: Container, make_integration
) -> None:
    integration_id, key = make_integration(IntegrationKind.EVENTS_V2)
    bad = _event(key, payload={"summary": "DB down", "severity": "catastrophic"})
    response = client.post("/v2/enqueue", json=bad)
    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["message"]) == ("invalid event", "Event object is invalid")
    assert any(e.startswith("payload.source:") for e in body["errors"]), body
    assert any(e.startswith("payload.severity:") for e in body["errors"]), body
    [error] = _errors(container)
    assert error.integration_id == integration_id
    assert key not in (error.body_excerpt or "")
    assert "(redacted)" in (error.body_excerpt or "")
    with container.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0


def test_malformed_json_and_oversize_bodies_are_refused(
    client: TestClient, container: Container
) -> None:
    malformed = client.post(
        "/v2/enqueue", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0].startswith("the request body is not valid JSON")
    big = client.post(
        "/v2/enqueue", content=b"x" * (512 * 1024 + 1), headers={"Content-Type": "text/plain"}
    )
    assert big.status_code == 413
    assert big.json()["status"] == "invalid event"
    assert [e.status_code for e in _errors(container)] == [400, 413]
