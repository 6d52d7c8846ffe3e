"""`escalate db ...`, and `serve`/`worker`: refusing an out-of-date schema, running."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from cli_support import RunCli, escalate_binary, free_port, subprocess_env
from sqlalchemy import select
from typer.testing import CliRunner, Result

from escalate import migrate
from escalate.alerts import service as alert_service
from escalate.alerts.models import Alert, IntegrationKind
from escalate.alerts.schemas import IntegrationCreate
from escalate.auth import jobs as auth_jobs
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.cli.main import app
from escalate.cli.runtime import check_schema, may_auto_upgrade
from escalate.db import make_engine, transaction
from escalate.errors import SchemaOutOfDate
from escalate.jobs import housekeeping
from escalate.jobs import service as job_service
from escalate.jobs.models import Job, JobStatus
from escalate.settings import Settings

HEAD = migrate.head_revision()


def invoke(database_url: str, *args: str, **env: str) -> Result:
    return CliRunner().invoke(
        app, list(args), env={"ESCALATE_DATABASE_URL": database_url, "COLUMNS": "200", **env}
    )


# --- the check that `serve`, `worker` and every command rely on -------------------------


def test_check_schema_refuses_an_empty_database_without_auto_upgrade(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        with pytest.raises(SchemaOutOfDate, match="run `escalate db upgrade`"):
            check_schema(engine, auto_upgrade=False)
        assert migrate.schema_state(engine).current is None  # nothing was changed
    finally:
        engine.dispose()


def test_check_schema_upgrades_when_allowed(empty_db_url: str) -> None:
    engine = make_engine(empty_db_url)
    try:
        done = check_schema(engine, auto_upgrade=True)
        assert done is not None and HEAD in done
        assert migrate.schema_state(engine).is_current
        assert check_schema(engine, auto_upgrade=False) is None
    finally:
        engine.dispose()


def test_only_the_embedded_sqlite_database_is_upgraded_without_asking() -> None:
    assert may_auto_upgrade(Settings(database_url="sqlite:///x.db"))
    assert not may_auto_upgrade(Settings(database_url="sqlite:///x.db", auto_upgrade_sqlite=False))
    assert not may_auto_upgrade(Settings(database_url="postgresql+psycopg://u@h/db"))


# --- serve and worker refuse an unmigrated database ----------------------------------


def test_serve_refuses_an_unmigrated_database_when_auto_upgrade_is_off(empty_db_url: str) -> None:
    result = invoke(empty_db_url, "serve", ESCALATE_AUTO_UPGRADE_SQLITE="false")
    assert result.exit_code == 4, result.output
    assert "run `escalate db upgrade`" in result.stderr
    assert result.stdout == ""


@pytest.mark.postgres
def test_serve_never_migrates_postgresql(empty_pg_url: str) -> None:
    result = invoke(empty_pg_url, "serve", ESCALATE_AUTO_UPGRADE_SQLITE="true")
    assert result.exit_code == 4
    assert "no Escalate schema yet" in result.stderr


def test_serve_binary_exits_4_on_an_empty_database(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = subprocess_env(f"sqlite:///{tmp_path / 'empty.db'}", ESCALATE_AUTO_UPGRADE_SQLITE="false")
    done = subprocess.run(
        [escalate_binary(), "serve", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 4
    assert "run `escalate db upgrade`" in done.stderr


def test_worker_refuses_an_unmigrated_database_even_on_sqlite(empty_db_url: str) -> None:
    result = invoke(empty_db_url, "worker", "--once", ESCALATE_AUTO_UPGRADE_SQLITE="true")
    assert result.exit_code == 4
    assert "run `escalate db upgrade`" in result.stderr


def test_commands_refuse_an_unmigrated_database(empty_db_url: str) -> None:
    result = invoke(empty_db_url, "user", "list")
    assert result.exit_code == 4
    assert "no Escalate schema yet" in result.stderr


def test_unreachable_database_exits_5() -> None:
    result = invoke("postgresql+psycopg://nobody@127.0.0.1:1/none", "user", "list")
    assert result.exit_code == 5
    assert "ESCALATE_DATABASE_URL" in result.stderr


def test_bad_setting_names_the_environment_variable(run_cli: RunCli) -> None:
    result = run_cli("user", "list", env={"ESCALATE_PORT": "eighty"})
    assert result.exit_code == 1
    assert "ESCALATE_PORT" in result.stderr


# --- db upgrade / status ---------------------------------------------------------------


def test_db_status_and_upgrade(empty_db_url: str) -> None:
    before = invoke(empty_db_url, "db", "status")
    assert before.exit_code == 4
    assert "(no schema)" in before.stdout and HEAD in before.stdout

    upgraded = invoke(empty_db_url, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert f"(empty database) -> {HEAD}" in upgraded.stdout

    again = invoke(empty_db_url, "db", "upgrade")
    assert again.exit_code == 0
    assert f"Already current: revision {HEAD}" in again.stdout

    after = invoke(empty_db_url, "db", "status")
    assert after.exit_code == 0
    assert "up to date" in after.stdout


def test_db_status_hides_the_password(run_cli: RunCli, db_url: str) -> None:
    result = run_cli("db", "status")
    assert result.exit_code == 0
    assert "database:" in result.stdout


# --- worker ------------------------------------------------------------------------------


def test_worker_once_runs_the_due_jobs(run_cli: RunCli, container: Container) -> None:
    with transaction(container.session_factory, clock=container.clock) as session:
        job_id = job_service.enqueue(
            session, container.clock, kind=auth_jobs.PURGE_SESSIONS, run_at=container.clock.now()
        )
    result = run_cli("worker", "--once", "--id", "cli-test")
    assert result.exit_code == 0, result.output
    assert "cli-test ran" in result.stdout
    with container.session_factory() as session:
        job = session.scalar(select(Job).where(Job.id == job_id))
        assert job is not None and job.status == JobStatus.SUCCEEDED
        queued = set(session.scalars(select(Job.kind).where(Job.status == JobStatus.QUEUED)))
    # Starting a worker seeds every recurring job's next run.
    assert {auth_jobs.PURGE_SESSIONS, housekeeping.PURGE_JOBS} <= queued


@pytest.fixture
def worker_process(db_url: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [escalate_binary(), "worker", "--id", "sigterm-test"],
        env=subprocess_env(db_url, ESCALATE_WORKER_POLL_SECONDS="0.2"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield process
    if process.poll() is None:
        process.kill()
        process.wait()


def _wait_for_line(stream, needle: str, timeout: float = 30.0) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = stream.readline()
        seen += line
        if needle in line:
            return seen
    raise AssertionError(f"{needle!r} not seen in: {seen}")


def test_worker_stops_gracefully_on_sigterm(worker_process: subprocess.Popen[str]) -> None:
    _wait_for_line(worker_process.stderr, "running")
    worker_process.send_signal(signal.SIGTERM)
    assert worker_process.wait(timeout=20) == 0
    assert "stopped" in worker_process.stderr.read()


# --- serve -------------------------------------------------------------------------------


def test_serve_runs_the_app_with_the_in_process_worker(db_url: str) -> None:
    port = free_port()
    process = subprocess.Popen(
        [escalate_binary(), "serve", "--host", "127.0.0.1", "--port", str(port), "--demo-hint"],
        # PostgreSQL needs a shared key to serve; SQLite does not mind one.
        env=subprocess_env(
            db_url, ESCALATE_RUN_WORKER_IN_PROCESS="true", ESCALATE_SECRET_KEY="test-secret-key"
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)
        assert ready.status_code == 200
        assert ready.json()["revision"] == HEAD
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        stdout = process.stdout.read() if process.stdout else ""
        assert f"http://127.0.0.1:{port}" in stdout
        assert "escalate-demo" in stdout
        assert "run `escalate demo load` first" in stdout  # the test database is empty
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_with_several_workers_stores_events_through_each(
    db_url: str, container: Container
) -> None:
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        _, key = alert_service.create_integration(
            s,
            container.clock,
            actor=SYSTEM,
            data=IntegrationCreate(name="Workers", kind=IntegrationKind.EVENTS_V2),
        )
    port = free_port()
    # No ESCALATE_SECRET_KEY on SQLite: serve makes one key for all its processes.
    secret = {} if db_url.startswith("sqlite") else {"ESCALATE_SECRET_KEY": "test-secret-key"}
    process = subprocess.Popen(
        [escalate_binary(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
        env=subprocess_env(db_url, ESCALATE_RUN_WORKER_IN_PROCESS="false", **secret),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            while True:
                try:
                    if client.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.1)  # polling readiness only
            for n in range(20):  # new connections: the kernel spreads them over processes
                with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=5) as fresh:
                    event = {
                        "routing_key": key,
                        "event_action": "trigger",
                        "dedup_key": f"w-{n}",
                        "payload": {"summary": "x", "source": "s", "severity": "info"},
                    }
                    assert fresh.post("/v2/enqueue", json=event).status_code == 202
        with container.session_factory() as session:
            keys = set(session.scalars(select(Alert.dedup_key)))
        assert keys == {f"w-{n}" for n in range(20)}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
