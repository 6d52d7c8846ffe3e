"""Who may change an incident, and the locked read every change starts from."""

from __future__ import annotations

from sqlalchemy.orm import Session

from escalate.auth.models import Role
from escalate.auth.permissions import Actor
from escalate.db import find
from escalate.errors import NotFound, PermissionDenied
from escalate.incidents import service as incident_service
from escalate.incidents.models import Incident

# Whoever is paged must be able to answer it, at 3 a.m., from a phone.
RESPONDERS = frozenset({Role.ADMIN, Role.MANAGER, Role.RESPONDER})


def require_responder(actor: Actor, doing: str = "acknowledge or resolve incidents") -> None:
    if actor.role not in RESPONDERS:
        raise PermissionDenied(f"role {actor.role} may not {doing}")


def locked(session: Session, incident_id: int) -> Incident:
    """The incident, re-read under the incidents lock, to change it."""
    incident_service.lock_incidents(session)
    incident = find(session, Incident, incident_id, with_for_update=True, populate_existing=True)
    if incident is None:
        raise NotFound(f"incident {incident_id} not found", field="incident_id")
    return incident
