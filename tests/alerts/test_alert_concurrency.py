"""Dedup holds under concurrency, on both engines: two transactions triggering the same new
dedup key at once end with one alert counted twice (the upsert's ON CONFLICT path on
PostgreSQL; one writer at a time on SQLite)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from escalate.alerts import service as alert_service
from escalate.alerts.models import Alert, AlertAction, Integration, IntegrationKind
from escalate.alerts.schemas import EventV2
from escalate.bootstrap import Container
from escalate.db import transaction


def test_two_simultaneous_triggers_of_a_new_key_make_one_alert(
    container: Container, make_integration
) -> None:
    integration_id, key = make_integration(IntegrationKind.EVENTS_V2)
    event = EventV2.model_validate(
        {
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": "same",
            "payload": {"summary": "DB down", "source": "db-1", "severity": "error"},
        }
    )
    barrier = threading.Barrier(2, timeout=30)

    def send() -> AlertAction:
        with transaction(container.session_factory, clock=container.clock) as session:
            integration = session.get(Integration, integration_id)
            assert integration is not None
            if session.get_bind().dialect.name == "postgresql":
                # Both transactions are open before either writes (on SQLite the second
                # waits for the first's write lock at BEGIN, so it cannot wait here).
                barrier.wait()
            outcome = alert_service.ingest_event_v2(
                session, container.clock, integration=integration, event=event
            )
            return outcome.action

    with ThreadPoolExecutor(2) as pool:
        actions = sorted(pool.map(lambda _: send(), range(2)))
    assert actions == [AlertAction.REPEAT, AlertAction.TRIGGER]
    with container.session_factory() as session:
        [alert] = session.scalars(select(Alert)).all()
    assert (alert.dedup_key, alert.count) == ("same", 2)
