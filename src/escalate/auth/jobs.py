"""Housekeeping jobs of the auth domain."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from escalate.auth.models import WebSession
from escalate.jobs import service as job_service
from escalate.jobs.registry import JobContext, JobRegistry

PURGE_SESSIONS = "auth.purge_expired_sessions"
PURGE_EVERY = timedelta(hours=6)


def register(registry: JobRegistry) -> None:
    registry.register(PURGE_SESSIONS, purge_expired_sessions)


def purge_expired_sessions(ctx: JobContext) -> None:
    """Delete web logins past their expiry, then schedule the next purge."""
    now = ctx.clock.now()
    ctx.session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    schedule_purge(ctx.session, ctx.clock)


def schedule_purge(session, clock) -> None:  # type: ignore[no-untyped-def]
    """Ensure the next purge is queued; any number of processes may call this."""
    next_run = clock.now() + PURGE_EVERY
    slot = next_run.replace(minute=0, second=0, microsecond=0)
    slot = slot.replace(hour=slot.hour - slot.hour % 6)
    job_service.enqueue(
        session,
        clock,
        kind=PURGE_SESSIONS,
        run_at=slot,
        idempotency_key=f"{PURGE_SESSIONS}:{slot.isoformat()}",
    )
