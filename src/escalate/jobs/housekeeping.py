"""The job table's own upkeep: succeeded jobs are kept a week for inspection, then purged."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from escalate.clock import Clock
from escalate.jobs import service as job_service
from escalate.jobs.registry import JobContext, JobRegistry

PURGE_JOBS = "jobs.purge_succeeded"
KEEP_SUCCEEDED = timedelta(days=7)


def register(registry: JobRegistry) -> None:
    registry.register_recurring(PURGE_JOBS, purge_succeeded_jobs, schedule_purge)


def purge_succeeded_jobs(ctx: JobContext) -> None:
    """Delete succeeded jobs older than a week, then queue tomorrow's purge."""
    job_service.purge_succeeded(ctx.session, finished_before=ctx.clock.now() - KEEP_SUCCEEDED)
    schedule_purge(ctx.session, ctx.clock)


def schedule_purge(session: Session, clock: Clock) -> None:
    """Queue the purge for the next midnight UTC (one job per day, whoever calls)."""
    now = clock.now()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    job_service.enqueue(
        session,
        clock,
        kind=PURGE_JOBS,
        run_at=midnight,
        idempotency_key=f"{PURGE_JOBS}:{midnight.date().isoformat()}",
    )
