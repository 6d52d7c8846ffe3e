"""What people do to incidents: declare one by hand, acknowledge, resolve; and the timeline
that records it. Functions flush, never commit.

Acknowledging an acknowledged incident is a no-op that answers the incident as it is (two
people pressing the button together both get what they wanted); acknowledging or resolving
a resolved incident is an InvalidTransition (409)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalate.accounts import service as account_service
from escalate.auth.models import Role, User
from escalate.auth.permissions import Actor
from escalate.clock import Clock
from escalate.db import find
from escalate.errors import InvalidTransition, NotFound, PermissionDenied
from escalate.incidents import service as incident_service
from escalate.incidents.models import Incident, IncidentEvent, IncidentStatus
from escalate.incidents.schemas import IncidentDeclare
from escalate.pagination import Page, PageParams, paginate

# Whoever is paged must be able to answer it, at 3 a.m., from a phone.
RESPONDERS = frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER})
SYSTEM_LABEL = "escalation"


def _authorize_response(actor: Actor) -> None:
    if actor.role not in RESPONDERS:
        raise PermissionDenied(f"role {actor.role} may not acknowledge or resolve incidents")


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
    event = IncidentEvent(
        incident_id=incident_id,
        at=at,
        kind=kind,
        actor_user_id=actor_user_id,
        actor_label=actor_label[:200],
        summary=summary,
        data=data or {},
        internal=True,
    )
    session.add(event)
    return event


def timeline(
    session: Session, *, actor: Actor, incident_id: int, page: PageParams
) -> Page[IncidentEvent]:
    """The incident's timeline, oldest first (the order it happened in)."""
    incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    stmt = (
        select(IncidentEvent)
        .where(IncidentEvent.incident_id == incident_id)
        .order_by(IncidentEvent.at, IncidentEvent.id)
    )
    return paginate(session, stmt, page)


def _locked(session: Session, incident_id: int) -> Incident:
    incident_service.lock_incidents(session)
    incident = find(session, Incident, incident_id, with_for_update=True, populate_existing=True)
    if incident is None:
        raise NotFound(f"incident {incident_id} not found", field="incident_id")
    return incident


def _who(session: Session, actor: Actor) -> str:
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    return user.name if user is not None else actor.label


def acknowledge(
    session: Session, clock: Clock, *, actor: Actor, incident_id: int, via: str | None = None
) -> Incident:
    """Acknowledge: someone is on it. Stops the escalation (the generation moves on, so the
    pending timer is stale). `via` says how ("e-mail link") for the timeline."""
    _authorize_response(actor)
    incident = _locked(session, incident_id)
    if incident.status == IncidentStatus.RESOLVED:
        raise InvalidTransition(
            f"incident #{incident.number} is resolved; it cannot be acknowledged",
            field="status",
        )
    if incident.status == IncidentStatus.ACKNOWLEDGED:
        return incident
    now = clock.now()
    incident.status = IncidentStatus.ACKNOWLEDGED
    incident.acknowledged_at = now
    incident.acknowledged_by_user_id = actor.user_id
    _stop_escalation(incident)
    who = _who(session, actor)
    record_event(
        session,
        incident_id=incident.id,
        at=now,
        kind="acknowledged",
        summary=f"Acknowledged by {who}" + (f" via {via}" if via else ""),
        actor_user_id=actor.user_id,
        actor_label=who,
        data={"via": via} if via else {},
    )
    session.flush()
    return incident


def resolve(
    session: Session, clock: Clock, *, actor: Actor, incident_id: int, via: str | None = None
) -> Incident:
    """Resolve: the problem is gone. Stops everything; an alert that comes back later
    re-opens the incident and escalates again."""
    _authorize_response(actor)
    incident = _locked(session, incident_id)
    if incident.status == IncidentStatus.RESOLVED:
        raise InvalidTransition(f"incident #{incident.number} is resolved already", field="status")
    now = clock.now()
    incident.status = IncidentStatus.RESOLVED
    incident.resolved_at = now
    incident.resolved_by_user_id = actor.user_id
    _stop_escalation(incident)
    who = _who(session, actor)
    record_event(
        session,
        incident_id=incident.id,
        at=now,
        kind="resolved",
        summary=f"Resolved by {who}" + (f" via {via}" if via else ""),
        actor_user_id=actor.user_id,
        actor_label=who,
        data={"via": via} if via else {},
    )
    session.flush()
    return incident


def _stop_escalation(incident: Incident) -> None:
    incident.escalation_generation += 1
    incident.next_escalation_at = None


def declare(session: Session, clock: Clock, *, actor: Actor, data: IncidentDeclare) -> Incident:
    """Open an incident by hand; with a policy, it escalates like a routed alert's."""
    _authorize_response(actor)
    service_id = (
        account_service.service_id_for(session, data.service) if data.service is not None else None
    )
    incident_service.lock_incidents(session)
    now = clock.now()
    number = incident_service.next_number(session)
    incident = Incident(
        number=number,
        title=data.title,
        severity=data.severity,
        status=IncidentStatus.TRIGGERED,
        service_id=service_id,
        grouping_key=f"manual:{number}",
        escalation_policy=data.escalation_policy,
        opened_at=now,
        last_alert_at=now,
        alert_count=0,
        reopen_count=0,
        escalation_generation=0,
        escalation_round=0,
    )
    session.add(incident)
    session.flush()
    who = _who(session, actor)
    record_event(
        session,
        incident_id=incident.id,
        at=now,
        kind="declared",
        summary=f"Declared by {who}",
        actor_user_id=actor.user_id,
        actor_label=who,
    )
    if data.escalation_policy:
        incident_service.queue_trigger(session, now, incident.id, opening=0)
    session.flush()
    return incident
