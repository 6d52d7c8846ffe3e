"""Response checklists: each incident gets a copy of its severity's protocol (the template)
when it opens, each item due some minutes after the incident started. Items with a `check`
tick themselves when their condition holds (`record`); people tick the others.
`compliance` says, per item, whether it was done on time, late (by how much) or missed.
Functions flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from escalate.auth.models import Role
from escalate.auth.permissions import Actor, Permission, authorize
from escalate.clock import Clock
from escalate.errors import InvalidTransition, NotFound, PermissionDenied
from escalate.incidents import events
from escalate.incidents.guards import locked, require_responder
from escalate.incidents.models import (
    ChecklistItem,
    ChecklistTemplateItem,
    Incident,
    IncidentSeverity,
    IncidentStatus,
)

COMMANDER_ASSIGNED = "commander_assigned"
COMMUNICATIONS_LEAD_ASSIGNED = "communications_lead_assigned"
CUSTOMERS_ACKNOWLEDGED = "customers_acknowledged"
FIRST_UPDATE = "first_update"
UPDATE_CADENCE = "update_cadence"
CHECKS = frozenset(
    {
        COMMANDER_ASSIGNED,
        COMMUNICATIONS_LEAD_ASSIGNED,
        CUSTOMERS_ACKNOWLEDGED,
        FIRST_UPDATE,
        UPDATE_CADENCE,
    }
)


def _base(incident: Incident) -> datetime:
    return incident.started_at or incident.opened_at


def _due(incident: Incident, due_minutes: int | None) -> datetime | None:
    return None if due_minutes is None else _base(incident) + timedelta(minutes=due_minutes)


def template(session: Session, *, severity: IncidentSeverity) -> list[ChecklistTemplateItem]:
    """The protocol of a severity, in order."""
    return list(
        session.scalars(
            select(ChecklistTemplateItem)
            .where(ChecklistTemplateItem.severity == severity)
            .order_by(ChecklistTemplateItem.position, ChecklistTemplateItem.id)
        )
    )


@dataclass(frozen=True)
class TemplateEntry:
    title: str
    due_minutes: int | None
    check: str | None


def replace_template(
    session: Session,
    clock: Clock,
    *,
    actor: Actor,
    severity: IncidentSeverity,
    entries: list[TemplateEntry],
) -> list[ChecklistTemplateItem]:
    """Replace a severity's protocol (admins only). Incidents already open keep theirs."""
    authorize(actor, Permission.READ)
    if actor.role != Role.ADMIN:
        raise PermissionDenied("only an admin may edit the response protocol")
    session.execute(delete(ChecklistTemplateItem).where(ChecklistTemplateItem.severity == severity))
    now = clock.now()
    for position, entry in enumerate(entries):
        session.add(
            ChecklistTemplateItem(
                severity=severity,
                position=position,
                title=entry.title,
                due_minutes=entry.due_minutes,
                check=entry.check,
                created_at=now,
            )
        )
    session.flush()
    return template(session, severity=severity)


def items(session: Session, *, incident_id: int) -> list[ChecklistItem]:
    """The incident's checklist, in order."""
    return list(
        session.scalars(
            select(ChecklistItem)
            .where(ChecklistItem.incident_id == incident_id)
            .order_by(ChecklistItem.position, ChecklistItem.id)
        )
    )


def attach(session: Session, incident: Incident) -> None:
    """Copy the severity's protocol to a new incident (once: a second call adds nothing)."""
    if session.scalar(select(ChecklistItem.id).where(ChecklistItem.incident_id == incident.id)):
        return
    for entry in template(session, severity=incident.severity):
        session.add(_copy(incident, entry))
    session.flush()


def _copy(incident: Incident, entry: ChecklistTemplateItem) -> ChecklistItem:
    return ChecklistItem(
        incident_id=incident.id,
        position=entry.position,
        title=entry.title,
        check=entry.check,
        due_at=_due(incident, entry.due_minutes),
    )


def replan(session: Session, incident: Incident) -> None:
    """After a severity change the new severity's protocol applies: items not done yet give
    way to its items; done ones it also has (matched by check or title) stay done, judged
    against its due times and in its order; done ones it lacks stay, after them."""
    current = items(session, incident_id=incident.id)
    done = [item for item in current if item.done_at is not None]
    for item in current:
        if item.done_at is None:
            session.delete(item)
    protocol = template(session, severity=incident.severity)
    for item in done:
        item.position = len(protocol) + item.position
    for entry in protocol:
        match = next(
            (i for i in done if (entry.check and i.check == entry.check) or i.title == entry.title),
            None,
        )
        if match is None:
            session.add(_copy(incident, entry))
            continue
        match.position = entry.position
        match.due_at = _due(incident, entry.due_minutes)
    session.flush()


