"""Helpers shared by the job tests and the worker processes they start (worker_process.py).
A plain module with a unique name, importable both from pytest and from a script."""

from __future__ import annotations

import os
import sys

from sqlalchemy import Engine, text

from escalate.jobs.registry import JobContext, JobHandler, JobRegistry, RetryPolicy

# Same default as tests/conftest.py, whose pg_template fixture made the template database.
PG_URL = os.environ.get("ESCALATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
RECORD = "test.record"
FAIL = "test.fail"
EFFECTS_DDL = (
    "CREATE TABLE job_effects (job_id integer NOT NULL, worker varchar(100) NOT NULL, "
    "attempt integer NOT NULL)"
)


def create_effects_table(engine: Engine) -> None:
    """A table outside the ORM that handlers write to, so tests can count their effects.
    No unique constraint on purpose: a job that ran twice shows up as two rows."""
    with engine.begin() as conn:
        conn.execute(text(EFFECTS_DDL))


def read_effects(engine: Engine) -> list[tuple[int, str, int]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT job_id, worker, attempt FROM job_effects ORDER BY 1, 3"))
        return [(row[0], row[1], row[2]) for row in rows]


def record_effect(ctx: JobContext, worker: str) -> None:
    ctx.session.execute(
        text("INSERT INTO job_effects (job_id, worker, attempt) VALUES (:j, :w, :a)"),
        {"j": ctx.job_id, "w": worker, "a": ctx.attempt},
    )


def recording_registry(worker: str, *, retry: RetryPolicy | None = None) -> JobRegistry:
    """test.record writes one effect row; test.fail writes one and then raises."""

    def fail(ctx: JobContext) -> None:
        record_effect(ctx, worker)
        raise RuntimeError(f"boom on attempt {ctx.attempt}")

    registry = JobRegistry()
    registry.register(RECORD, lambda ctx: record_effect(ctx, worker))
    registry.register(FAIL, fail, retry=retry)
    return registry


BLOCK = "test.block"


def blocking_handler(worker: str) -> JobHandler:
    """test.block: on its first attempt, write an effect, say so on stdout, then hang until
    the test's end of the stdin pipe closes, and die without committing. Later attempts
    just write their effect. Used to kill a worker in the middle of a job."""

    def handle(ctx: JobContext) -> None:
        record_effect(ctx, worker)
        if ctx.attempt == 1:
            print(f"started {ctx.job_id}", flush=True)
            sys.stdin.read()
            os._exit(3)

    return handle
