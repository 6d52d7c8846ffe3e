"""Incidents opened and moved by alerts, and read by people. Functions flush, never commit;
the caller owns the transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Table,
    bindparam,
    false,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, selectinload

from escalate.accounts import service as account_service
from escalate.auth.permissions import Actor, Permission, authorize
from escalate.db import find
from escalate.errors import NotFound
from escalate.incidents import observers
from escalate.incidents.models import (
    AffectedAccount,
    Counter,
    Incident,
    IncidentEvent,
    IncidentRole,
    IncidentService,
    IncidentSeverity,
    IncidentStatus,
)
from escalate.jobs import service as job_service
from escalate.notify.models import Notification
from escalate.pagination import Page, PageParams, paginate
from escalate.prepared import Prepared

INCIDENT_COUNTER = "incident"
# The job that starts an incident's escalation; its handler lives in oncall.escalation.
TRIGGER_ESCALATION = "escalation.trigger"
# The job that derives a new incident's affected accounts and attaches its checklist
# (incidents.opening); queued by the ingest path so that its INSERT stays cheap.
OPENED_JOB = "incidents.opened"
# Every status but resolved.
OPEN = tuple(status for status in IncidentStatus if status != IncidentStatus.RESOLVED)


_COUNTERS = cast(Table, Counter.__table__)
_TAKE_NUMBER = Prepared(
    update(_COUNTERS)
    .where(_COUNTERS.c.name == bindparam("counter"))
    .values(value=_COUNTERS.c.value + 1)
    .returning(_COUNTERS.c.value)
)


def next_number(session: Session) -> int:
    """The next incident number. The row lock of the UPDATE makes concurrent takers wait,
    so numbers never repeat; a rolled-back transaction gives its number back."""
    taken = _TAKE_NUMBER.first(session, {"counter": INCIDENT_COUNTER})
    if taken is None:  # a database made before the counter was seeded by migration 0004
        session.add(Counter(name=INCIDENT_COUNTER, value=1))
        session.flush()
        return 1
    return int(taken[0])


@dataclass(frozen=True)
class NewAlert:
    """What an incident needs to know of an alert that joins or opens it."""

    title: str
    severity: IncidentSeverity
    service_id: int | None
    escalation_policy: str | None
    grouping_key: str


def join_or_open(session: Session, now: datetime, alert: NewAlert, *, window: timedelta) -> int:
    """The id of the open incident with the alert's grouping key that saw an alert within
    the window, now with this alert counted in; or of a new incident. A more severe alert
    raises the incident's severity; a milder one never lowers it. Plain SQL: this runs for
    every new alert on the ingest path."""
    lock_incidents(session)
    found = _FIND_OPEN.first(session, {"grouping_key": alert.grouping_key, "since": now - window})
    if found is None:
        opened = int(
            _OPEN_INCIDENT.one(
                session,
                {
                    "number": next_number(session),
                    "title": alert.title[:1024] or "Untitled alert",
                    "severity": alert.severity.value,
                    "service_id": alert.service_id,
                    "grouping_key": alert.grouping_key,
                    "escalation_policy": alert.escalation_policy,
                    "now": now,
                },
            )[0]
        )
        job_service.enqueue(
            session,
            _At(now),
            kind=OPENED_JOB,
            payload={"incident_id": opened},
            idempotency_key=f"{OPENED_JOB}:{opened}",
        )
        if alert.escalation_policy:
            queue_trigger(session, now, opened, opening=0)
        return opened
    incident_id, severity = found
    _JOIN_INCIDENT.run(
        session, {"incident_id": incident_id, "now": now, "severity": _worse(alert, severity)}
    )
    return int(incident_id)


_INCIDENTS = cast(Table, Incident.__table__)
_FIND_OPEN = Prepared(
    select(_INCIDENTS.c.id, _INCIDENTS.c.severity)
    .where(
        _INCIDENTS.c.grouping_key == bindparam("grouping_key"),
        # Not IN (OPEN): a prepared statement takes no list parameter (every status but
        # resolved is open).
        _INCIDENTS.c.status != IncidentStatus.RESOLVED.value,
        _INCIDENTS.c.last_alert_at >= bindparam("since"),
    )
    .order_by(_INCIDENTS.c.id.desc())
    .limit(1)
)
_OPEN_INCIDENT = Prepared(
    insert(_INCIDENTS)
    .values(
        number=bindparam("number"),
        title=bindparam("title"),
        severity=bindparam("severity"),
        status=IncidentStatus.TRIGGERED.value,
        service_id=bindparam("service_id"),
        grouping_key=bindparam("grouping_key"),
        escalation_policy=bindparam("escalation_policy"),
        opened_at=bindparam("now"),
        started_at=bindparam("now"),
        detected_at=bindparam("now"),
        last_alert_at=bindparam("now"),
        alert_count=1,
        reopen_count=0,
        escalation_generation=0,
        escalation_round=0,
    )
    .returning(_INCIDENTS.c.id)
)
_TOUCH_INCIDENT = Prepared(
    update(_INCIDENTS)
    .where(_INCIDENTS.c.id == bindparam("incident_id"))
    .values(last_alert_at=bindparam("now"), severity=bindparam("severity"))
)
_JOIN_INCIDENT = Prepared(
    update(_INCIDENTS)
    .where(_INCIDENTS.c.id == bindparam("incident_id"))
    .values(
        alert_count=_INCIDENTS.c.alert_count + 1,
        last_alert_at=bindparam("now"),
        severity=bindparam("severity"),
    )
)


def queue_trigger(session: Session, now: datetime, incident_id: int, *, opening: int) -> None:
    """Queue the start of the incident's escalation (oncall.escalation runs it), in the
    caller's transaction: one INSERT on the ingest path. `opening` counts re-openings, so
    each opening escalates once however often this is called for it."""
    job_service.enqueue(
        session,
        _At(now),
        kind=TRIGGER_ESCALATION,
        payload={"incident_id": incident_id},
        idempotency_key=f"{TRIGGER_ESCALATION}:{incident_id}:{opening}",
    )


class _At:
    """The ingest path passes `now`, not a clock: a clock stopped at that moment."""

    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now


def find_open(
    session: Session, now: datetime, *, grouping_key: str, window: timedelta
) -> Incident | None:
    """The open incident an alert with this grouping key would join now, if any."""
    return session.scalar(
        select(Incident)
        .where(
            Incident.grouping_key == grouping_key,
            Incident.status.in_(OPEN),
            Incident.last_alert_at >= now - window,
        )
        .order_by(Incident.id.desc())
        .limit(1)
    )


# One advisory lock for every change to incidents on PostgreSQL (SQLite has one writer
# already). Per-group locks deadlocked: a batch takes several groups, in any order, and the
# incident counter's row lock besides; under one lock, taken before the counter, no cycle
# is possible. It serialises only the transactions that touch incidents, until they commit.
_INCIDENTS_LOCK_ID = 1 << 40
_LOCK_INCIDENTS = Prepared(
    select(func.pg_advisory_xact_lock(bindparam("lock_id", type_=BigInteger)))
)


def lock_incidents(session: Session) -> None:
    """Take the incidents lock for the rest of the transaction (call before reading an
    incident to change it)."""
    if session.get_bind().dialect.name == "postgresql":
        _LOCK_INCIDENTS.run(session, {"lock_id": _INCIDENTS_LOCK_ID})


def rejoin(
    session: Session, now: datetime, alert: NewAlert, *, window: timedelta, previous_id: int | None
) -> int:
    """The incident of a flapping alert that came back: the open incident of its group if
    there is one (it may be its own); else its previous incident re-opened when that is of
    the same group; else a new one (as join_or_open)."""
    lock_incidents(session)
    found = _FIND_OPEN.first(session, {"grouping_key": alert.grouping_key, "since": now - window})
    if found is None and previous_id is not None:
        group = session.scalar(select(Incident.grouping_key).where(Incident.id == previous_id))
        if group == alert.grouping_key:
            alert_reopened(session, now, previous_id)
            return previous_id
    if found is not None and previous_id is not None and found[0] == previous_id:
        # Still open, and it was counted when the alert first joined it.
        _TOUCH_INCIDENT.run(
            session,
            {"incident_id": previous_id, "now": now, "severity": _worse(alert, found[1])},
        )
        return previous_id
    return join_or_open(session, now, alert, window=window)


def _worse(alert: NewAlert, severity: str) -> str:
    return (
        alert.severity.value if alert.severity.rank < IncidentSeverity(severity).rank else severity
    )


def alert_reopened(session: Session, now: datetime, incident_id: int) -> None:
    """A flapping alert came back: its incident re-opens if it had resolved, and escalates
    again from step 1 of its policy."""
    reopen_impact_windows(session, incident_id)
    reopened = session.execute(
        update(Incident)
        .where(Incident.id == incident_id, Incident.status == IncidentStatus.RESOLVED)
        .values(
            status=IncidentStatus.TRIGGERED,
            resolved_at=None,
            mitigated_at=None,  # it came back: not mitigated after all
            acknowledged_at=None,
            acknowledged_by_user_id=None,
            resolved_by_user_id=None,
            reopen_count=Incident.reopen_count + 1,
        )
        .returning(Incident.reopen_count, Incident.escalation_policy)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if reopened is not None:
        _note(session, now, incident_id, "reopened", "Re-opened: a resolved alert fired again")
        observers.incident_changed(session, _At(now), incident_id)
        if reopened.escalation_policy:
            queue_trigger(session, now, incident_id, opening=int(reopened.reopen_count))
    # A re-opened alert counts as a new one for the grouping window.
    session.execute(
        update(Incident)
        .where(Incident.id == incident_id)
        .values(last_alert_at=now)
        .execution_options(synchronize_session=False)
    )


def close_impact_windows(session: Session, incident_id: int, at: datetime) -> None:
    """The incident resolved at `at`: every affected account's impact that has no end of
    its own ends then (an end set by hand is kept)."""
    session.execute(
        update(AffectedAccount)
        .where(
            AffectedAccount.incident_id == incident_id,
            AffectedAccount.impact_end.is_(None),
            or_(AffectedAccount.impact_start.is_(None), AffectedAccount.impact_start <= at),
        )
        .values(impact_end=at)
        .execution_options(synchronize_session="fetch")
    )


def reopen_impact_windows(session: Session, incident_id: int) -> None:
    """The resolved incident re-opens: impacts that ended with its resolution go on. Call
    it before the incident's resolved_at is cleared."""
    resolved_at = (
        select(Incident.resolved_at)
        .where(Incident.id == incident_id, Incident.status == IncidentStatus.RESOLVED)
        .scalar_subquery()
    )
    session.execute(
        update(AffectedAccount)
        .where(
            AffectedAccount.incident_id == incident_id, AffectedAccount.impact_end == resolved_at
        )
        .values(impact_end=None)
        .execution_options(synchronize_session="fetch")
    )


