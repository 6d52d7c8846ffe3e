"""The worker on each engine, with the frozen clock: due times, exactly-once completion,
leases, retries and failures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from jobs_support import FAIL, RECORD, record_effect
from sqlalchemy import select, text

from escalate.auth import service as auth_service
from escalate.auth.models import Role, User
from escalate.auth.permissions import SYSTEM
from escalate.auth.schemas import UserCreate
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.jobs.models import JobStatus
from escalate.jobs.registry import JobContext, JobRegistry, RetryPolicy
from escalate.jobs.worker import RunOutcome, Worker

Effects = Callable[[], list[tuple[int, str, int]]]


def test_a_due_job_runs_once(
    make_worker: Callable[..., Worker], enqueue_job: Callable[..., int], load_job, effects: Effects
) -> None:
    job_id = enqueue_job(RECORD, payload={"n": 1})
    worker = make_worker("w1")

    assert worker.run_once() == 1
    assert worker.run_once() == 0

    job = load_job(job_id)
    assert job.status == JobStatus.SUCCEEDED
    assert job.attempts == 1
    assert job.locked_by == "w1"
    assert job.lease_expires_at is None
    assert job.finished_at == worker.clock.now()
    assert effects() == [(job_id, "w1", 1)]


def test_a_job_waits_for_its_run_at(
    make_worker: Callable[..., Worker],
    enqueue_job: Callable[..., int],
    load_job,
    effects: Effects,
    clock: FrozenClock,
) -> None:
    job_id = enqueue_job(RECORD, run_at=clock.now() + timedelta(minutes=10))
    worker = make_worker()

    assert worker.run_once() == 0
    clock.advance(minutes=9, seconds=59)
    assert worker.run_once() == 0
    assert load_job(job_id).status == JobStatus.QUEUED

    clock.advance(seconds=1)
    assert worker.run_once() == 1
    assert load_job(job_id).status == JobStatus.SUCCEEDED
    assert len(effects()) == 1


def test_jobs_run_in_run_at_order(
    make_worker: Callable[..., Worker],
    enqueue_job: Callable[..., int],
    effects: Effects,
    clock: FrozenClock,
) -> None:
    later = enqueue_job(RECORD, run_at=clock.now() - timedelta(seconds=1))
    earlier = enqueue_job(RECORD, run_at=clock.now() - timedelta(seconds=2))
    worker = make_worker(batch_size=1)

    assert worker.run_once() == 1
    assert [row[0] for row in effects()] == [earlier]
    assert worker.drain() == 1
    assert sorted(row[0] for row in effects()) == sorted([earlier, later])


def test_handler_writes_commit_with_completion_or_not_at_all(
    make_worker: Callable[..., Worker],
    enqueue_job: Callable[..., int],
    load_job,
    effects: Effects,
) -> None:
    ok = enqueue_job(RECORD)
    broken = enqueue_job(FAIL)
    make_worker("w1").run_once()

    # The failing handler wrote a row before raising; it vanished with its transaction.
    assert effects() == [(ok, "w1", 1)]
    assert load_job(ok).status == JobStatus.SUCCEEDED
    assert load_job(broken).status == JobStatus.QUEUED


def test_idempotency_key_dedups(
    make_worker: Callable[..., Worker], enqueue_job: Callable[..., int], effects: Effects
) -> None:
    first = enqueue_job(RECORD, idempotency_key="reminder:42")
    second = enqueue_job(RECORD, idempotency_key="reminder:42")

    assert first is not None
    assert second is None
    assert make_worker().drain() == 1
    assert effects() == [(first, "w1", 1)]
    # Still deduplicated once the first job is done.
    assert enqueue_job(RECORD, idempotency_key="reminder:42") is None


def test_a_dead_workers_job_runs_again_after_its_lease(
    make_worker: Callable[..., Worker],
    enqueue_job: Callable[..., int],
    load_job,
    effects: Effects,
    clock: FrozenClock,
) -> None:
    job_id = enqueue_job(RECORD)
    dead = make_worker("dead", lease=timedelta(minutes=5))
    survivor = make_worker("survivor")

    assert [job.id for job in dead.claim()] == [job_id]  # ... and then the process died
    assert survivor.run_once() == 0  # the lease still holds
    clock.advance(minutes=5)
    assert survivor.run_once() == 0  # expires strictly after lease_expires_at
    clock.advance(seconds=1)
    assert survivor.run_once() == 1

    job = load_job(job_id)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.SUCCEEDED, 2, "survivor")
    assert effects() == [(job_id, "survivor", 2)]
    assert survivor.run_once() == 0


def test_a_stale_worker_cannot_complete_a_job_taken_over(
    make_worker: Callable[..., Worker],
    enqueue_job: Callable[..., int],
    load_job,
    effects: Effects,
    clock: FrozenClock,
) -> None:
    job_id = enqueue_job(RECORD)
    stale = make_worker("stale", lease=timedelta(seconds=30))
    fresh = make_worker("fresh")
    [stale_claim] = stale.claim()
    clock.advance(seconds=31)
    [fresh_claim] = fresh.claim()

    # The stalled worker wakes up and finishes its handler: its completion is refused and
    # its writes roll back, whichever of the two finishes first.
    assert stale.run_one(stale_claim) == RunOutcome.LEASE_LOST
    assert effects() == []
    assert fresh.run_one(fresh_claim) == RunOutcome.SUCCEEDED
    assert stale.run_one(stale_claim) == RunOutcome.LEASE_LOST

    assert effects() == [(job_id, "fresh", 2)]
    job = load_job(job_id)
    assert (job.status, job.locked_by, job.attempts) == (JobStatus.SUCCEEDED, "fresh", 2)


def test_the_same_worker_id_cannot_complete_an_older_attempt(
    make_worker: Callable[..., Worker],
    enqueue_job: Callable[..., int],
    effects: Effects,
    clock: FrozenClock,
) -> None:
    # A restarted process may reuse its id; the attempt number still tells claims apart.
    job_id = enqueue_job(RECORD)
    worker = make_worker("same", lease=timedelta(seconds=30))
    [old] = worker.claim()
    clock.advance(seconds=31)
    [new] = worker.claim()

    assert worker.run_one(old) == RunOutcome.LEASE_LOST
    assert worker.run_one(new) == RunOutcome.SUCCEEDED
    assert effects() == [(job_id, "same", 2)]


def test_a_failing_job_backs_off_then_fails_with_its_error(
    make_worker: Callable[..., Worker],
    enqueue_job: Callable[..., int],
    load_job,
    effects: Effects,
    clock: FrozenClock,
) -> None:
    policy = RetryPolicy(base=timedelta(seconds=10), factor=3.0, cap=timedelta(minutes=5))
    job_id = enqueue_job(FAIL, max_attempts=3)
    worker = make_worker(retry=policy)
    start = clock.now()

    assert worker.run_once() == 1
    job = load_job(job_id)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.QUEUED, 1, None)
    assert job.run_at == start + timedelta(seconds=10)
    assert "RuntimeError: boom on attempt 1" in (job.last_error or "")

    clock.advance(seconds=9)
    assert worker.run_once() == 0
    clock.advance(seconds=1)
    assert worker.run_once() == 1
    job = load_job(job_id)
    assert (job.status, job.attempts) == (JobStatus.QUEUED, 2)
    assert job.run_at == clock.now() + timedelta(seconds=30)

    clock.advance(seconds=30)
    assert worker.run_once() == 1
    job = load_job(job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 3)
    assert job.finished_at == clock.now()
    assert "boom on attempt 3" in (job.last_error or "")
    assert "Traceback" in (job.last_error or "")

    clock.advance(hours=1)
    assert worker.run_once() == 0
    assert effects() == []


def test_an_unknown_kind_fails_instead_of_looping(
    make_worker: Callable[..., Worker],
    enqueue_job: Callable[..., int],
    load_job,
    effects: Effects,
) -> None:
    unknown = enqueue_job("nobody.handles.this")
    known = enqueue_job(RECORD)
    worker = make_worker("w1")

    assert worker.run_once() == 2
    job = load_job(unknown)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.FAILED, 1, "w1")
    assert job.finished_at is not None
    assert "no handler for job kind 'nobody.handles.this'" in (job.last_error or "")
    assert effects() == [(known, "w1", 1)]
    assert worker.run_once() == 0


def test_a_lease_lost_on_the_last_attempt_fails_the_job(
    make_worker: Callable[..., Worker],
    enqueue_job: Callable[..., int],
    load_job,
    effects: Effects,
    clock: FrozenClock,
) -> None:
    # A handler that kills its worker every time must not be claimed forever.
    job_id = enqueue_job(RECORD, max_attempts=2)
    for _ in range(2):
        assert len(make_worker("doomed", lease=timedelta(seconds=30)).claim()) == 1
        clock.advance(seconds=31)

    assert make_worker("next").run_once() == 1
    job = load_job(job_id)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.FAILED, 2, "doomed")
    assert job.lease_expires_at is None
    assert "lease expired during the last attempt (2/2)" in (job.last_error or "")
    assert effects() == []


def test_handler_gets_its_context(
    container: Container, enqueue_job: Callable[..., int], make_worker: Callable[..., Worker]
) -> None:
    seen: list[JobContext] = []
    registry = JobRegistry()
    registry.register("test.context", seen.append)
    job_id = enqueue_job("test.context", payload={"incident": 7})

    make_worker(registry=registry).run_once()

    [ctx] = seen
    assert (ctx.job_id, ctx.attempt, ctx.payload) == (job_id, 1, {"incident": 7})
    assert ctx.clock is container.clock
    assert ctx.session.info["clock"] is container.clock


def test_handler_writes_to_audited_tables_work(
    container: Container, enqueue_job: Callable[..., int], make_worker: Callable[..., Worker]
) -> None:
    # The audit hook needs the clock in session.info; the worker's transaction provides it.
    def create_user(ctx: JobContext) -> None:
        data = UserCreate(
            email="job@example.com", name="Job", role=Role.VIEWER, password="correct horse battery"
        )
        auth_service.create(ctx.session, ctx.clock, actor=SYSTEM, data=data)

    registry = JobRegistry()
    registry.register("test.user", create_user)
    enqueue_job("test.user")

    assert make_worker(registry=registry).run_once() == 1
    with container.session_factory() as session:
        assert session.scalars(select(User.email)).all() == ["job@example.com"]


def test_records_failure_even_when_the_handler_broke_the_session(
    make_worker: Callable[..., Worker],
    enqueue_job: Callable[..., int],
    load_job,
    effects: Effects,
) -> None:
    def violate(ctx: JobContext) -> None:
        record_effect(ctx, "x")
        ctx.session.execute(text("SELECT * FROM no_such_table"))

    registry = JobRegistry()
    registry.register("test.sql_error", violate)
    job_id = enqueue_job("test.sql_error")

    assert make_worker(registry=registry).run_once() == 1
    job = load_job(job_id)
    assert job.status == JobStatus.QUEUED
    assert "no_such_table" in (job.last_error or "")
    assert effects() == []
