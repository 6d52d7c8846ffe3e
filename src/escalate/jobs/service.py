"""Enqueueing jobs inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from escalate.clock import Clock
from escalate.jobs.models import Job, JobStatus

WAKE_FLAG = "jobs_enqueued"


def enqueue(
    session: Session,
    clock: Clock,
    *,
    kind: str,
    payload: dict[str, Any] | None = None,
    run_at: datetime | None = None,
    idempotency_key: str | None = None,
    max_attempts: int = 5,
) -> int | None:
    """Add a job to the caller's transaction; return its id, or None when a job with the
    same idempotency key already exists (then nothing is added)."""
    now = clock.now()
    values = {
        "kind": kind,
        "payload": payload or {},
        "status": JobStatus.QUEUED,
        "run_at": run_at or now,
        "idempotency_key": idempotency_key,
        "attempts": 0,
        "max_attempts": max_attempts,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(Job).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"])
    job_id = session.execute(stmt.returning(Job.id)).scalar_one_or_none()
    # The web app and the in-process worker use this flag to wake the worker after commit.
    session.info[WAKE_FLAG] = True
    return job_id


def get_by_key(session: Session, *, idempotency_key: str) -> Job | None:
    """Return the job enqueued under this idempotency key, if any."""
    return session.scalar(select(Job).where(Job.idempotency_key == idempotency_key))