def alert_acknowledged(session: Session, now: datetime, incident_id: int) -> None:
    """An acknowledged alert acknowledges its triggered incident (as PagerDuty does)."""
    lock_incidents(session)
    result = session.execute(
        update(Incident)
        .where(Incident.id == incident_id, Incident.status == IncidentStatus.TRIGGERED)
        .values(
            status=IncidentStatus.ACKNOWLEDGED,
            acknowledged_at=now,
            # Stops the escalation: a timer queued under the old generation does nothing.
            escalation_generation=Incident.escalation_generation + 1,
            next_escalation_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0):
        _note(session, now, incident_id, "acknowledged", "Acknowledged: its alert was acknowledged")
        observers.incident_changed(session, _At(now), incident_id)


def resolve_if_all_resolved(
    session: Session, now: datetime, incident_id: int, *, open_alerts: int
) -> bool:
    """Resolve the incident when none of its alerts is open any more."""
    if open_alerts:
        return False
    result = session.execute(
        update(Incident)
        .where(Incident.id == incident_id, Incident.status.in_(OPEN))
        .values(
            status=IncidentStatus.RESOLVED,
            resolved_at=now,
            mitigated_at=func.coalesce(Incident.mitigated_at, now),
            escalation_generation=Incident.escalation_generation + 1,
            next_escalation_at=None,
        )
        .execution_options(synchronize_session=False)
    )
    resolved = bool(getattr(result, "rowcount", 0))
    if resolved:
        close_impact_windows(session, incident_id, now)
        _note(session, now, incident_id, "resolved", "Resolved: all its alerts resolved")
        observers.incident_changed(session, _At(now), incident_id)
    return resolved


_EVENTS = cast(Table, IncidentEvent.__table__)
_ADD_EVENT = Prepared(
    insert(_EVENTS).values(
        incident_id=bindparam("incident_id"),
        at=bindparam("at"),
        kind=bindparam("kind"),
        actor_user_id=None,
        actor_label="alerts",
        summary=bindparam("summary"),
        data=bindparam("data"),
        internal=True,
    )
)


def _note(session: Session, now: datetime, incident_id: int, kind: str, summary: str) -> None:
    """A timeline line for a change the alerts made (only when the state really changed)."""
    _ADD_EVENT.run(
        session,
        {"incident_id": incident_id, "at": now, "kind": kind, "summary": summary, "data": {}},
    )


# --- reads -------------------------------------------------------------------------------


def list_incidents(
    session: Session,
    *,
    actor: Actor,
    page: PageParams,
    status: IncidentStatus | None = None,
    severity: IncidentSeverity | None = None,
    service: str | None = None,
    open_only: bool | None = None,
    mine: bool = False,
    account: str | None = None,
) -> Page[Incident]:
    """Incidents, newest first. `service` (a name or id) matches the incident's own service
    or any it affects; `account` (a name or id) an account it affects (not excluded);
    `open_only` true: not resolved, false: resolved; `mine`: the actor holds a role on it
    or was paged for it."""
    authorize(actor, Permission.READ)
    stmt = select(Incident).options(selectinload(Incident.service))
    stmt = stmt.order_by(Incident.opened_at.desc(), Incident.id.desc())
    if status is not None:
        stmt = stmt.where(Incident.status == status)
    if open_only is not None:
        resolved = Incident.status == IncidentStatus.RESOLVED
        stmt = stmt.where(~resolved if open_only else resolved)
    if severity is not None:
        stmt = stmt.where(Incident.severity == severity)
    if service is not None:
        service_id = account_service.service_id_for(session, service)
        stmt = stmt.where(
            or_(
                Incident.service_id == service_id,
                Incident.id.in_(
                    select(IncidentService.incident_id).where(
                        IncidentService.service_id == service_id
                    )
                ),
            )
        )
    if account is not None:
        account_id = account_service.find_by_name_or_id(session, actor=actor, key=account).id
        stmt = stmt.where(
            Incident.id.in_(
                select(AffectedAccount.incident_id).where(
                    AffectedAccount.account_id == account_id, AffectedAccount.excluded.is_(False)
                )
            )
        )
    if mine:
        stmt = stmt.where(_mine(actor.user_id))
    return paginate(session, stmt, page)


def _mine(user_id: int | None) -> ColumnElement[bool]:
    if user_id is None:  # the CLI operator or the system hold no roles and get no pages
        return false()
    return or_(
        Incident.id.in_(select(IncidentRole.incident_id).where(IncidentRole.user_id == user_id)),
        Incident.id.in_(
            select(Notification.incident_id).where(
                Notification.user_id == user_id, Notification.incident_id.is_not(None)
            )
        ),
    )


def get_incident(session: Session, *, actor: Actor, incident_id: int) -> Incident:
    authorize(actor, Permission.READ)
    incident = find(session, Incident, incident_id, options=[selectinload(Incident.service)])
    if incident is None:
        raise NotFound(f"incident {incident_id} not found", field="incident_id")
    return incident


def get_incident_by_number(session: Session, *, actor: Actor, number: int) -> Incident:
    authorize(actor, Permission.READ)
    incident = session.scalar(select(Incident).where(Incident.number == number))
    if incident is None:
        raise NotFound(f"incident #{number} not found", field="number")
    return incident
