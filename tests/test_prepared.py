"""Prepared statements give the same values in and out as SQLAlchemy does, on both
engines, in the session's transaction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import cast

import pytest
from sqlalchemy import Table, bindparam, insert, select, update

from escalate.alerts.models import Alert, AlertStatus, Integration, IntegrationKind
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.prepared import Prepared, UnpreparableStatement

ALERTS = cast(Table, Alert.__table__)
NEW_ALERT = Prepared(insert(ALERTS).returning(ALERTS.c.id, ALERTS.c.last_seen_at))
STATUS_AND_LABELS = Prepared(
    select(ALERTS.c.status, ALERTS.c.labels, ALERTS.c.first_seen_at)
    .where(ALERTS.c.id == bindparam("alert_id"), ALERTS.c.count >= 1)
    .limit(1)
)
RESOLVE = Prepared(
    update(ALERTS)
    .where(ALERTS.c.id == bindparam("alert_id"))
    .values(status=AlertStatus.RESOLVED.value, resolved_at=bindparam("at"), open_key=None)
)


def _integration(container: Container) -> int:
    with transaction(container.session_factory, clock=container.clock) as session:
        integration = Integration(
            name="prepared",
            kind=IntegrationKind.EVENTS_V2,
            key_hash="x" * 64,
            key_prefix="x",
            created_at=datetime.now(UTC),
        )
        session.add(integration)
        session.flush()
        return integration.id


def _alert_values(integration_id: int, seen: datetime) -> dict[str, object]:
    return {
        "integration_id": integration_id,
        "dedup_key": "disk-full",
        "open_key": "disk-full",
        "status": AlertStatus.TRIGGERED,
        "severity": "critical",
        "summary": "Disk full",
        "labels": {"team": "database", "zone": "eu-1"},
        "details": {},
        "links": [],
        "payload": {"raw": True},
        "count": 1,
        "first_seen_at": seen,
        "last_seen_at": seen,
        "routed": False,
        "suppressed": False,
        "reopen_count": 0,
    }


def test_values_round_trip_through_the_types_as_the_orm_reads_them(container: Container) -> None:
    integration_id = _integration(container)
    seen = datetime(2025, 10, 22, 15, 1, tzinfo=timezone(timedelta(hours=2)))
    with container.session_factory() as session:
        alert_id, last_seen = NEW_ALERT.one(session, _alert_values(integration_id, seen))
        assert last_seen == seen and last_seen.tzinfo == UTC
        status, labels, first_seen = STATUS_AND_LABELS.one(session, {"alert_id": alert_id})
        assert (status, labels, first_seen) == (
            "triggered",
            {"team": "database", "zone": "eu-1"},
            seen,
        )
        RESOLVE.run(session, {"alert_id": alert_id, "at": seen + timedelta(hours=6)})
        session.commit()
    with container.session_factory() as session:
        alert = session.get(Alert, alert_id)
        assert alert is not None
        assert alert.status == AlertStatus.RESOLVED and alert.open_key is None
        assert alert.resolved_at == datetime(2025, 10, 22, 19, 1, tzinfo=UTC)
        assert alert.labels == {"team": "database", "zone": "eu-1"}


def test_it_writes_in_the_sessions_transaction(container: Container) -> None:
    integration_id = _integration(container)
    with container.session_factory() as session:
        NEW_ALERT.one(session, _alert_values(integration_id, datetime.now(UTC)))
        session.rollback()
    with container.session_factory() as session:
        assert session.scalars(select(Alert)).all() == []


def test_first_is_none_without_a_row(container: Container) -> None:
    with container.session_factory() as session:
        assert STATUS_AND_LABELS.first(session, {"alert_id": 404}) is None
        with pytest.raises(LookupError):
            STATUS_AND_LABELS.one(session, {"alert_id": 404})


def test_statements_it_cannot_run_as_written_are_refused(container: Container) -> None:
    integration_id = _integration(container)
    listed = Prepared(select(ALERTS.c.id).where(ALERTS.c.status.in_(["triggered", "resolved"])))
    with container.session_factory() as session, pytest.raises(UnpreparableStatement, match="IN"):
        listed.first(session, {})
    values = _alert_values(integration_id, datetime.now(UTC))
    del values["routed"]  # has a Python-side default the statement would have to compute
    with (
        container.session_factory() as session,
        pytest.raises(UnpreparableStatement, match="routed"),
    ):
        NEW_ALERT.one(session, values)
