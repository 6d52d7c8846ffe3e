"""Durability of alert ingest across a crash: an event answered 202 is already committed.

A real `escalate serve` process receives a burst of PagerDuty Events v2 triggers from
several keep-alive clients, each event with a dedup key of its own. Once enough events have
been answered, the server is killed with SIGKILL while the clients are still sending: no
shutdown hook, no flush, no rollback runs. A new server is then started on the same
database. Every dedup key that was answered 202 must be stored as an alert, and the new
server must accept events again. Events that were in flight when the process died (sent,
never answered) may or may not be stored; nothing is asserted about them."""

from __future__ import annotations

import contextlib
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, select

from escalate import bootstrap
from escalate.alerts import service as alert_service
from escalate.alerts.models import Alert, IntegrationKind
from escalate.alerts.schemas import IntegrationCreate
from escalate.auth.permissions import SYSTEM
from escalate.db import transaction
from escalate.settings import Settings

ESCALATE = Path(sys.executable).parent / "escalate"
SECRET_KEY = "test-secret-key-ingest-crash"
CLIENTS = 6
KILL_AFTER_ACCEPTED = 60
READY_SECONDS = 20.0
BURST_SECONDS = 15.0
CLIENT_TIMEOUT = 5.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _make_integration(db_url: str) -> tuple[int, str]:
    container = bootstrap.build(Settings(database_url=db_url, secret_key=SECRET_KEY))
    try:
        with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
            integration, key = alert_service.create_integration(
                s,
                container.clock,
                actor=SYSTEM,
                data=IntegrationCreate(name="Crash test", kind=IntegrationKind.EVENTS_V2),
            )
            return integration.id, key
    finally:
        container.dispose()


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class Servers:
    """Every server process started by the test, all killed at the end."""

    def __init__(self, db_url: str, logs: Path) -> None:
        self.db_url, self.logs = db_url, logs
        self.started: list[Server] = []

    def start(self) -> Server:
        port = _free_port()
        log = self.logs / f"serve-{len(self.started)}.log"
        env = {
            **os.environ,
            "ESCALATE_DATABASE_URL": self.db_url,
            "ESCALATE_SECRET_KEY": SECRET_KEY,
            "ESCALATE_RUN_WORKER_IN_PROCESS": "false",
            "ESCALATE_LOG_LEVEL": "warning",
        }
        command = [str(ESCALATE), "serve", "--host", "127.0.0.1", "--port", str(port)]
        with log.open("wb") as sink:
            proc = subprocess.Popen(
                command, env=env, stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT
            )
        server = Server(proc, f"http://127.0.0.1:{port}", log)
        self.started.append(server)
        self._wait_ready(server)
        return server

    def _wait_ready(self, server: Server) -> None:
        deadline = time.monotonic() + READY_SECONDS
        with httpx.Client(base_url=server.url, timeout=1.0) as client:
            while time.monotonic() < deadline:
                if server.proc.poll() is not None:
                    pytest.fail(
                        f"escalate serve exited with {server.proc.returncode}:\n"
                        + server.log_tail()
                    )
                try:
                    if client.get("/readyz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)  # polling readiness only
        pytest.fail(f"escalate serve not ready within {READY_SECONDS}s:\n{server.log_tail()}")

    def kill_all(self) -> None:
        for server in self.started:
            if server.proc.poll() is None:
                server.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.proc.wait(timeout=10)


@pytest.fixture
def servers(db_url: str, tmp_path: Path) -> Iterator[Servers]:
    started = Servers(db_url, tmp_path)
    try:
        yield started
    finally:
        started.kill_all()


def _event(key: str, dedup_key: str) -> dict[str, object]:
    return {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": f"Crash test {dedup_key}",
            "source": "crash-test",
            "severity": "critical",
        },
    }


