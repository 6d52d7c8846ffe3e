"""The worker loop: waking on new work, graceful stop, LISTEN/NOTIFY, surviving errors.

The poll interval is an hour in these tests, so a job that runs at all ran because the
worker was woken. Event waits carry a generous timeout only so a bug fails instead of hanging."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.db import make_engine, make_session_factory, transaction
from escalate.jobs import service as job_service
from escalate.jobs.models import JobStatus
from escalate.jobs.registry import JobContext, JobRegistry
from escalate.jobs.worker import MIN_IDLE_WAIT_SECONDS, Worker

HOUR = 3600.0
PATIENCE = 20.0  # seconds before a missing event counts as a failure


def signalling_registry(done: threading.Event) -> JobRegistry:
    registry = JobRegistry()
    registry.register("test.signal", lambda ctx: done.set())
    return registry


def test_wake_hook_runs_a_new_job_at_once(container: Container) -> None:
    done = threading.Event()
    worker = Worker(
        container.session_factory,
        container.clock,
        signalling_registry(done),
        poll_interval=HOUR,
    )
    job_service.install_wake_hook(container.session_factory, worker.wake)
    worker.start()
    try:
        with transaction(container.session_factory, clock=container.clock) as session:
            job_service.enqueue(session, container.clock, kind="test.signal")
        assert done.wait(PATIENCE)
    finally:
        worker.stop()
    assert not worker.running


def test_stop_finishes_the_current_job_and_gives_back_the_rest(
    container: Container, enqueue_job: Callable[..., int], load_job
) -> None:
    started, proceed = threading.Event(), threading.Event()

    def slow(ctx: JobContext) -> None:
        started.set()
        assert proceed.wait(PATIENCE)

    registry = JobRegistry()
    registry.register("test.slow", slow)
    first, second, third = (enqueue_job("test.slow") for _ in range(3))
    worker = Worker(
        container.session_factory, container.clock, registry, worker_id="w", poll_interval=HOUR
    )
    worker.start()
    try:
        assert started.wait(PATIENCE)
        worker.stop(timeout=0)  # asks; the job in hand goes on
        assert worker.running
        proceed.set()
        worker.stop(timeout=PATIENCE)
        assert not worker.running
    finally:
        proceed.set()
        worker.stop()

    assert load_job(first).status == JobStatus.SUCCEEDED
    for job_id in (second, third):
        job = load_job(job_id)
        assert (job.status, job.attempts, job.locked_by, job.lease_expires_at) == (
            JobStatus.QUEUED,
            0,
            None,
            None,
        )


def test_run_forever_returns_when_its_stop_event_is_set(container: Container) -> None:
    worker = Worker(container.session_factory, container.clock, JobRegistry(), poll_interval=HOUR)
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(stop,))
    thread.start()
    stop.set()
    worker.wake()  # setting the event alone is noticed at the next poll
    thread.join(PATIENCE)
    assert not thread.is_alive()


def test_the_loop_survives_a_failing_batch(
    container: Container, enqueue_job: Callable[..., int]
) -> None:
    done = threading.Event()
    worker = Worker(
        container.session_factory,
        container.clock,
        signalling_registry(done),
        poll_interval=0.01,
    )
    real_claim = worker._claim
    calls: list[int] = []

    def flaky_claim(limit: int):  # the database went away once
        calls.append(limit)
        if len(calls) == 1:
            raise ConnectionError("database restarting")
        return real_claim(limit)

    worker._claim = flaky_claim  # type: ignore[method-assign]
    enqueue_job("test.signal")
    worker.start()
    try:
        assert done.wait(PATIENCE)
    finally:
        worker.stop()
    assert len(calls) >= 2


def test_listen_notify_wakes_a_worker_on_postgresql(pg_url: str, clock: FrozenClock) -> None:
    engine = make_engine(pg_url, pool_size=2)
    factory = make_session_factory(engine)  # no wake hook: only NOTIFY can wake the worker
    done = threading.Event()
    worker = Worker(factory, clock, signalling_registry(done), poll_interval=HOUR)
    worker.start()
    try:
        assert worker.listening.wait(PATIENCE)
        with transaction(factory, clock=clock) as session:
            job_service.enqueue(session, clock, kind="test.signal")
        assert done.wait(PATIENCE)
    finally:
        worker.stop()
        engine.dispose()
    assert not worker.running
    assert not worker.listening.is_set()


def test_an_idle_worker_sleeps_until_the_next_timer_not_a_whole_poll(
    container: Container, clock: FrozenClock
) -> None:
    worker = Worker(container.session_factory, clock, JobRegistry(), poll_interval=HOUR)
    assert worker.idle_wait() == HOUR  # nothing queued: the poll interval
    with transaction(container.session_factory, clock=clock) as session:
        job_service.enqueue(
            session, clock, kind="test.later", run_at=clock.now() + timedelta(seconds=2.5)
        )
    assert worker.idle_wait() == 2.5
    clock.advance(timedelta(seconds=10))
    # Overdue (held by another worker, say): a short floor, never a busy loop or an hour.
    assert worker.idle_wait() == MIN_IDLE_WAIT_SECONDS
