"""Incident roles: the commander, the communications lead, or another role a team names.
Assigning a role to someone else hands it over: the holder's row ends, a new one starts,
so the history stays. Functions flush, never commit."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalate.auth.models import User
from escalate.auth.permissions import Actor
from escalate.clock import Clock
from escalate.errors import NotFound, ValidationFailed
from escalate.incidents import checklists, events
from escalate.incidents.guards import locked, require_responder
from escalate.incidents.models import IncidentRole

COMMANDER = "commander"
COMMUNICATIONS_LEAD = "communications_lead"
# The checklist check each well-known role satisfies when it is first filled.
_CHECK_OF_ROLE = {
    COMMANDER: checklists.COMMANDER_ASSIGNED,
    COMMUNICATIONS_LEAD: checklists.COMMUNICATIONS_LEAD_ASSIGNED,
}
_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,49}$")


def validate_role(role: str) -> str:
    """A role name: lower-case letters, digits and underscores, up to 50, e.g. `scribe`."""
    name = role.strip().lower().replace("-", "_").replace(" ", "_")
    if not _ROLE_NAME.match(name):
        raise ValidationFailed(
            f"role {role!r} is not a role name (letters, digits and _; up to 50)", field="role"
        )
    return name


def holders(session: Session, *, incident_id: int) -> list[IncidentRole]:
    """Who holds which role now."""
    return list(
        session.scalars(
            select(IncidentRole)
            .where(IncidentRole.incident_id == incident_id, IncidentRole.ended_at.is_(None))
            .order_by(IncidentRole.role, IncidentRole.id)
        )
    )


def history(session: Session, *, incident_id: int) -> list[IncidentRole]:
    """Every assignment, current and past, in the order they were made."""
    return list(
        session.scalars(
            select(IncidentRole)
            .where(IncidentRole.incident_id == incident_id)
            .order_by(IncidentRole.assigned_at, IncidentRole.id)
        )
    )


def holder(session: Session, *, incident_id: int, role: str) -> IncidentRole | None:
    return session.scalar(
        select(IncidentRole).where(
            IncidentRole.incident_id == incident_id,
            IncidentRole.role == role,
            IncidentRole.ended_at.is_(None),
        )
    )


def assign(
    session: Session, clock: Clock, *, actor: Actor, incident_id: int, role: str, user_id: int
) -> IncidentRole:
    """Give `role` to the user; whoever held it hands it over. The same holder again is a
    no-op."""
    require_responder(actor, "assign incident roles")
    name = validate_role(role)
    incident = locked(session, incident_id)
    user = session.get(User, user_id) if 0 < user_id < 2**63 else None
    if user is None or not user.is_active:
        raise NotFound(f"user {user_id} not found", field="user")
    current = holder(session, incident_id=incident.id, role=name)
    if current is not None and current.user_id == user.id:
        return current
    now = clock.now()
    if current is not None:
        current.ended_at = now
    assigned = IncidentRole(
        incident_id=incident.id,
        role=name,
        user_id=user.id,
        assigned_at=now,
        assigned_by_user_id=actor.user_id,
    )
    session.add(assigned)
    label = name.replace("_", " ")
    previous = session.get(User, current.user_id) if current is not None else None
    summary = (
        f"{label.capitalize()} handed over from {previous.name} to {user.name}"
        if previous is not None
        else f"{user.name} is {label}"
    )
    events.record_by(
        session,
        actor,
        incident_id=incident.id,
        at=now,
        kind="role",
        summary=summary,
        data={"role": name, "user_id": user.id},
    )
    session.flush()
    check = _CHECK_OF_ROLE.get(name)
    if check is not None:
        checklists.record(session, clock, incident.id, check, now, actor.user_id)
    return assigned
