"""What people do to incidents: declare one by hand, move it through its statuses, reopen
it, edit it; and the timeline that records it. Functions flush, never commit.

The moves (`allowed`, one rule for every adapter): forward along
triggered -> acknowledged -> investigating -> identified -> monitoring -> resolved, skipping
steps if need be; monitoring back to investigating or identified (a relapse); out of
resolved only by `reopen`. Acknowledging an incident someone is on already is a no-op that
answers it as it is (two people pressing the button together both get what they wanted);
acknowledging or resolving a resolved incident is an InvalidTransition (409)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from escalate.accounts import service as account_service
from escalate.auth.permissions import Actor
from escalate.clock import Clock
from escalate.errors import InvalidTransition, ValidationFailed
from escalate.incidents import affected, checklists, observers, opening
from escalate.incidents import service as incident_service
from escalate.incidents import timeline as timeline_reads
from escalate.incidents.events import SYSTEM_LABEL, who
from escalate.incidents.events import record_event as _record_event
from escalate.incidents.guards import RESPONDERS, locked, require_responder
from escalate.incidents.models import Incident, IncidentEvent, IncidentSeverity, IncidentStatus
from escalate.incidents.schemas import IncidentDeclare
from escalate.pagination import Page, PageParams

__all__ = ["RESPONDERS", "SYSTEM_LABEL", "record_event"]

ORDER = list(IncidentStatus)
_RELAPSE = {IncidentStatus.INVESTIGATING, IncidentStatus.IDENTIFIED}


def allowed(current: IncidentStatus, to: IncidentStatus) -> bool:
    """Pure: may an incident in `current` move to `to` (without reopening)?"""
    if current == IncidentStatus.RESOLVED:
        return False
    if ORDER.index(to) > ORDER.index(current):
        return True
    return current == IncidentStatus.MONITORING and to in _RELAPSE


def next_statuses(current: IncidentStatus) -> list[IncidentStatus]:
    """The statuses an incident may move to now, in lifecycle order (for buttons)."""
    return [status for status in ORDER if allowed(current, status)]


def _refuse(incident: Incident, to: IncidentStatus) -> InvalidTransition:
    if incident.status == IncidentStatus.RESOLVED:
        return InvalidTransition(
            f"incident #{incident.number}: resolved -> {to.value} needs a reopen", field="status"
        )
    return InvalidTransition(
        f"incident #{incident.number}: {IncidentStatus(incident.status).value} -> {to.value} "
        "is not allowed",
        field="status",
    )


def record_event(
    session: Session,
    *,
    incident_id: int,
    at: datetime,
    kind: str,
    summary: str,
    actor_user_id: int | None = None,
    actor_label: str = SYSTEM_LABEL,
    data: dict[str, Any] | None = None,
) -> IncidentEvent:
    """Add one line to the incident's timeline."""
    return _record_event(
        session,
        incident_id=incident_id,
        at=at,
        kind=kind,
        summary=summary,
        actor_user_id=actor_user_id,
        actor_label=actor_label,
        data=data,
    )


def add_note(
    session: Session, clock: Clock, actor: Actor, incident_id: int, text: str
) -> IncidentEvent:
    """An internal note on the timeline: for responders, never shown to customers."""
    require_responder(actor, "write incident notes")
    text = text.strip()
    if not text:
        raise ValidationFailed("a note needs some text", field="text")
    incident = locked(session, incident_id)
    note = _record_event(
        session,
        incident_id=incident.id,
        at=clock.now(),
        kind="note",
        summary=text,
        actor_user_id=actor.user_id,
        actor_label=who(session, actor),
        data={},
    )
    session.flush()
    return note


def timeline(
    session: Session,
    *,
    actor: Actor,
    incident_id: int,
    page: PageParams,
    internal: bool | None = None,
) -> Page[timeline_reads.TimelineEntry]:
    """The incident's timeline with its alerts, oldest first (incidents.timeline);
    `internal=False` keeps the lines customers may see, `True` only the internal ones."""
    incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    return timeline_reads.entries(session, incident_id=incident_id, page=page, internal=internal)


