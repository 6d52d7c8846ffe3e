"""Fixtures for CLI tests: run `escalate` in-process against the test database of each
engine (ESCALATE_DATABASE_URL in the environment, as an operator would), and empty
databases for the commands that must refuse an unmigrated schema."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from cli_support import PG_URL, RunCli, pg_execute, pg_url_for
from typer.testing import CliRunner, Result

from escalate.cli.main import app


@pytest.fixture
def run_cli(db_url: str) -> RunCli:
    """Run `escalate ARGS...` in-process on the test database; returns Typer's Result."""
    runner = CliRunner()

    def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        environment = {"ESCALATE_DATABASE_URL": db_url, "COLUMNS": "200", **(env or {})}
        return runner.invoke(app, list(args), input=input, env=environment)

    return run


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
    ]
)
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The URL of an empty database, without the Escalate schema, of each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    yield from _empty_postgres_database()


@pytest.fixture
def empty_pg_url() -> Iterator[str]:
    """An empty PostgreSQL database (mark the test `postgres`)."""
    yield from _empty_postgres_database()


def _empty_postgres_database() -> Iterator[str]:
    try:
        pg_execute("SELECT 1")
    except psycopg.OperationalError as exc:
        pytest.skip(f"PostgreSQL not reachable at {PG_URL} ({exc.__class__.__name__})")
    name = f"escalate_empty_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    pg_execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url_for(name)
    finally:
        pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
