"""Several workers at once, in threads and in OS processes, and a worker killed mid-job.
These use the real clock where the workers are real processes: they just drain the queue."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jobs_support import (
    BLOCK,
    RECORD,
    blocking_handler,
    create_effects_table,
    read_effects,
    recording_registry,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from escalate.bootstrap import Container
from escalate.clock import Clock, FrozenClock, SystemClock
from escalate.db import make_engine, make_session_factory, transaction
from escalate.jobs import service as job_service
from escalate.jobs.models import Job, JobStatus
from escalate.jobs.worker import Worker

WORKER_SCRIPT = Path(__file__).with_name("worker_process.py")


def enqueue_many(factory: sessionmaker[Session], clock: Clock, count: int) -> list[int]:
    with transaction(factory, clock=clock) as session:
        ids = [
            job_service.enqueue(session, clock, kind=RECORD, payload={"n": n}) for n in range(count)
        ]
    return [job_id for job_id in ids if job_id is not None]


def assert_each_ran_once(factory: sessionmaker[Session], effects: list, ids: list[int]) -> None:
    """Every job succeeded on its first attempt, with exactly one committed effect, written
    by the worker its row names."""
    assert sorted(row[0] for row in effects) == sorted(ids)
    with factory() as session:
        rows = session.execute(select(Job.id, Job.status, Job.attempts, Job.locked_by)).all()
    assert {(status, attempts) for _, status, attempts, _ in rows} == {(JobStatus.SUCCEEDED, 1)}
    assert {job_id: worker for job_id, _, _, worker in rows} == {
        job_id: worker for job_id, worker, _ in effects
    }


def test_two_worker_threads_drain_the_queue_exactly_once(container: Container) -> None:
    create_effects_table(container.engine)
    ids = enqueue_many(container.session_factory, container.clock, 300)
    start = threading.Barrier(2)
    done: dict[str, int] = {}

    def drain(worker: Worker) -> None:
        start.wait()
        done[worker.worker_id] = worker.drain()

    workers = [
        Worker(
            container.session_factory,
            container.clock,
            recording_registry(name),
            worker_id=name,
            batch_size=5,
        )
        for name in ("a", "b")
    ]
    threads = [threading.Thread(target=drain, args=(worker,)) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    effects = read_effects(container.engine)
    assert_each_ran_once(container.session_factory, effects, ids)
    # How the 300 split between the two is up to the scheduler (on a loaded machine one
    # thread may take them all); what must hold is that together they ran each once.
    assert done["a"] + done["b"] == 300


Process = subprocess.Popen[str]


def send(proc: Process, line: str) -> None:
    assert proc.stdin is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()


def receive(proc: Process) -> str:
    assert proc.stdout is not None
    return proc.stdout.readline().strip()


@contextmanager
def worker_processes(url: str, names: list[str], lease_seconds: int) -> Iterator[list[Process]]:
    """Start worker_process.py once per name and wait until each is connected."""
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER_SCRIPT), url, name, str(lease_seconds)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for name in names
    ]
    try:
        for proc in procs:
            assert receive(proc) == "ready"
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=30)  # reaps it and closes the pipes


def drain_in_two_processes(url: str) -> None:
    engine = make_engine(url, pool_size=2)
    factory = make_session_factory(engine)
    try:
        create_effects_table(engine)
        ids = enqueue_many(factory, SystemClock(), 1000)

        with worker_processes(url, ["p1", "p2"], lease_seconds=600) as procs:
            for proc in procs:
                send(proc, "go")
            outputs = [receive(proc) for proc in procs]
            assert [proc.wait(timeout=120) for proc in procs] == [0, 0]

        effects = read_effects(engine)
        assert_each_ran_once(factory, effects, ids)
        counts = [int(line.removeprefix("done ")) for line in outputs]
        assert sum(counts) == 1000
        # Both took part: SKIP LOCKED let them work side by side, not in turns.
        assert min(counts) > 0, counts
        assert {worker for _, worker, _ in effects} == {"p1", "p2"}
        with factory() as session:
            assert session.scalar(select(func.count()).select_from(Job)) == 1000
    finally:
        engine.dispose()


def test_two_worker_processes_run_1000_jobs_exactly_once_on_postgresql(pg_url: str) -> None:
    drain_in_two_processes(pg_url)


def test_two_worker_processes_run_1000_jobs_exactly_once_on_sqlite(sqlite_url: str) -> None:
    drain_in_two_processes(sqlite_url)


def test_a_worker_killed_mid_job_is_recovered_exactly_once(
    db_url: str, container: Container, load_job
) -> None:
    create_effects_table(container.engine)
    with transaction(container.session_factory, clock=container.clock) as session:
        job_id = job_service.enqueue(session, container.clock, kind=BLOCK)

    with worker_processes(db_url, ["victim"], lease_seconds=60) as [victim]:
        send(victim, "go")
        assert receive(victim) == f"started {job_id}"
        victim.send_signal(signal.SIGKILL)
        assert victim.wait(timeout=30) == -signal.SIGKILL

    job = load_job(job_id)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.RUNNING, 1, "victim")
    assert read_effects(container.engine) == []  # its write died with its transaction

    clock = FrozenClock(datetime.now(UTC))
    registry = recording_registry("rescuer")
    registry.register(BLOCK, blocking_handler("rescuer"))
    rescuer = Worker(container.session_factory, clock, registry, worker_id="rescuer")
    assert rescuer.run_once() == 0  # the dead worker's lease still holds
    clock.advance(timedelta(seconds=61))
    assert rescuer.run_once() == 1
    assert rescuer.run_once() == 0

    job = load_job(job_id)
    assert (job.status, job.attempts, job.locked_by) == (JobStatus.SUCCEEDED, 2, "rescuer")
    assert read_effects(container.engine) == [(job_id, "rescuer", 2)]