def transition(
    session: Session,
    clock: Clock,
    actor: Actor,
    incident_id: int,
    to_status: IncidentStatus,
    note: str | None = None,
    *,
    via: str | None = None,
) -> Incident:
    """Move the incident to `to_status` (see the module's rule). Key times follow:
    leaving triggered acknowledges (escalation stops), entering monitoring marks it
    mitigated, resolving resolves. Moving to the status it has is a no-op."""
    require_responder(actor, "change an incident's status")
    to = IncidentStatus(to_status)
    incident = locked(session, incident_id)
    if incident.status == to and to != IncidentStatus.RESOLVED:
        return incident
    if not allowed(incident.status, to):
        raise _refuse(incident, to)
    now = clock.now()
    before = IncidentStatus(incident.status)
    incident.status = to
    if before == IncidentStatus.TRIGGERED and to != IncidentStatus.RESOLVED:
        incident.acknowledged_at = incident.acknowledged_at or now
        incident.acknowledged_by_user_id = incident.acknowledged_by_user_id or actor.user_id
    if to == IncidentStatus.MONITORING:
        incident.mitigated_at = now
    elif to in _RELAPSE and before == IncidentStatus.MONITORING:
        incident.mitigated_at = None  # it was not mitigated after all
    if to == IncidentStatus.RESOLVED:
        incident.resolved_at = now
        incident.resolved_by_user_id = actor.user_id
        incident.mitigated_at = incident.mitigated_at or now
        incident_service.close_impact_windows(session, incident.id, now)
    if to == IncidentStatus.RESOLVED or before == IncidentStatus.TRIGGERED:
        _stop_escalation(incident)
    name = who(session, actor)
    how = f" via {via}" if via else ""
    if to in (IncidentStatus.ACKNOWLEDGED, IncidentStatus.RESOLVED):
        summary = f"{to.value.capitalize()} by {name}{how}"
    else:
        summary = f"{before.value.capitalize()} -> {to.value} by {name}{how}"
    data: dict[str, Any] = {"from": before.value, "to": to.value}
    if via:
        data["via"] = via
    if note:
        data["note"] = note
        summary += f": {note}"
    _record_event(
        session,
        incident_id=incident.id,
        at=now,
        kind=to.value if to in (IncidentStatus.ACKNOWLEDGED, IncidentStatus.RESOLVED) else "status",
        summary=summary,
        actor_user_id=actor.user_id,
        actor_label=name,
        data=data,
    )
    session.flush()
    observers.incident_changed(session, clock, incident.id)
    return incident


def acknowledge(
    session: Session, clock: Clock, *, actor: Actor, incident_id: int, via: str | None = None
) -> Incident:
    """Acknowledge: someone is on it. Stops the escalation (the generation moves on, so the
    pending timer is stale). `via` says how ("e-mail link") for the timeline. An incident
    past triggered is answered as it is; a resolved one is refused."""
    require_responder(actor)
    incident = locked(session, incident_id)
    if incident.status == IncidentStatus.RESOLVED:
        raise InvalidTransition(
            f"incident #{incident.number} is resolved; it cannot be acknowledged "
            "(resolved -> acknowledged needs a reopen)",
            field="status",
        )
    if incident.status != IncidentStatus.TRIGGERED:
        return incident
    return transition(session, clock, actor, incident_id, IncidentStatus.ACKNOWLEDGED, via=via)


def resolve(
    session: Session, clock: Clock, *, actor: Actor, incident_id: int, via: str | None = None
) -> Incident:
    """Resolve: the problem is gone. Stops everything; an alert that comes back later
    re-opens the incident and escalates again."""
    require_responder(actor)
    incident = locked(session, incident_id)
    if incident.status == IncidentStatus.RESOLVED:
        raise InvalidTransition(f"incident #{incident.number} is resolved already", field="status")
    return transition(session, clock, actor, incident_id, IncidentStatus.RESOLVED, via=via)


def reopen(
    session: Session,
    clock: Clock,
    actor: Actor,
    incident_id: int,
    to_status: IncidentStatus = IncidentStatus.INVESTIGATING,
    note: str | None = None,
) -> Incident:
    """Reopen a resolved incident into an open status (investigating unless told).
    Reopened as triggered, it escalates again."""
    require_responder(actor, "reopen incidents")
    to = IncidentStatus(to_status)
    incident = locked(session, incident_id)
    if incident.status != IncidentStatus.RESOLVED:
        raise InvalidTransition(
            f"incident #{incident.number} is {IncidentStatus(incident.status).value}, "
            "not resolved; only a resolved incident is reopened",
            field="status",
        )
    if to == IncidentStatus.RESOLVED:
        raise InvalidTransition("an incident is reopened into an open status", field="status")
    now = clock.now()
    incident_service.reopen_impact_windows(session, incident.id)
    incident.status = to
    incident.resolved_at = None
    incident.resolved_by_user_id = None
    if to != IncidentStatus.MONITORING:
        incident.mitigated_at = None
    incident.reopen_count += 1
    name = who(session, actor)
    _record_event(
        session,
        incident_id=incident.id,
        at=now,
        kind="reopened",
        summary=f"Reopened ({to.value}) by {name}" + (f": {note}" if note else ""),
        actor_user_id=actor.user_id,
        actor_label=name,
        data={"to": to.value, **({"note": note} if note else {})},
    )
    if to == IncidentStatus.TRIGGERED:
        incident.acknowledged_at = None
        incident.acknowledged_by_user_id = None
        if incident.escalation_policy:
            incident_service.queue_trigger(session, now, incident.id, opening=incident.reopen_count)
    session.flush()
    observers.incident_changed(session, clock, incident.id)
    return incident


