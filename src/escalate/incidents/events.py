"""The timeline's one writer for people's and services' changes (the ingest path writes its
own lines with a prepared INSERT, see incidents.service)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from escalate.auth.models import User
from escalate.auth.permissions import Actor
from escalate.incidents.models import IncidentEvent

SYSTEM_LABEL = "escalation"


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
    internal: bool = True,
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
        internal=internal,
    )
    session.add(event)
    return event


def who(session: Session, actor: Actor) -> str:
    """The actor's name for the timeline: the person's name, or the actor's label."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    return user.name if user is not None else actor.label


def record_by(
    session: Session,
    actor: Actor,
    *,
    incident_id: int,
    at: datetime,
    kind: str,
    summary: str,
    data: dict[str, Any] | None = None,
) -> IncidentEvent:
    """A timeline line of something `actor` did."""
    return record_event(
        session,
        incident_id=incident_id,
        at=at,
        kind=kind,
        summary=summary,
        actor_user_id=actor.user_id,
        actor_label=who(session, actor),
        data=data,
    )
