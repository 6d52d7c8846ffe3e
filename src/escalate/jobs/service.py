"""Enqueueing jobs inside the caller's transaction, and the queue's admin use cases."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from escalate.clock import Clock
from escalate.db import dialect_insert, find
from escalate.errors import InvalidTransition, NotFound, ValidationFailed
from escalate.jobs.models import Job, JobStatus
from escalate.jobs.registry import RetryPolicy
from escalate.pagination import Page, PageParams, paginate

WAKE_FLAG = "jobs_enqueued"
NOTIFY_CHANNEL = "escalate_jobs"


def enqueue(
    session: Session,
    clock: Clock,
    *,
    kind: str,
    payload: dict[str, Any] | None = None,
    run_at: datetime | None = None,
    idempotency_key: str | None = None,
    max_attempts: int = RetryPolicy.max_attempts,
) -> int | None:
    """Add a job to the caller's transaction; return its id, or None when a job with the
    same idempotency key already exists (then nothing is added).

    `max_attempts` is stored on the row and is what the worker obeys; the kind's
    RetryPolicy only decides the delays between attempts."""
    now = clock.now()
    due_at = run_at or now
    values = {
        "kind": kind,
        "payload": payload or {},
        "status": JobStatus.QUEUED,
        "run_at": due_at,
        "idempotency_key": idempotency_key,
        "attempts": 0,
        "max_attempts": max_attempts,
        "created_at": now,
    }
    dialect = session.get_bind().dialect.name
    insert = dialect_insert(dialect)
    stmt = insert(Job).values(**values).on_conflict_do_nothing(index_elements=["idempotency_key"])
    job_id = session.execute(stmt.returning(Job.id)).scalar_one_or_none()
    # The web app and the in-process worker use this flag to wake the worker after commit.
    session.info[WAKE_FLAG] = True
    if job_id is not None and due_at <= now:
        notify_new_jobs(session)
    return job_id


def notify_new_jobs(session: Session) -> None:
    """Wake listening workers on PostgreSQL when this transaction commits; no-op on SQLite."""
    # NOTIFY is transactional: delivered on commit, dropped on rollback, and repeated
    # notifications within one transaction fold into one.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


def install_wake_hook(factory: sessionmaker[Session], wake: Callable[[], None]) -> None:
    """Call `wake` after every commit of a session from `factory` that enqueued a job."""

    def _after_commit(session: Session) -> None:
        if session.info.pop(WAKE_FLAG, False):
            wake()

    def _after_rollback(session: Session) -> None:
        session.info.pop(WAKE_FLAG, None)

    event.listen(factory, "after_commit", _after_commit)
    event.listen(factory, "after_rollback", _after_rollback)


def get_by_key(session: Session, *, idempotency_key: str) -> Job | None:
    """Return the job enqueued under this idempotency key, if any."""
    return session.scalar(select(Job).where(Job.idempotency_key == idempotency_key))


def get(session: Session, *, job_id: int) -> Job:
    """Return one job or raise NotFound."""
    job = find(session, Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found", field="job_id")
    return job


def queue_stats(session: Session, *, now: datetime) -> dict[str, Any]:
    """Queue depth by state and the age of the oldest due job, for /metrics."""
    due = and_(Job.status == JobStatus.QUEUED, Job.run_at <= now)
    row = session.execute(
        select(
            func.count().filter(due),
            func.count().filter(and_(Job.status == JobStatus.QUEUED, Job.run_at > now)),
            func.count().filter(Job.status == JobStatus.RUNNING),
            func.count().filter(Job.status == JobStatus.FAILED),
            func.min(Job.run_at).filter(due),
        )
        # Succeeded rows are the bulk of the table and never interesting here; this keeps
        # the scan on the (status, run_at) index.
        .where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING, JobStatus.FAILED]))
    ).one()
    queued_due, queued_scheduled, running, failed, oldest_due = row
    age = max((now - oldest_due).total_seconds(), 0.0) if oldest_due is not None else 0.0
    return {
        "depth": {
            "queued_due": queued_due,
            "queued_scheduled": queued_scheduled,
            "running": running,
            "failed": failed,
        },
        "oldest_due_age_seconds": age,
    }


def list_jobs(
    session: Session,
    *,
    status: JobStatus | None = None,
    kind: str | None = None,
    page: PageParams | None = None,
) -> Page[Job]:
    """Jobs newest first by run time, optionally filtered by status and kind."""
    stmt = select(Job).order_by(Job.run_at.desc(), Job.id.desc())
    if status is not None:
        stmt = stmt.where(Job.status == status)
    if kind is not None:
        stmt = stmt.where(Job.kind == kind)
    return paginate(session, stmt, page or PageParams())


def retry_failed(session: Session, clock: Clock, *, job_id: int, extra_attempts: int = 1) -> Job:
    """Requeue a failed job now, granting it `extra_attempts` more attempts."""
    if extra_attempts < 1:
        raise ValidationFailed("extra_attempts must be at least 1", field="extra_attempts")
    job = find(session, Job, job_id, with_for_update=True)
    if job is None:
        raise NotFound(f"job {job_id} not found", field="job_id")
    if job.status != JobStatus.FAILED:
        raise InvalidTransition(f"job {job_id} is {job.status}, only a failed job can be retried")
    # `attempts` never goes down: the worker's completion guard uses it as the generation of
    # a claim, so a stale worker from an earlier attempt can never complete the new one.
    job.status = JobStatus.QUEUED
    job.run_at = clock.now()
    job.max_attempts = job.attempts + extra_attempts
    job.finished_at = None
    job.locked_by = None
    job.lease_expires_at = None
    session.flush()
    notify_new_jobs(session)
    session.info[WAKE_FLAG] = True
    return job


def purge_succeeded(session: Session, *, finished_before: datetime) -> int:
    """Delete succeeded jobs finished before a moment; return how many.

    Their idempotency keys go with them, so purge only well past any time a caller could
    enqueue the same key again. Failed jobs stay until retried or looked at."""
    result = session.execute(
        delete(Job)
        .where(Job.status == JobStatus.SUCCEEDED, Job.finished_at < finished_before)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