_EDITABLE = ("title", "customer_title", "description", "severity", "started_at", "detected_at")


def update(
    session: Session, clock: Clock, *, actor: Actor, incident_id: int, changes: dict[str, Any]
) -> Incident:
    """Edit title, description, severity, started_at or detected_at (the keys given).
    A new severity re-plans the checklist's open items; a new start re-times them and the
    derived accounts' impact start."""
    require_responder(actor, "edit incidents")
    incident = locked(session, incident_id)
    unknown = set(changes) - set(_EDITABLE)
    if unknown:
        raise ValidationFailed(f"cannot edit {', '.join(sorted(unknown))}", field=min(unknown))
    for key in ("title", "severity", "started_at"):
        if key in changes and changes[key] is None:
            raise ValidationFailed(f"{key} cannot be cleared", field=key)
    if "severity" in changes:
        changes["severity"] = IncidentSeverity(changes["severity"])
    if "customer_title" in changes:
        changes["customer_title"] = changes["customer_title"] or None  # empty: the services
    for key in ("started_at", "detected_at"):
        _not_in_future(changes.get(key), clock.now(), key)
    edited = {k: v for k, v in changes.items() if getattr(incident, k) != v}
    if not edited:
        return incident
    old_start = incident.started_at
    for key, value in edited.items():
        setattr(incident, key, value)
    session.flush()
    if "severity" in edited:
        checklists.replan(session, incident)
    elif "started_at" in edited:
        checklists.reschedule(session, incident)
    if "started_at" in edited:
        affected.shift_derived_starts(incident, session, old_start)
    now = clock.now()
    name = who(session, actor)
    parts = [
        f"{key} -> {value.isoformat() if isinstance(value, datetime) else value}"
        for key, value in edited.items()
        if key != "description"
    ]
    if "description" in edited:
        parts.append("description edited")
    _record_event(
        session,
        incident_id=incident.id,
        at=now,
        kind="edited",
        summary=f"Edited by {name}: " + "; ".join(parts),
        actor_user_id=actor.user_id,
        actor_label=name,
        data={"fields": sorted(edited)},
    )
    session.flush()
    observers.incident_changed(session, clock, incident.id)
    return incident


def _not_in_future(moment: datetime | None, now: datetime, field: str) -> None:
    if moment is not None and moment > now:
        raise ValidationFailed(f"{field} {moment.isoformat()} is in the future", field=field)


def _stop_escalation(incident: Incident) -> None:
    incident.escalation_generation += 1
    incident.next_escalation_at = None


def declare(session: Session, clock: Clock, *, actor: Actor, data: IncidentDeclare) -> Incident:
    """Open an incident by hand; with a policy, it escalates like a routed alert's. Its
    affected accounts and checklist are there at once."""
    require_responder(actor, "declare incidents")
    _not_in_future(data.started_at, clock.now(), "started_at")
    service_id = (
        account_service.service_id_for(session, data.service) if data.service is not None else None
    )
    incident_service.lock_incidents(session)
    now = clock.now()
    number = incident_service.next_number(session)
    incident = Incident(
        number=number,
        title=data.title,
        customer_title=data.customer_title or None,
        severity=data.severity,
        status=IncidentStatus.TRIGGERED,
        service_id=service_id,
        grouping_key=f"manual:{number}",
        escalation_policy=data.escalation_policy,
        description=data.description,
        declared_by_user_id=actor.user_id,
        opened_at=now,
        started_at=data.started_at or now,
        detected_at=now,
        last_alert_at=now,
        alert_count=0,
        reopen_count=0,
        escalation_generation=0,
        escalation_round=0,
    )
    session.add(incident)
    session.flush()
    name = who(session, actor)
    _record_event(
        session,
        incident_id=incident.id,
        at=now,
        kind="declared",
        summary=f"Declared by {name}",
        actor_user_id=actor.user_id,
        actor_label=name,
    )
    if data.escalation_policy:
        incident_service.queue_trigger(session, now, incident.id, opening=0)
    session.flush()
    opening.on_opened(session, clock, incident.id)
    return incident
