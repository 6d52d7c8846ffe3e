"""Reading an incident's SLA clocks as people see them: an open clock's lateness live at
`now`, an update clock of a resolved incident closed, and the affected accounts that get no
clocks at all, with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalate.accounts.models import Account
from escalate.auth.permissions import Actor
from escalate.clock import Clock
from escalate.incidents import service as incident_service
from escalate.incidents.models import AffectedAccount, Incident
from escalate.pagination import Page, PageParams
from escalate.sla import calculator
from escalate.sla.calculator import ClockStatus
from escalate.sla.clocks import clock_label, incident_start, targets_for
from escalate.sla.models import ClockKind, SlaClock


@dataclass(frozen=True)
class ClockView:
    """A clock as people read it, with the live lateness of an open one."""

    id: int
    incident_id: int
    account_id: int
    account_name: str
    kind: ClockKind
    sequence: int
    label: str
    target_minutes: int
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    breached: bool
    late_minutes: int | None
    status: ClockStatus
    minutes_left: int | None


def view(row: SlaClock, account_name: str, incident: Incident, now: datetime) -> ClockView:
    """The clock at `now`: an open one overdue is breached and as late as now says; an
    update clock of a resolved incident is closed."""
    closed = (
        row.met_at is None and row.kind == ClockKind.UPDATE and incident.resolved_at is not None
    )
    breached, late = row.breached, row.late_minutes
    minutes_left = None
    if row.met_at is None and not closed:
        live = calculator.late_minutes(row.due_at, now)
        breached, late = live is not None, live
        if live is None:
            minutes_left = int((row.due_at - now).total_seconds() // 60)
    if row.met_at is not None:
        status = ClockStatus.BREACHED if breached else ClockStatus.MET
    elif breached:
        status = ClockStatus.BREACHED
    else:
        status = ClockStatus.CLOSED if closed else ClockStatus.OPEN
    return ClockView(
        id=row.id,
        incident_id=row.incident_id,
        account_id=row.account_id,
        account_name=account_name,
        kind=ClockKind(row.kind),
        sequence=row.sequence,
        label=clock_label(row.kind, row.sequence),
        target_minutes=row.target_minutes,
        started_at=row.started_at,
        due_at=row.due_at,
        met_at=row.met_at,
        breached=breached,
        late_minutes=late,
        status=status,
        minutes_left=minutes_left,
    )


@dataclass(frozen=True)
class Unclocked:
    """An affected account the incident owes no SLA promise, and why."""

    account_id: int
    account_name: str
    reason: str


def accounts_without_clocks(session: Session, *, incident: Incident) -> list[Unclocked]:
    """The incident's affected (not excluded) accounts whose contract sets no targets for
    it, by name. Reads only."""
    rows = session.execute(
        select(Account.id, Account.name)
        .join(AffectedAccount, AffectedAccount.account_id == Account.id)
        .where(AffectedAccount.incident_id == incident.id, AffectedAccount.excluded.is_(False))
        .order_by(Account.name)
    ).all()
    start = incident_start(incident)
    found = []
    for account_id, name in rows:
        targets = targets_for(session, account_id=account_id, at=start, severity=incident.severity)
        if isinstance(targets, str):
            found.append(Unclocked(account_id, name, targets))
    return found


KIND_ORDER = {ClockKind.ACKNOWLEDGEMENT: 0, ClockKind.UPDATE: 1, ClockKind.RESOLUTION: 2}


def views_of(
    session: Session, clock: Clock, *, incident: Incident, account_id: int | None = None
) -> list[ClockView]:
    """The incident's clocks as of now (of one account, if given), by account name, then
    acknowledgement, the updates in order, resolution. No permission check: for callers
    that did their own (the customer portal checks the account is the portal user's)."""
    stmt = (
        select(SlaClock, Account.name)
        .join(Account, Account.id == SlaClock.account_id)
        .where(SlaClock.incident_id == incident.id)
    )
    if account_id is not None:
        stmt = stmt.where(SlaClock.account_id == account_id)
    now = clock.now()
    views = [view(row, name, incident, now) for row, name in session.execute(stmt).all()]
    views.sort(key=lambda v: (v.account_name.lower(), v.account_id, KIND_ORDER[v.kind], v.sequence))
    return views


def list_for_incident(
    session: Session,
    clock: Clock,
    *,
    actor: Actor,
    incident_id: int,
    page: PageParams,
    account_id: int | None = None,
) -> Page[ClockView]:
    """A page of the incident's clocks as of now (see views_of), for staff who may read
    incidents. NotFound for an unknown incident."""
    incident = incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    views = views_of(session, clock, incident=incident, account_id=account_id)
    items = views[page.offset : page.offset + page.limit]
    return Page(items=items, total=len(views), limit=page.limit, offset=page.offset)