def reschedule(session: Session, incident: Incident) -> None:
    """After the start time changed: not-done items are due from the new start."""
    minutes = {
        entry.title: entry.due_minutes for entry in template(session, severity=incident.severity)
    }
    for item in items(session, incident_id=incident.id):
        if item.done_at is None and item.title in minutes:
            item.due_at = _due(incident, minutes[item.title])
    session.flush()


def record(
    session: Session,
    clock: Clock,
    incident_id: int,
    check_code: str,
    at: datetime,
    by_user_id: int | None,
) -> int:
    """The condition `check_code` now holds (e.g. a customer-facing update was posted):
    tick the incident's open items with that check, done at `at`. Returns how many."""
    ticked = 0
    for item in session.scalars(
        select(ChecklistItem).where(
            ChecklistItem.incident_id == incident_id,
            ChecklistItem.check == check_code,
            ChecklistItem.done_at.is_(None),
        )
    ):
        item.done_at = at
        item.done_by_user_id = by_user_id
        ticked += 1
        events.record_event(
            session,
            incident_id=incident_id,
            at=clock.now(),
            kind="checklist",
            summary=f"Checklist: {item.title} (done automatically)",
            actor_user_id=by_user_id,
            actor_label="checklist",
            data={"item_id": item.id, "check": check_code},
        )
    session.flush()
    return ticked


def _item(session: Session, incident_id: int, item_id: int) -> ChecklistItem:
    item = session.get(ChecklistItem, item_id) if 0 < item_id < 2**63 else None
    if item is None or item.incident_id != incident_id:
        raise NotFound(f"checklist item {item_id} not found in this incident", field="item_id")
    return item


def mark(
    session: Session, clock: Clock, *, actor: Actor, incident_id: int, item_id: int, done: bool
) -> ChecklistItem:
    """Tick (or untick) an item by hand; ticking a done item keeps its first time."""
    require_responder(actor, "tick checklist items")
    locked(session, incident_id)
    item = _item(session, incident_id, item_id)
    if done == (item.done_at is not None):
        return item
    if not done and item.check:
        # Its time is a fact Escalate recorded (the role was given, the update went out):
        # unticking it would rewrite the compliance the postmortem reads.
        raise InvalidTransition(
            f"'{item.title}' was recorded when it happened and cannot be unticked",
            field="done",
        )
    now = clock.now()
    item.done_at = now if done else None
    item.done_by_user_id = actor.user_id if done else None
    events.record_by(
        session,
        actor,
        incident_id=incident_id,
        at=now,
        kind="checklist",
        summary=f"Checklist: {item.title} {'done' if done else 'not done after all'}",
        data={"item_id": item.id, "done": done},
    )
    session.flush()
    return item


@dataclass(frozen=True)
class Compliance:
    """One item's outcome: `on_time`, `late` (by `late_minutes`), `missed` (never done,
    incident resolved), `pending` (not done yet, incident open) or `done` (no due time)."""

    item_id: int
    title: str
    check: str | None
    due_at: datetime | None
    done_at: datetime | None
    done_by_user_id: int | None
    outcome: str
    late_minutes: int | None


def assess(item: ChecklistItem, *, resolved: bool) -> Compliance:
    """Pure: an item's compliance."""
    late: int | None = None
    if item.done_at is None:
        outcome = "missed" if resolved else "pending"
    elif item.due_at is None:
        outcome = "done"
    elif item.done_at <= item.due_at:
        outcome = "on_time"
    else:
        outcome = "late"
        late = -(-int((item.done_at - item.due_at).total_seconds()) // 60)
    return Compliance(
        item_id=item.id,
        title=item.title,
        check=item.check,
        due_at=item.due_at,
        done_at=item.done_at,
        done_by_user_id=item.done_by_user_id,
        outcome=outcome,
        late_minutes=late,
    )


def compliance(session: Session, incident_id: int) -> list[Compliance]:
    """Each checklist item: done on time, late (by how much, rounded up to the minute),
    missed, or still pending. For the postmortem."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id} not found", field="incident_id")
    resolved = incident.status == IncidentStatus.RESOLVED
    return [assess(item, resolved=resolved) for item in items(session, incident_id=incident_id)]
