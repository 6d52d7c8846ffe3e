"""Housekeeping jobs of the auth domain."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from escalate.auth.models import WebSession
from escalate.clock import Clock
from escalate.jobs import service as job_service
from escalate.jobs.registry import JobContext, JobRegistry

PURGE_SESSIONS = "auth.purge_expired_sessions"
PURGE_EVERY = timedelta(hours=6)


def register(registry: JobRegistry) -> None:
    registry.register_recurring(PURGE_SESSIONS, purge_expired_sessions, schedule_purge)


def purge_expired_sessions(ctx: JobContext) -> None:
    """Delete web logins past their expiry, then queue the next purge."""
    ctx.session.execute(delete(WebSession).where(WebSession.expires_at <= ctx.clock.now()))
    schedule_purge(ctx.session, ctx.clock)


def schedule_purge(session: Session, clock: Clock) -> None:
    """Queue the next purge at the next 6-hour slot; any number of processes may call this,
    the slot's idempotency key keeps it to one job."""
    slot = next_slot(clock.now())
    job_service.enqueue(
        session,
        clock,
        kind=PURGE_SESSIONS,
        run_at=slot,
        idempotency_key=f"{PURGE_SESSIONS}:{slot.isoformat()}",
    )


def next_slot(now: datetime) -> datetime:
    """The first 00/06/12/18 UTC boundary strictly after now."""
    start_of_day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    slots_passed = int((now - start_of_day) / PURGE_EVERY) + 1
    return start_of_day + slots_passed * PURGE_EVERY
