"""Builders for job tests: a table for handler effects, workers, enqueued jobs, and a
PostgreSQL-only database for the tests that are about PostgreSQL itself."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from jobs_support import PG_URL, RECORD, create_effects_table, read_effects, recording_registry
from sqlalchemy.engine import make_url

from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.jobs import service as job_service
from escalate.jobs.models import Job
from escalate.jobs.registry import JobRegistry, RetryPolicy
from escalate.jobs.worker import Worker


@pytest.fixture
def effects(container: Container) -> Callable[[], list[tuple[int, str, int]]]:
    """Creates the effects table; call the result to read (job_id, worker, attempt) rows."""
    create_effects_table(container.engine)
    return lambda: read_effects(container.engine)


@pytest.fixture
def make_worker(container: Container) -> Callable[..., Worker]:
    """Builder: a worker on the test database whose handlers record their effects."""

    def build(
        worker_id: str = "w1",
        *,
        registry: JobRegistry | None = None,
        retry: RetryPolicy | None = None,
        lease: timedelta = timedelta(minutes=5),
        **options: Any,
    ) -> Worker:
        return Worker(
            container.session_factory,
            container.clock,
            registry or recording_registry(worker_id, retry=retry),
            worker_id=worker_id,
            lease=lease,
            **options,
        )

    return build


@pytest.fixture
def enqueue_job(container: Container) -> Callable[..., int | None]:
    """Builder: enqueue one job in its own committed transaction."""

    def build(kind: str = RECORD, **options: Any) -> int | None:
        with transaction(container.session_factory, clock=container.clock) as session:
            return job_service.enqueue(session, container.clock, kind=kind, **options)

    return build


@pytest.fixture
def load_job(container: Container) -> Callable[[int], Job]:
    """Read a job's committed state."""

    def load(job_id: int) -> Job:
        with container.session_factory() as session:
            job = session.get(Job, job_id)
            assert job is not None
            return job

    return load


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh migrated PostgreSQL database, for tests of PostgreSQL-only machinery
    (LISTEN/NOTIFY, SKIP LOCKED across processes). Not parametrized, so never skipped
    on a SQLite run."""
    base = make_url(PG_URL)
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"escalate_tj_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    yield base.set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    """A fresh migrated SQLite database, for tests that need their own per-engine variant."""
    target = tmp_path / "jobs.db"
    shutil.copyfile(sqlite_template, target)
    return f"sqlite:///{target}"
