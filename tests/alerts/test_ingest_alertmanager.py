"""The Alertmanager webhook over HTTP, on both engines: dedup by fingerprint, resolve, and
every kind of bad input refused with a 4xx, logged, and nothing half-written."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from alerts_support import GROUPED_RESOLVED, SAMPLE, load_fixture
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from escalate.alerts.models import Alert, AlertEvent, InboundError, IntegrationKind
from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.clock import FrozenClock

URL = "/api/v1/ingest/alertmanager"


def _alerts(container: Container) -> list[Alert]:
    with container.session_factory() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def _count(container: Container, model: type[Any]) -> int:
    with container.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_firing_alert_is_stored_and_a_repeat_only_counts(
    client: TestClient, container: Container, make_integration
) -> None:
    _, key = make_integration()
    first = client.post(f"{URL}/{key}", json=load_fixture(SAMPLE))
    assert first.status_code == 202, first.text
    assert first.json()["alerts"][0]["action"] == "trigger"
    again = client.post(f"{URL}/{key}", json=load_fixture(SAMPLE))
    assert again.json()["alerts"][0]["action"] == "repeat"
    [alert] = _alerts(container)
    assert (alert.dedup_key, alert.status, alert.count) == ("a4b42526d0022c6e", "triggered", 2)
    assert alert.severity == "critical"
    assert alert.summary == "Disk 95% full on db-1"
    assert alert.last_seen_at >= alert.first_seen_at
    assert alert.open_key == alert.dedup_key


def test_a_grouped_notification_resolves_one_and_opens_the_other(
    client: TestClient, container: Container, make_integration, clock: FrozenClock
) -> None:
    _, key = make_integration()
    client.post(f"{URL}/{key}", json=load_fixture(SAMPLE))
    response = client.post(f"{URL}/{key}", json=load_fixture(GROUPED_RESOLVED))
    assert response.status_code == 202
    resolved, firing = _alerts(container)
    assert (resolved.status, resolved.open_key) == ("resolved", None)
    assert resolved.resolved_at is not None
    assert (firing.dedup_key, firing.status, firing.severity) == (
        "53370bc6028c6434",
        "triggered",
        "warning",
    )
    # Sent again, the resolution changes nothing and is recorded as such.
    again = client.post(f"{URL}/{key}", json=load_fixture(GROUPED_RESOLVED)).json()["alerts"]
    assert again[0] == {
        "dedup_key": "a4b42526d0022c6e",
        "alert_id": resolved.id,
        "action": "resolve",
        "applied": False,
    }
    # Firing again once the flapping window (10 minutes) has passed opens a new alert.
    clock.advance(timedelta(minutes=11))
    client.post(f"{URL}/{key}", json=load_fixture(SAMPLE))
    assert [(a.dedup_key, a.status) for a in _alerts(container)] == [
        ("a4b42526d0022c6e", "resolved"),
        ("53370bc6028c6434", "triggered"),
        ("a4b42526d0022c6e", "triggered"),
    ]


def test_firing_again_right_after_resolving_reopens_the_same_alert(
    client: TestClient, container: Container, make_integration, clock: FrozenClock
) -> None:
    _, key = make_integration()
    client.post(f"{URL}/{key}", json=load_fixture(SAMPLE))
    client.post(f"{URL}/{key}", json=load_fixture(GROUPED_RESOLVED))
    clock.advance(timedelta(minutes=9))
    answer = client.post(f"{URL}/{key}", json=load_fixture(SAMPLE)).json()["alerts"]
    flapped = next(a for a in answer if a["dedup_key"] == "a4b42526d0022c6e")
    assert flapped["action"] == "reopen"
    alerts = _alerts(container)
    assert len(alerts) == 2
    reopened = next(a for a in alerts if a.dedup_key == "a4b42526d0022c6e")
    assert reopened.id == flapped["alert_id"]
    assert (reopened.status, reopened.count, reopened.reopen_count) == ("triggered", 2, 1)
    assert (reopened.open_key, reopened.resolved_at) == ("a4b42526d0022c6e", None)


def test_the_key_may_come_as_a_bearer_token(
    client: TestClient, container: Container, make_integration
) -> None:
    _, key = make_integration()
    response = client.post(
        URL, json=load_fixture(SAMPLE), headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 202, response.text
    assert len(_alerts(container)) == 1


def _big_body() -> bytes:
    body = load_fixture(SAMPLE)
    body["alerts"][0]["annotations"]["description"] = "x" * (512 * 1024)
    return json.dumps(body).encode()


def _without(field: str) -> bytes:
    body = load_fixture(SAMPLE)
    del body["alerts"][0][field]
    return json.dumps(body).encode()


def _retyped() -> bytes:
    body = load_fixture(SAMPLE)
    body["alerts"][0]["labels"] = ["not", "an", "object"]
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        (b'{"version": "4", "alerts": [', 400, "not valid JSON"),
        (b"", 400, "not valid JSON"),
        (_without("fingerprint"), 422, "alerts[0].fingerprint"),
        (_without("status"), 422, "alerts[0].status"),
        (_retyped(), 422, "alerts[0].labels"),
        (b'{"version": "3", "status": "firing", "alerts": []}', 422, "version"),
        (b"[1, 2, 3]", 422, "body"),
        (_big_body(), 413, "exceeds 524288 bytes"),
    ],
    ids=["malformed", "empty", "no-fingerprint", "no-status", "wrong-type", "v3", "array", "big"],
)
def test_bad_input_is_refused_logged_and_nothing_is_written(
    client: TestClient,
    container: Container,
    make_integration,
    body: bytes,
    status: int,
    named: str,
) -> None:
    integration_id, key = make_integration()
    response = client.post(
        f"{URL}/{key}", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    problem = response.json()
    assert named in problem["detail"] or named == problem.get("field"), problem
    assert _count(container, Alert) == 0
    assert _count(container, AlertEvent) == 0
    with container.session_factory() as session:
        [error] = session.scalars(select(InboundError)).all()
    assert error.status_code == status
    assert error.endpoint == URL
    assert named in error.reason or status == 422
    if status != 413:
        assert error.integration_id == integration_id
    assert len(error.body_excerpt or "") <= 2048


def test_a_half_bad_group_writes_nothing(
    client: TestClient, container: Container, make_integration
) -> None:
    _, key = make_integration()
    body = load_fixture(GROUPED_RESOLVED)
    del body["alerts"][1]["labels"]
    assert client.post(f"{URL}/{key}", json=body).status_code == 422
    assert _count(container, Alert) == 0


@pytest.mark.parametrize("how", ["path", "bearer", "none"])
def test_an_unknown_or_missing_key_is_401_and_logged(
    client: TestClient, container: Container, how: str
) -> None:
    if how == "path":
        response = client.post(f"{URL}/esc_int_nope", json=load_fixture(SAMPLE))
    elif how == "bearer":
        headers = {"Authorization": "Bearer esc_int_nope"}
        response = client.post(URL, json=load_fixture(SAMPLE), headers=headers)
    else:
        response = client.post(URL, json=load_fixture(SAMPLE))
    assert response.status_code == 401
    assert response.json()["field"] == "key"
    assert response.headers["www-authenticate"] == "Bearer"
    with container.session_factory() as session:
        [error] = session.scalars(select(InboundError)).all()
    assert (error.status_code, error.integration_id) == (401, None)
    assert "esc_int_nope" not in (error.body_excerpt or "")
    assert _count(container, Alert) == 0


def test_a_staff_token_is_not_an_integration_key(client: TestClient, make_token) -> None:
    headers = make_token(Role.ADMIN)
    response = client.post(URL, json=load_fixture(SAMPLE), headers=headers)
    assert response.status_code == 403
    assert "integration's key" in response.json()["detail"]


def test_a_key_of_another_kind_is_refused(
    client: TestClient, container: Container, make_integration
) -> None:
    _, key = make_integration(IntegrationKind.EVENTS_V2)
    response = client.post(f"{URL}/{key}", json=load_fixture(SAMPLE))
    assert response.status_code == 403
    assert "events_v2" in response.json()["detail"]
    assert _count(container, Alert) == 0
