"""An incident's timeline: what its services recorded (`incident_events`: pages,
acknowledgements, status and role changes, updates, notes, SLA reminders and breaches) and
the monitoring alerts grouped into it (each alert's first sight and its resolution by the
tool), merged in time order and paged in SQL.

Alerts are read from the alerts table rather than copied into `incident_events` when they
arrive: the ingest path stays one INSERT lighter, and the timeline cannot miss an alert
whatever way it reached the incident (opened it, joined it, re-opened it). Alert lines are
internal: customers never see monitoring detail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, literal, select, union_all
from sqlalchemy.orm import Session

from escalate.alerts.models import Alert, Integration
from escalate.incidents.models import IncidentEvent
from escalate.pagination import Page, PageParams

EVENT = "event"
ALERT = "alert"
ALERT_RESOLVED = "alert_resolved"


@dataclass(frozen=True)
class TimelineEntry:
    """One line. `source` says where it comes from ("event": `id` is the event's;
    "alert", "alert_resolved": `id` is the alert's)."""

    id: int
    source: str
    at: datetime
    kind: str
    actor_user_id: int | None
    actor_label: str
    summary: str
    internal: bool
    data: dict[str, Any] = field(default_factory=dict)


def entries(
    session: Session, *, incident_id: int, page: PageParams, internal: bool | None = None
) -> Page[TimelineEntry]:
    """A page of the incident's timeline, oldest first (`internal=False`: only what
    customers may see, which leaves the alerts out)."""
    keys = _keys(incident_id, internal)
    total = int(session.scalar(select(func.count()).select_from(keys)) or 0)
    rows = session.execute(
        select(keys.c.source, keys.c.id)
        .order_by(keys.c.at, keys.c.rank, keys.c.id)
        .limit(page.limit)
        .offset(page.offset)
    ).all()
    loaded = _load(session, rows)
    items = [loaded[(source, row_id)] for source, row_id in rows]
    return Page(items=items, total=total, limit=page.limit, offset=page.offset)


def _keys(incident_id: int, internal: bool | None) -> Any:
    events = select(
        literal(EVENT).label("source"),
        IncidentEvent.id.label("id"),
        IncidentEvent.at.label("at"),
        literal(1).label("rank"),
    ).where(IncidentEvent.incident_id == incident_id)
    if internal is not None:
        events = events.where(IncidentEvent.internal.is_(internal))
    if internal is False:
        return events.subquery()
    # An alert sorts before the event of the same instant (it is what the page reacts to).
    seen = select(
        literal(ALERT).label("source"),
        Alert.id.label("id"),
        Alert.first_seen_at.label("at"),
        literal(0).label("rank"),
    ).where(Alert.incident_id == incident_id)
    resolved = select(
        literal(ALERT_RESOLVED).label("source"),
        Alert.id.label("id"),
        Alert.resolved_at.label("at"),
        literal(2).label("rank"),
    ).where(Alert.incident_id == incident_id, Alert.resolved_at.is_not(None))
    return union_all(events, seen, resolved).subquery()


def _load(session: Session, rows: Sequence[Any]) -> dict[tuple[str, int], TimelineEntry]:
    event_ids = [row_id for source, row_id in rows if source == EVENT]
    alert_ids = sorted({row_id for source, row_id in rows if source != EVENT})
    loaded: dict[tuple[str, int], TimelineEntry] = {}
    if event_ids:
        for event in session.scalars(select(IncidentEvent).where(IncidentEvent.id.in_(event_ids))):
            loaded[(EVENT, event.id)] = _from_event(event)
    if alert_ids:
        for alert, tool in session.execute(
            select(Alert, Integration.name)
            .join(Integration, Integration.id == Alert.integration_id)
            .where(Alert.id.in_(alert_ids))
        ):
            loaded[(ALERT, alert.id)] = _alert_seen(alert, tool)
            if alert.resolved_at is not None:
                loaded[(ALERT_RESOLVED, alert.id)] = _alert_resolved(alert, tool)
    return loaded


def _from_event(event: IncidentEvent) -> TimelineEntry:
    return TimelineEntry(
        id=event.id,
        source=EVENT,
        at=event.at,
        kind=event.kind,
        actor_user_id=event.actor_user_id,
        actor_label=event.actor_label,
        summary=event.summary,
        internal=event.internal,
        data=dict(event.data or {}),
    )


def _alert_data(alert: Alert) -> dict[str, Any]:
    return {
        "alert_id": alert.id,
        "severity": str(alert.severity),
        "source": alert.source,
        "count": alert.count,
        "dedup_key": alert.dedup_key,
    }


def _alert_seen(alert: Alert, tool: str) -> TimelineEntry:
    repeats = ""
    if alert.count > 1:
        repeats = f"; seen {alert.count} times, last {alert.last_seen_at:%Y-%m-%d %H:%M} UTC"
    where = f" on {alert.source}" if alert.source else ""
    return TimelineEntry(
        id=alert.id,
        source=ALERT,
        at=alert.first_seen_at,
        kind="alert",
        actor_user_id=None,
        actor_label=tool,
        summary=f"Alert ({alert.severity}){where}: {alert.summary}{repeats}",
        internal=True,
        data=_alert_data(alert),
    )


def _alert_resolved(alert: Alert, tool: str) -> TimelineEntry:
    assert alert.resolved_at is not None
    return TimelineEntry(
        id=alert.id,
        source=ALERT_RESOLVED,
        at=alert.resolved_at,
        kind="alert_resolved",
        actor_user_id=None,
        actor_label=tool,
        summary=f"Alert resolved: {alert.summary}",
        internal=True,
        data=_alert_data(alert),
    )
