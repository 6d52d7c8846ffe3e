"""The queue's admin use cases: stats for /metrics, listing, retrying, purging, waking."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import psycopg
import pytest
from jobs_support import FAIL, RECORD
from sqlalchemy import text
from sqlalchemy.engine import make_url

from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.db import make_engine, make_session_factory, transaction
from escalate.errors import InvalidTransition, NotFound, ValidationFailed
from escalate.jobs import service as job_service
from escalate.jobs.models import JobStatus
from escalate.jobs.worker import Worker
from escalate.pagination import PageParams

EMPTY = {"queued_due": 0, "queued_scheduled": 0, "running": 0, "failed": 0}


def stats(container: Container) -> dict:
    with container.session_factory() as session:
        return job_service.queue_stats(session, now=container.clock.now())


def test_queue_stats_of_an_empty_queue(container: Container) -> None:
    assert stats(container) == {"depth": EMPTY, "oldest_due_age_seconds": 0.0}


def test_queue_stats_counts_each_state_and_the_oldest_due_age(
    container: Container,
    clock: FrozenClock,
    enqueue_job: Callable[..., int],
    make_worker: Callable[..., Worker],
    effects,
) -> None:
    now = clock.now()
    enqueue_job(FAIL, max_attempts=1, run_at=now - timedelta(hours=1))
    enqueue_job(RECORD, run_at=now - timedelta(minutes=50))
    make_worker().run_once()  # one failed, one succeeded (not counted)
    enqueue_job(RECORD, run_at=now - timedelta(seconds=90))
    enqueue_job(RECORD, run_at=now - timedelta(seconds=30))
    enqueue_job(RECORD, run_at=now + timedelta(minutes=5))
    make_worker("w2").claim(1)  # the 90-second-old one is now running

    assert stats(container) == {
        "depth": {"queued_due": 1, "queued_scheduled": 1, "running": 1, "failed": 1},
        "oldest_due_age_seconds": 30.0,
    }
    clock.advance(minutes=10)
    assert stats(container) == {
        "depth": {"queued_due": 2, "queued_scheduled": 0, "running": 1, "failed": 1},
        "oldest_due_age_seconds": 630.0,
    }


def test_list_jobs_filters_and_pages(
    container: Container, clock: FrozenClock, enqueue_job: Callable[..., int]
) -> None:
    ids = [enqueue_job(RECORD, run_at=clock.now() + timedelta(minutes=n)) for n in range(5)]
    other = enqueue_job("other.kind")

    with container.session_factory() as session:
        page = job_service.list_jobs(session, kind=RECORD, page=PageParams(limit=2, offset=1))
        assert page.total == 5
        assert [job.id for job in page.items] == [ids[3], ids[2]]  # latest run_at first

        everything = job_service.list_jobs(session)
        assert everything.total == 6
        queued = job_service.list_jobs(session, status=JobStatus.QUEUED, kind="other.kind")
        assert [job.id for job in queued.items] == [other]
        assert job_service.list_jobs(session, status=JobStatus.FAILED).total == 0


def test_retry_failed_requeues_with_one_more_attempt(
    container: Container,
    clock: FrozenClock,
    enqueue_job: Callable[..., int],
    make_worker: Callable[..., Worker],
    load_job,
    effects,
) -> None:
    job_id = enqueue_job(FAIL, max_attempts=1)
    worker = make_worker()
    worker.run_once()
    assert load_job(job_id).status == JobStatus.FAILED
    clock.advance(hours=2)

    with transaction(container.session_factory, clock=clock) as session:
        job = job_service.retry_failed(session, clock, job_id=job_id)
        assert session.info[job_service.WAKE_FLAG] is True
    assert (job.status, job.attempts, job.max_attempts) == (JobStatus.QUEUED, 1, 2)
    assert job.run_at == clock.now()
    assert job.finished_at is None

    assert worker.run_once() == 1
    job = load_job(job_id)
    assert (job.status, job.attempts) == (JobStatus.FAILED, 2)


def test_retry_failed_refuses_other_states_and_unknown_ids(
    container: Container, clock: FrozenClock, enqueue_job: Callable[..., int]
) -> None:
    job_id = enqueue_job(RECORD)
    with transaction(container.session_factory, clock=clock) as session:
        with pytest.raises(InvalidTransition, match="only a failed job"):
            job_service.retry_failed(session, clock, job_id=job_id)
        with pytest.raises(NotFound):
            job_service.retry_failed(session, clock, job_id=10_000)
        with pytest.raises(ValidationFailed):
            job_service.retry_failed(session, clock, job_id=job_id, extra_attempts=0)
        with pytest.raises(NotFound):
            job_service.get(session, job_id=10_000)


def test_purge_succeeded_keeps_recent_and_failed_jobs(
    container: Container,
    clock: FrozenClock,
    enqueue_job: Callable[..., int],
    make_worker: Callable[..., Worker],
    load_job,
    effects,
) -> None:
    old = enqueue_job(RECORD, idempotency_key="old")
    failed = enqueue_job(FAIL, max_attempts=1)
    make_worker().run_once()
    clock.advance(days=8)
    recent = enqueue_job(RECORD)
    make_worker().run_once()

    with transaction(container.session_factory, clock=clock) as session:
        purged = job_service.purge_succeeded(
            session, finished_before=clock.now() - timedelta(days=7)
        )
    assert purged == 1
    with container.session_factory() as session:
        remaining = {job.id for job in job_service.list_jobs(session).items}
    assert remaining == {failed, recent}
    assert old not in remaining
    assert load_job(failed).status == JobStatus.FAILED


def test_wake_hook_fires_after_a_commit_that_enqueued(container: Container) -> None:
    woken: list[str] = []
    factory = make_session_factory(container.engine)
    job_service.install_wake_hook(factory, lambda: woken.append("wake"))

    with transaction(factory, clock=container.clock) as session:
        job_service.enqueue(session, container.clock, kind=RECORD)
        assert woken == []  # not before the commit
    assert woken == ["wake"]

    with pytest.raises(RuntimeError), transaction(factory, clock=container.clock) as session:
        job_service.enqueue(session, container.clock, kind=RECORD)
        raise RuntimeError("rolled back")
    with transaction(factory, clock=container.clock) as session:
        session.execute(text("SELECT 1"))  # a commit that enqueued nothing
    assert woken == ["wake"]


def test_enqueue_notifies_listeners_on_commit_only(pg_url: str, clock: FrozenClock) -> None:
    conninfo = make_url(pg_url).set(drivername="postgresql").render_as_string(False)
    engine = make_engine(pg_url, pool_size=2)
    factory = make_session_factory(engine)
    try:
        with psycopg.connect(conninfo, autocommit=True) as listener:
            listener.execute(f"LISTEN {job_service.NOTIFY_CHANNEL}")

            with transaction(factory, clock=clock) as session:
                job_service.enqueue(session, clock, kind=RECORD)
                job_service.enqueue(session, clock, kind=RECORD)
                assert list(listener.notifies(timeout=0.2)) == []  # nothing before commit
            # Two enqueues in one transaction fold into one notification.
            notes = list(listener.notifies(timeout=5, stop_after=1))
            assert [n.channel for n in notes] == [job_service.NOTIFY_CHANNEL]
            assert list(listener.notifies(timeout=0.2)) == []

            # A job scheduled for later wakes nobody.
            with transaction(factory, clock=clock) as session:
                later = clock.now() + timedelta(hours=1)
                job_service.enqueue(session, clock, kind=RECORD, run_at=later)
            assert list(listener.notifies(timeout=0.2)) == []
    finally:
        engine.dispose()
