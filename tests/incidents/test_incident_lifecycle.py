"""The lifecycle: which moves are allowed (one rule, checked as a pure function and through
the API, the pages and the CLI), the key times each move records, and edits."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from incidents_support import declare, row_counts
from sqlalchemy import select

from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.incidents.lifecycle import allowed, next_statuses
from escalate.incidents.models import IncidentEvent, IncidentStatus

S = IncidentStatus
LEGAL = {
    (S.TRIGGERED, S.ACKNOWLEDGED),
    (S.TRIGGERED, S.INVESTIGATING),
    (S.TRIGGERED, S.IDENTIFIED),
    (S.TRIGGERED, S.MONITORING),
    (S.TRIGGERED, S.RESOLVED),
    (S.ACKNOWLEDGED, S.INVESTIGATING),
    (S.ACKNOWLEDGED, S.IDENTIFIED),
    (S.ACKNOWLEDGED, S.MONITORING),
    (S.ACKNOWLEDGED, S.RESOLVED),
    (S.INVESTIGATING, S.IDENTIFIED),
    (S.INVESTIGATING, S.MONITORING),
    (S.INVESTIGATING, S.RESOLVED),
    (S.IDENTIFIED, S.MONITORING),
    (S.IDENTIFIED, S.RESOLVED),
    (S.MONITORING, S.RESOLVED),
    (S.MONITORING, S.INVESTIGATING),
    (S.MONITORING, S.IDENTIFIED),
}


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def test_the_transition_rule_over_every_pair() -> None:
    for current in S:
        for to in S:
            assert allowed(current, to) == ((current, to) in LEGAL), (current, to)
    assert next_statuses(S.RESOLVED) == []
    assert next_statuses(S.MONITORING) == [S.INVESTIGATING, S.IDENTIFIED, S.RESOLVED]


def _path_to(client: TestClient, headers: dict[str, str], incident_id: int, status: S) -> None:
    """Walk a new incident to `status` along legal moves."""
    if status == S.TRIGGERED:
        return
    moved = client.post(
        f"/api/v1/incidents/{incident_id}/status", json={"status": status}, headers=headers
    )
    assert moved.status_code == 200, moved.text


@pytest.mark.parametrize(
    ("start", "to"),
    [(S.RESOLVED, S.INVESTIGATING), (S.IDENTIFIED, S.ACKNOWLEDGED), (S.MONITORING, S.TRIGGERED)],
)
def test_illegal_moves_are_409_naming_the_statuses_and_change_nothing(
    client: TestClient, container: Container, admin_headers: dict[str, str], start: S, to: S
) -> None:
    incident = declare(client, admin_headers)
    _path_to(client, admin_headers, incident["id"], start)
    before = row_counts(container)
    refused = client.post(
        f"/api/v1/incidents/{incident['id']}/status", json={"status": to}, headers=admin_headers
    )
    assert refused.status_code == 409, refused.text
    assert f"{start.value} -> {to.value}" in refused.json()["detail"]
    if start == S.RESOLVED:
        assert "needs a reopen" in refused.json()["detail"]
    assert row_counts(container) == before
    shown = client.get(f"/api/v1/incidents/{incident['id']}", headers=admin_headers).json()
    assert shown["status"] == start


def test_acknowledging_a_resolved_incident_is_409(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    incident = declare(client, admin_headers)
    assert client.post(f"/api/v1/incidents/{incident['id']}/resolve", headers=admin_headers)
    refused = client.post(f"/api/v1/incidents/{incident['id']}/acknowledge", headers=admin_headers)
    assert refused.status_code == 409
    assert "resolved" in refused.json()["detail"]
    again = client.post(f"/api/v1/incidents/{incident['id']}/resolve", headers=admin_headers)
    assert again.status_code == 409


def test_key_times_follow_the_moves(
    client: TestClient, container: Container, clock: FrozenClock, admin_headers: dict[str, str]
) -> None:
    opened = clock.now()
    incident = declare(client, admin_headers)
    assert incident["started_at"] == incident["detected_at"] == incident["opened_at"]
    url = f"/api/v1/incidents/{incident['id']}"

    clock.advance(timedelta(minutes=3))
    body = client.post(f"{url}/status", json={"status": "investigating"}, headers=admin_headers)
    assert body.status_code == 200, body.text
    moved = body.json()
    # Leaving triggered acknowledges: someone is on it, escalation stops.
    assert moved["acknowledged_at"] == _iso(opened + timedelta(minutes=3))
    assert moved["next_escalation_at"] is None
    clock.advance(timedelta(minutes=10))
    moved = client.post(
        f"{url}/status", json={"status": "monitoring"}, headers=admin_headers
    ).json()
    assert moved["mitigated_at"] == _iso(opened + timedelta(minutes=13))
    clock.advance(timedelta(minutes=5))
    relapse_body = {"status": "identified", "note": "errors again"}
    relapse = client.post(f"{url}/status", json=relapse_body, headers=admin_headers).json()
    assert relapse["status"] == "identified" and relapse["mitigated_at"] is None
    clock.advance(timedelta(minutes=5))
    client.post(f"{url}/status", json={"status": "monitoring"}, headers=admin_headers)
    clock.advance(timedelta(minutes=30))
    done = client.post(f"{url}/status", json={"status": "resolved"}, headers=admin_headers).json()
    assert done["mitigated_at"] == _iso(opened + timedelta(minutes=23))
    assert done["resolved_at"] == _iso(opened + timedelta(minutes=53))
    assert done["acknowledged_at"] == _iso(opened + timedelta(minutes=3))
    assert done["allowed_statuses"] == []

    reopened = client.post(f"{url}/reopen", json={}, headers=admin_headers)
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "investigating"
    assert reopened.json()["resolved_at"] is None and reopened.json()["reopen_count"] == 1
    not_resolved = client.post(f"{url}/reopen", json={}, headers=admin_headers)
    assert not_resolved.status_code == 409

    with container.session_factory() as session:
        kinds = list(
            session.scalars(
                select(IncidentEvent.kind)
                .where(IncidentEvent.incident_id == incident["id"])
                .order_by(IncidentEvent.id)
            )
        )
    assert kinds[0] == "declared"
    assert kinds.count("status") == 4 and "resolved" in kinds and kinds[-1] == "reopened"
    timeline = client.get(f"{url}/timeline", headers=admin_headers).json()
    assert any("errors again" in e["summary"] for e in timeline["items"])
    public = client.get(f"{url}/timeline", params={"internal": "false"}, headers=admin_headers)
    assert public.status_code == 200 and public.json()["items"] == []


def test_edits_validate_severity_and_record_them(
    client: TestClient, container: Container, clock: FrozenClock, admin_headers: dict[str, str]
) -> None:
    incident = declare(client, admin_headers)
    url = f"/api/v1/incidents/{incident['id']}"
    before = row_counts(container)
    unknown = client.patch(url, json={"severity": "SEV5"}, headers=admin_headers)
    assert unknown.status_code == 422
    assert "severity" in unknown.text
    assert row_counts(container) == before

    earlier = clock.now() - timedelta(minutes=20)
    edited = client.patch(
        url,
        json={"severity": "SEV2", "started_at": earlier.isoformat(), "description": "EU only"},
        headers=admin_headers,
    )
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["severity"] == "SEV2" and body["description"] == "EU only"
    assert body["started_at"] == _iso(earlier)
    assert client.patch(url, json={"title": ""}, headers=admin_headers).status_code == 422
    later = (clock.now() + timedelta(hours=1)).isoformat()
    future = client.patch(url, json={"started_at": later}, headers=admin_headers)
    assert future.status_code == 422 and future.json()["field"] == "started_at"
    assert client.patch(url, json={"severity": None}, headers=admin_headers).status_code == 422


def test_a_viewer_cannot_move_an_incident(
    client: TestClient, admin_headers: dict[str, str], make_token
) -> None:
    incident = declare(client, admin_headers)
    viewer = make_token(Role.VIEWER)
    refused = client.post(
        f"/api/v1/incidents/{incident['id']}/status",
        json={"status": "investigating"},
        headers=viewer,
    )
    assert refused.status_code == 403
