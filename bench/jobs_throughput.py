"""How fast the durable job queue moves, on SQLite and on PostgreSQL.

    .venv/bin/python bench/jobs_throughput.py [--jobs 5000] [--pg postgresql+psycopg://...]

Prints, per engine: enqueue rate (one job per committed transaction, as a state change
would write it), and drain rate with 1 and 2 worker processes whose handler writes one
row per job in the job's own transaction (the shape of a real timer or notification).
Figures, never assertions: the tests prove correctness, this shows speed."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from escalate import migrate
from escalate.clock import SystemClock
from escalate.db import make_engine, make_session_factory, transaction
from escalate.jobs import service as job_service
from escalate.jobs.registry import JobContext, JobRegistry
from escalate.jobs.worker import Worker

KIND = "bench.record"


def record(ctx: JobContext) -> None:
    ctx.session.execute(
        text("INSERT INTO bench_effects (job_id) VALUES (:job_id)"), {"job_id": ctx.job_id}
    )


def child(url: str, worker_id: str) -> None:
    """One worker process: wait for "go", drain, report how many it ran."""
    engine = make_engine(url, pool_size=2)
    registry = JobRegistry()
    registry.register(KIND, record)
    worker = Worker(
        make_session_factory(engine),
        SystemClock(),
        registry,
        worker_id=worker_id,
        lease=timedelta(minutes=5),
        batch_size=50,
    )
    print("ready", flush=True)
    sys.stdin.readline()
    print(worker.drain(), flush=True)


def prepare(url: str, jobs: int) -> float:
    engine = make_engine(url, pool_size=2)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE bench_effects (job_id INTEGER PRIMARY KEY)"))
    factory = make_session_factory(engine)
    clock = SystemClock()
    started = time.perf_counter()
    for n in range(jobs):
        with transaction(factory, clock=clock) as session:
            job_service.enqueue(session, clock, kind=KIND, payload={"n": n})
    elapsed = time.perf_counter() - started
    engine.dispose()
    return jobs / elapsed


def drain(url: str, workers: int) -> tuple[float, int]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent)}
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--child", url, f"w{i}"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(workers)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    done = 0
    for proc in procs:
        assert proc.stdout is not None
        done += int(proc.stdout.readline())
        proc.wait()
    return time.perf_counter() - started, done


def engines(pg_url: str, tmp: Path) -> list[tuple[str, str, str | None]]:
    found: list[tuple[str, str, str | None]] = [
        ("SQLite (WAL)", f"sqlite:///{tmp / 'bench.db'}", None)
    ]
    admin = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        found.append(("PostgreSQL", pg_url, admin))
    except psycopg.OperationalError:
        print(f"(PostgreSQL at {pg_url} unreachable: skipped)")
    return found


def fresh(url: str, admin: str | None, tmp: Path, label: str) -> tuple[str, str | None]:
    if admin is None:
        path = tmp / f"{label}.db"
        return f"sqlite:///{path}", None
    name = f"escalate_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return make_url(url).set(database=name).render_as_string(hide_password=False), name


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument(
        "--pg",
        default=os.environ.get(
            "ESCALATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
    )
    parser.add_argument("--child", nargs=2, metavar=("URL", "WORKER_ID"))
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    print(f"{args.jobs} jobs, handler writes one row per job; {os.cpu_count()} CPU cores")
    print(f"{'engine':<14} {'enqueue/s':>10} {'1 worker/s':>11} {'2 workers/s':>12}")
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        for label, url, admin in engines(args.pg, tmp):
            rates = []
            enqueue_rate = 0.0
            for workers in (1, 2):
                db_url, pg_name = fresh(url, admin, tmp, f"{label[:6]}{workers}")
                try:
                    enqueue_rate = prepare(db_url, args.jobs) if workers == 1 else enqueue_rate
                    if workers == 2:
                        prepare(db_url, args.jobs)
                    seconds, done = drain(db_url, workers)
                    assert done == args.jobs, (done, args.jobs)
                    rates.append(done / seconds)
                finally:
                    if pg_name and admin:
                        with psycopg.connect(admin, autocommit=True) as conn:
                            conn.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            print(f"{label:<14} {enqueue_rate:>10.0f} {rates[0]:>11.0f} {rates[1]:>12.0f}")


if __name__ == "__main__":
    main()
