"""Integration keys are remembered in memory, on both engines: a known key is not looked up
again, and a key rotated or an integration disabled elsewhere (another process, the CLI)
is refused at once all the same, logged, with nothing stored."""

from __future__ import annotations

from typing import Any

from alerts_support import SAMPLE, load_fixture
from fastapi.testclient import TestClient
from sqlalchemy import event, func, select, update

from escalate.alerts import service as alert_service
from escalate.alerts.models import AlertEvent, InboundError, Integration, IntegrationKind
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.db import transaction

ALERTMANAGER = "/api/v1/ingest/alertmanager"


def _event(key: str, dedup_key: str) -> dict[str, Any]:
    payload = {"summary": "DB down", "source": "db-1", "severity": "critical"}
    return {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": payload,
    }


def _events_stored(container: Container) -> int:
    with container.session_factory() as session:
        return session.scalar(select(func.count()).select_from(AlertEvent)) or 0


def _errors(container: Container) -> list[tuple[int, int | None]]:
    with container.session_factory() as session:
        rows = session.execute(
            select(InboundError.status_code, InboundError.integration_id).order_by(InboundError.id)
        )
        return [(status, integration_id) for status, integration_id in rows]


def test_a_known_key_is_not_looked_up_again(
    client: TestClient, container: Container, make_integration
) -> None:
    _, key = make_integration(IntegrationKind.EVENTS_V2)
    assert client.post("/v2/enqueue", json=_event(key, "one")).status_code == 202
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(container.engine, "before_cursor_execute", record)
    try:
        assert client.post("/v2/enqueue", json=_event(key, "two")).status_code == 202
    finally:
        event.remove(container.engine, "before_cursor_execute", record)
    assert not [s for s in statements if "key_hash =" in s], statements
    assert _events_stored(container) == 2


def test_a_key_rotated_elsewhere_is_refused_at_once(
    client: TestClient, container: Container, make_integration
) -> None:
    integration_id, key = make_integration(IntegrationKind.EVENTS_V2)
    assert client.post("/v2/enqueue", json=_event(key, "before")).status_code == 202
    # As the CLI would, from another process: this app hears nothing of it.
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        _, new_key = alert_service.rotate_key(
            s, container.clock, actor=SYSTEM, integration_id=integration_id
        )
    old = client.post("/v2/enqueue", json=_event(key, "after"))
    assert old.status_code == 400
    assert old.json()["errors"] == ["Invalid routing key"]
    assert _events_stored(container) == 1
    assert _errors(container) == [(400, None)]  # the old key no longer names it
    assert client.post("/v2/enqueue", json=_event(new_key, "after")).status_code == 202
    assert _events_stored(container) == 2


def test_an_integration_disabled_elsewhere_is_refused_at_once(
    client: TestClient, container: Container, make_integration
) -> None:
    integration_id, key = make_integration(IntegrationKind.ALERTMANAGER)
    assert client.post(f"{ALERTMANAGER}/{key}", json=load_fixture(SAMPLE)).status_code == 202
    with transaction(container.session_factory, clock=container.clock) as session:
        session.execute(
            update(Integration).where(Integration.id == integration_id).values(is_active=False)
        )
    again = client.post(f"{ALERTMANAGER}/{key}", json=load_fixture(SAMPLE))
    assert again.status_code == 401
    assert again.headers["www-authenticate"] == "Bearer"
    assert again.json()["field"] == "key"
    assert _events_stored(container) == 1
    assert _errors(container) == [(401, integration_id)]
    # And it stays refused, now without reaching the committer.
    assert client.post(f"{ALERTMANAGER}/{key}", json=load_fixture(SAMPLE)).status_code == 401
    assert _events_stored(container) == 1