@dataclass
class Burst:
    """What the clients saw, shared between their threads."""

    key: str
    prefix: str
    target: int
    deadline: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)
    accepted: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    other_answers: list[tuple[str, int, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def client(self, url: str, number: int) -> None:
        """Send triggers, each with a new dedup key, until the connection fails or time is
        up; a connection error is the expected end once the server is killed."""
        try:
            with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT) as client:
                for n in itertools.count():
                    if time.monotonic() > self.deadline:
                        return
                    dedup_key = f"{self.prefix}-{number}-{n:06d}"
                    try:
                        response = client.post("/v2/enqueue", json=_event(self.key, dedup_key))
                    except httpx.TransportError:
                        with self.lock:
                            self.unanswered.append(dedup_key)
                        return
                    with self.lock:
                        if response.status_code == 202:
                            body = response.json()
                            if body != {
                                "status": "success",
                                "message": "Event processed",
                                "dedup_key": dedup_key,
                            }:
                                self.failures.append(f"{dedup_key}: unexpected 202 body {body}")
                            self.accepted.append(dedup_key)
                            if len(self.accepted) >= self.target:
                                self.enough.set()
                        else:
                            self.other_answers.append(
                                (dedup_key, response.status_code, response.text[:200])
                            )
        except Exception as exc:  # reported by the test, not lost in a thread
            with self.lock:
                self.failures.append(f"client {number}: {exc!r}")


def _stored(db_url: str, integration_id: int) -> dict[str, int]:
    """Dedup key -> count of the integration's alerts, read with a fresh engine."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Alert.dedup_key, Alert.count).where(Alert.integration_id == integration_id)
            ).all()
    finally:
        engine.dispose()
    stored: dict[str, int] = {}
    for dedup_key, count in rows:
        stored[dedup_key] = stored.get(dedup_key, 0) + count
    return stored


def test_events_answered_202_survive_sigkill(db_url: str, servers: Servers) -> None:
    started = time.monotonic()
    integration_id, key = _make_integration(db_url)
    first = servers.start()

    burst = Burst(
        key=key,
        prefix=f"crash-{uuid.uuid4().hex[:8]}",
        target=KILL_AFTER_ACCEPTED,
        deadline=time.monotonic() + BURST_SECONDS,
    )
    threads = [
        threading.Thread(target=burst.client, args=(first.url, n), daemon=True)
        for n in range(CLIENTS)
    ]
    for thread in threads:
        thread.start()
    reached = burst.enough.wait(timeout=BURST_SECONDS)
    alive_at_kill = sum(thread.is_alive() for thread in threads)
    first.proc.kill()
    first.proc.wait(timeout=10)
    for thread in threads:
        thread.join(timeout=CLIENT_TIMEOUT + 5)
    assert not any(thread.is_alive() for thread in threads), "a client did not stop"

    with burst.lock:
        accepted = list(burst.accepted)
        failures = list(burst.failures)
        other_answers = list(burst.other_answers)
    assert not failures, failures
    assert reached, (
        f"only {len(accepted)} events answered 202 in {BURST_SECONDS}s "
        f"(other answers: {other_answers[:5]})\n{first.log_tail()}"
    )
    assert first.proc.returncode == -9
    # The kill came in the middle of the burst: clients were still sending.
    assert alive_at_kill == CLIENTS, f"only {alive_at_kill} clients were sending at the kill"
    assert len(set(accepted)) == len(accepted)

    second = servers.start()
    stored = _stored(db_url, integration_id)
    lost = [dedup_key for dedup_key in accepted if stored.get(dedup_key, 0) < 1]
    assert not lost, (
        f"{len(lost)} of {len(accepted)} events answered 202 are not stored, e.g. {lost[:5]}"
    )

    fresh = f"{burst.prefix}-after-restart"
    with httpx.Client(base_url=second.url, timeout=CLIENT_TIMEOUT) as client:
        response = client.post("/v2/enqueue", json=_event(key, fresh))
    assert response.status_code == 202, response.text
    assert response.json()["dedup_key"] == fresh
    assert _stored(db_url, integration_id).get(fresh) == 1

    elapsed = time.monotonic() - started
    print(
        f"accepted={len(accepted)} in-flight-at-kill={len(burst.unanswered)} "
        f"other-answers={len(other_answers)} elapsed={elapsed:.1f}s"
    )
    assert elapsed < 60, f"took {elapsed:.1f}s"
