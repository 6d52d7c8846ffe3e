"""The worker: claims due jobs, runs each in one transaction with its completion, retries.

Guarantees, and what they rest on:

- A claim is one short transaction that marks jobs `running` under this worker's id with a
  lease (`lease_expires_at`) and bumps `attempts`. PostgreSQL workers skip each other's
  rows (`FOR UPDATE SKIP LOCKED`); on SQLite every transaction is `BEGIN IMMEDIATE`, so
  claims are serialised by the database's single writer.
- A job whose lease ran out while `running` (its worker died or stalled) is due again and
  any worker may claim it; that claim bumps `attempts` again.
- The handler's writes and the job's completion commit in one transaction, and the
  completion is a guarded UPDATE (same worker, same attempt, still running). If the lease
  was lost meanwhile, the guard matches nothing and the whole transaction rolls back, so the
  database effects of a job commit exactly once. A finished job keeps `locked_by`: it
  names the worker that ran it last. Effects outside the database (an email, a
  webhook) are at-least-once: give them an idempotency key downstream.
- The lease must outlast the longest handler (Settings.job_lease_seconds, 5 minutes by
  default). There is no heartbeat: on SQLite the handler's transaction holds the write
  lock, so a second transaction could not extend it. Split long work into several jobs.
- A lease that expires on the job's last attempt fails the job instead of running it
  again, so a handler that kills its worker (out of memory, say) cannot loop forever.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import psycopg
from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from escalate.background import BackgroundLoop
from escalate.clock import Clock
from escalate.db import transaction
from escalate.jobs.models import Job, JobStatus
from escalate.jobs.registry import JobContext, JobRegistry, RetryPolicy
from escalate.jobs.service import NOTIFY_CHANNEL

log = logging.getLogger(__name__)

MAX_ERROR_CHARS = 4000
MIN_IDLE_WAIT_SECONDS = 0.02


@dataclass(frozen=True)
class ClaimedJob:
    """A job this worker holds: a snapshot taken at claim time, valid across transactions."""

    id: int
    kind: str
    payload: dict[str, Any]
    attempts: int
    max_attempts: int


class RunOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    RETRY_SCHEDULED = "retry_scheduled"
    FAILED = "failed"
    LEASE_LOST = "lease_lost"


class _LeaseLost(Exception):
    """Raised inside the job's transaction to roll it back."""


