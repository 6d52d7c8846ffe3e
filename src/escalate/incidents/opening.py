"""What follows an incident's opening, outside the ingest path's hot INSERT: its affected
accounts are derived and its response checklist attached. Declared incidents get it at
once; the ingest path queues the `incidents.opened` job in its own transaction."""

from __future__ import annotations

from sqlalchemy.orm import Session

from escalate.clock import Clock
from escalate.errors import NotFound
from escalate.incidents import affected, checklists, observers
from escalate.incidents.guards import locked
from escalate.incidents.service import OPENED_JOB
from escalate.jobs.registry import JobContext, JobRegistry


def on_opened(session: Session, clock: Clock, incident_id: int) -> None:
    """Derive the affected accounts and attach the checklist (idempotent)."""
    try:
        incident = locked(session, incident_id)
    except NotFound:  # deleted before the job ran: nothing to derive
        return
    if incident.started_at is None:
        incident.started_at = incident.opened_at
    if incident.detected_at is None:
        incident.detected_at = incident.opened_at
    affected.derive(session, clock, incident)
    checklists.attach(session, incident)
    observers.incident_changed(session, clock, incident.id)


def register(registry: JobRegistry) -> None:
    def run(ctx: JobContext) -> None:
        on_opened(ctx.session, ctx.clock, int(ctx.payload["incident_id"]))

    registry.register(OPENED_JOB, run)