def default_worker_id() -> str:
    """Unique per process, readable in `locked_by`: host, pid and a random suffix."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(3)}"


class Worker(BackgroundLoop):
    thread_name = "escalate-worker"

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock,
        registry: JobRegistry,
        *,
        worker_id: str | None = None,
        lease: timedelta = timedelta(minutes=5),
        batch_size: int = 10,
        poll_interval: float = 1.0,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.registry = registry
        self.worker_id = worker_id or default_worker_id()
        self.lease = lease
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        # Set once the PostgreSQL listener is connected; tests and health checks read it.
        self.listening = threading.Event()
        super().__init__()

    # -- claiming ----------------------------------------------------------------------

    def claim(self, limit: int | None = None) -> list[ClaimedJob]:
        """Take up to `limit` due jobs (queued and due, or running with an expired lease)."""
        claimed, _refused = self._claim(limit or self.batch_size)
        return claimed

    def _claim(self, limit: int) -> tuple[list[ClaimedJob], int]:
        with transaction(self.session_factory, clock=self.clock) as session:
            now = self.clock.now()
            claimed: list[ClaimedJob] = []
            refused = 0
            for row in self._due_rows(session, now, limit):
                reason = self._refusal(row)
                if reason is None:
                    claimed.append(
                        ClaimedJob(
                            row.id, row.kind, row.payload, row.attempts + 1, row.max_attempts
                        )
                    )
                    continue
                refused += 1
                log.error("job %s (%s) failed: %s", row.id, row.kind, reason)
                values: dict[str, Any] = {
                    "status": JobStatus.FAILED,
                    "last_error": reason,
                    "lease_expires_at": None,
                    "finished_at": now,
                }
                if row.status == JobStatus.QUEUED:
                    # Refusing counts as this worker's attempt; a lost lease keeps the name
                    # of the worker that lost it.
                    values.update(attempts=Job.attempts + 1, locked_by=self.worker_id)
                session.execute(update(Job).where(Job.id == row.id).values(**values))
            if claimed:
                session.execute(
                    update(Job)
                    .where(Job.id.in_([job.id for job in claimed]))
                    .values(
                        status=JobStatus.RUNNING,
                        locked_by=self.worker_id,
                        lease_expires_at=now + self.lease,
                        attempts=Job.attempts + 1,
                    )
                )
        return claimed, refused

    def _due_rows(self, session: Session, now: datetime, limit: int) -> list[Any]:
        """Lock up to `limit` due rows: expired leases first (rare, and overdue), then queued
        jobs by run_at. Two queries, because each then walks its index in order; one query
        with OR would sort every due row on each claim when the backlog is long."""
        columns = (Job.id, Job.kind, Job.payload, Job.status, Job.attempts, Job.max_attempts)
        expired = session.execute(
            select(*columns)
            .where(Job.status == JobStatus.RUNNING, Job.lease_expires_at < now)
            .order_by(Job.lease_expires_at, Job.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if len(expired) >= limit:
            return list(expired)
        queued = session.execute(
            select(*columns)
            .where(Job.status == JobStatus.QUEUED, Job.run_at <= now)
            .order_by(Job.run_at, Job.id)
            .limit(limit - len(expired))
            .with_for_update(skip_locked=True)
        ).all()
        return [*expired, *queued]

    def _refusal(self, row: Any) -> str | None:
        """Why a due row must fail instead of running, or None."""
        if self.registry.get(row.kind) is None:
            return (
                f"no handler for job kind {row.kind!r} in worker {self.worker_id}; "
                "register the kind, then retry the job"
            )
        if row.status == JobStatus.RUNNING and row.attempts >= row.max_attempts:
            return (
                f"lease expired during the last attempt ({row.attempts}/{row.max_attempts}): "
                f"the worker died or the handler outlived its {self.lease} lease"
            )
        return None

    # -- running -----------------------------------------------------------------------

    def run_one(self, job: ClaimedJob) -> RunOutcome:
        """Run a claimed job; its handler's writes commit with its completion or not at all."""
        kind = self.registry.get(job.kind)
        if kind is None:  # claim refuses unknown kinds; only a registry changed since can land here
            raise LookupError(f"job kind {job.kind!r} is not registered")
        try:
            with transaction(self.session_factory, clock=self.clock, job_id=job.id) as session:
                context = JobContext(
                    session=session,
                    clock=self.clock,
                    payload=job.payload,
                    job_id=job.id,
                    attempt=job.attempts,
                )
                kind.handler(context)
                completed = self._guarded_update(
                    session,
                    job,
                    status=JobStatus.SUCCEEDED,
                    finished_at=self.clock.now(),
                    lease_expires_at=None,
                )
                if not completed:
                    raise _LeaseLost
        except _LeaseLost:
            log.warning(
                "job %s (%s) attempt %s: lease lost to another worker; rolled back",
                job.id,
                job.kind,
                job.attempts,
            )
            return RunOutcome.LEASE_LOST
        except Exception as exc:
            return self._record_failure(job, kind.retry, exc)
        return RunOutcome.SUCCEEDED

    def _record_failure(self, job: ClaimedJob, retry: RetryPolicy, exc: Exception) -> RunOutcome:
        now = self.clock.now()
        final = job.attempts >= job.max_attempts
        values: dict[str, Any] = {"last_error": _summarise(exc), "lease_expires_at": None}
        if final:
            values.update(status=JobStatus.FAILED, finished_at=now)
        else:
            values.update(
                status=JobStatus.QUEUED,
                run_at=now + retry.delay_after(job.attempts),
                locked_by=None,
            )
        with transaction(self.session_factory, clock=self.clock) as session:
            recorded = self._guarded_update(session, job, **values)
        if not recorded:
            log.warning("job %s (%s) failed after its lease was lost", job.id, job.kind)
            return RunOutcome.LEASE_LOST
        log.warning(
            "job %s (%s) attempt %s/%s failed%s: %r",
            job.id,
            job.kind,
            job.attempts,
            job.max_attempts,
            "" if final else f"; retry at {values['run_at'].isoformat()}",
            exc,
        )
        return RunOutcome.FAILED if final else RunOutcome.RETRY_SCHEDULED

    def _guarded_update(self, session: Session, job: ClaimedJob, **values: Any) -> bool:
        """Update the job only while this worker's claim on this attempt still stands."""
        result = session.execute(
            update(Job)
            .where(
                Job.id == job.id,
                Job.locked_by == self.worker_id,
                Job.attempts == job.attempts,
                Job.status == JobStatus.RUNNING,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def _release(self, jobs: list[ClaimedJob]) -> None:
        """Give back claimed jobs that were never started (graceful stop), as if unclaimed."""
        # Undoing the attempt is safe: no handler ran under it, and worker ids are unique
        # per process, so no stale run of an earlier attempt can match the guard later.
        with transaction(self.session_factory, clock=self.clock) as session:
            for job in jobs:
                self._guarded_update(
                    session,
                    job,
                    status=JobStatus.QUEUED,
                    attempts=job.attempts - 1,
                    locked_by=None,
                    lease_expires_at=None,
                )

    def run_once(self, stop: threading.Event | None = None) -> int:
        """Claim one batch and run it; return how many jobs left the due queue."""
        jobs, refused = self._claim(self.batch_size)
        for index, job in enumerate(jobs):
            if stop is not None and stop.is_set():
                self._release(jobs[index:])
                return refused + index
            self.run_one(job)
        return refused + len(jobs)

    def drain(self) -> int:
        """Run batches until nothing is due; return how many jobs left the due queue."""
        total = 0
        while done := self.run_once():
            total += done
        return total

    # -- the loop ----------------------------------------------------------------------

    def run_forever(self, stop_event: threading.Event | None = None) -> None:
        """Run until `stop_event` is set (or `stop()` is called); the current job finishes.

        Setting `stop_event` alone takes effect within one poll interval; `stop()` is
        immediate."""
        # Without an event of its own, honour a stop() that came before the loop started.
        stop = self._stop = stop_event or self._stop
        listener_done = threading.Event()
        listener = self._start_listener(stop, listener_done)
        log.info("job worker %s started", self.worker_id)
        try:
            while not stop.is_set():
                # Cleared before looking, so a wake during the batch is not lost.
                self._wake.clear()
                try:
                    done = self.run_once(stop)
                except Exception:
                    # The database may be restarting; the jobs are safe in their rows.
                    log.exception("job worker %s: batch failed", self.worker_id)
                    done = 0
                if not done and not stop.is_set():
                    self._wake.wait(self._idle_wait_or_poll())
        finally:
            listener_done.set()
            if listener is not None:
                listener.join(timeout=5)
            log.info("job worker %s stopped", self.worker_id)

    def idle_wait(self) -> float:
        """Seconds to sleep with nothing due: until the next queued job's run time or the
        next lease to expire, at most one poll interval. Escalation timers are due at exact
        moments; sleeping a whole poll interval past them would make every step late."""
        with self.session_factory() as session:
            next_run, next_expiry = session.execute(
                select(
                    select(func.min(Job.run_at))
                    .where(Job.status == JobStatus.QUEUED)
                    .scalar_subquery(),
                    select(func.min(Job.lease_expires_at))
                    .where(Job.status == JobStatus.RUNNING)
                    .scalar_subquery(),
                )
            ).one()
        moments = [moment for moment in (next_run, next_expiry) if moment is not None]
        if not moments:
            return self.poll_interval
        until = (min(moments) - self.clock.now()).total_seconds()
        # The floor keeps a due row another worker holds (SKIP LOCKED) from making us spin.
        return min(max(until, MIN_IDLE_WAIT_SECONDS), self.poll_interval)

    def _idle_wait_or_poll(self) -> float:
        try:
            return self.idle_wait()
        except Exception:  # the database may be restarting: poll as before
            log.exception("job worker %s: could not read the next due time", self.worker_id)
            return self.poll_interval

    # -- PostgreSQL LISTEN -------------------------------------------------------------

    def _start_listener(
        self, stop: threading.Event, done: threading.Event
    ) -> threading.Thread | None:
        engine: Engine | None = self.session_factory.kw.get("bind")
        if engine is None or engine.dialect.name != "postgresql":
            return None
        conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        thread = threading.Thread(
            target=self._listen,
            args=(conninfo, stop, done),
            name="escalate-worker-listen",
            daemon=True,
        )
        thread.start()
        return thread

    def _listen(self, conninfo: str, stop: threading.Event, done: threading.Event) -> None:
        def finished() -> bool:
            return stop.is_set() or done.is_set()

        while not finished():
            try:
                with psycopg.connect(conninfo, autocommit=True, connect_timeout=5) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    # Jobs enqueued while nobody listened raised no notification we saw.
                    self.wake()
                    self.listening.set()
                    while not finished():
                        # Short timeout: the only way to notice `stop` on a blocking socket.
                        for _ in conn.notifies(timeout=1.0):
                            self.wake()
            except psycopg.Error as exc:
                log.warning("job worker %s: LISTEN connection lost (%s)", self.worker_id, exc)
            finally:
                self.listening.clear()
            # Polling carries on meanwhile; reconnect after one poll interval.
            done.wait(self.poll_interval)


def _summarise(exc: BaseException) -> str:
    """The last frames and the message: enough to act on, bounded in size."""
    text = "".join(traceback.format_exception(exc, limit=-8))
    return text[-MAX_ERROR_CHARS:]
