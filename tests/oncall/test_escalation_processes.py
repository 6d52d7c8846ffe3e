"""Escalation in real worker processes: a worker killed with SIGKILL between two steps (and,
on PostgreSQL, one killed while it holds step 2), and two workers on PostgreSQL running
1,000 escalations together. Every step is paged exactly once.

The worker processes (escalation_worker_process.py) run the product's own job handlers on
the test's clock, which they read from a file the test rewrites: time moves because the
test says so, never by sleeping."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from escalation_worker_process import write_clock
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update

from escalate.alerts import rules as rule_service
from escalate.alerts import service as alert_service
from escalate.alerts.models import Integration, IntegrationKind, MatchOp
from escalate.alerts.schemas import IntegrationCreate, MatcherIn, RoutingRuleCreate
from escalate.auth.models import Role, User
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.db import transaction
from escalate.incidents.models import Incident, IncidentEvent
from escalate.jobs.models import Job, JobStatus
from escalate.notify.models import Notification
from escalate.oncall import escalation
from escalate.oncall import policies as policy_service
from escalate.oncall.policy_schemas import PolicyCreate, StepIn

WORKER_SCRIPT = Path(__file__).with_name("escalation_worker_process.py")
STEP_DELAY = timedelta(minutes=5)
LEASE_SECONDS = 30
PG_ONLY = pytest.mark.parametrize(
    "db_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


class Workers:
    """Worker processes sharing the test's clock file."""

    def __init__(self, url: str, clock: FrozenClock, clock_file: Path) -> None:
        self.url, self.clock, self.clock_file = url, clock, clock_file
        self.procs: dict[str, subprocess.Popen[str]] = {}
        write_clock(clock_file, clock.now())

    def advance(self, delta: timedelta) -> None:
        self.clock.advance(delta)
        write_clock(self.clock_file, self.clock.now())

    def start(self, name: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(WORKER_SCRIPT),
                self.url,
                str(self.clock_file),
                name,
                str(LEASE_SECONDS),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.procs[name] = proc
        assert self.read(name) == "ready"
        return proc

    def read(self, name: str) -> str:
        stdout = self.procs[name].stdout
        assert stdout is not None
        return stdout.readline().strip()

    def send(self, name: str, line: str) -> None:
        stdin = self.procs[name].stdin
        assert stdin is not None
        stdin.write(line + "\n")
        stdin.flush()

    def drain(self, *names: str) -> list[int]:
        """Every named worker drains at once; returns how many jobs each ran."""
        for name in names:
            self.send(name, "drain")
        return [int(self.read(name).removeprefix("drained ")) for name in names]

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        proc.communicate(timeout=30)

    def close(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
            proc.communicate(timeout=30)


@pytest.fixture
def workers(db_url: str, clock: FrozenClock, tmp_path: Path) -> Iterator[Workers]:
    made = Workers(db_url, clock, tmp_path / "clock.txt")
    yield made
    made.close()


def _routed_to_a_two_step_policy(
    container: Container, make_user: Callable[..., User]
) -> tuple[str, User, User]:
    """Ana is step 1, Ben step 2 after five minutes; every alert opens its own incident.
    Returns (routing key, Ana, Ben)."""
    ana = make_user(Role.RESPONDER, name="Ana Lima")
    ben = make_user(Role.RESPONDER, name="Ben Okafor")
    clock = container.clock
    with transaction(container.session_factory, clock=clock, actor=SYSTEM) as session:
        policy_service.create(
            session,
            clock,
            actor=SYSTEM,
            data=PolicyCreate(
                name="Database",
                steps=[
                    StepIn(delay_minutes=int(STEP_DELAY.total_seconds() // 60), users=[ana.id]),
                    StepIn(delay_minutes=10, users=[ben.id]),
                ],
            ),
        )
        integration, key = alert_service.create_integration(
            session,
            clock,
            actor=SYSTEM,
            data=IntegrationCreate(name="Prometheus", kind=IntegrationKind.EVENTS_V2),
        )
        rule_service.create_rule(
            session,
            actor=SYSTEM,
            integration_id=integration.id,
            data=RoutingRuleCreate(
                name="Everything to the database policy",
                matchers=[MatcherIn(name="event.severity", op=MatchOp.REGEX, value=".+")],
                escalation_policy="Database",
            ),
        )
        session.execute(
            update(Integration)
            .where(Integration.id == integration.id)
            .values(grouping_labels=["event.dedup_key"])
        )
    return key, ana, ben


def _trigger(client: TestClient, key: str, dedup: str) -> None:
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup,
        "payload": {"summary": f"Database down ({dedup})", "source": "db", "severity": "critical"},
    }
    assert client.post("/v2/enqueue", json=event).status_code == 202


def _pages(container: Container) -> Counter[tuple[int, int | None, int]]:
    """How many times each (incident, person, step) was paged, from the timeline."""
    with container.session_factory() as session:
        events = session.scalars(select(IncidentEvent).where(IncidentEvent.kind == "paged"))
        return Counter((e.incident_id, e.data.get("user_id"), int(e.data["step"])) for e in events)


def _outbox(container: Container) -> Counter[tuple[int | None, int | None]]:
    with container.session_factory() as session:
        rows = session.execute(select(Notification.incident_id, Notification.user_id)).all()
        return Counter((incident_id, user_id) for incident_id, user_id in rows)


def _incident_ids(container: Container) -> list[int]:
    with container.session_factory() as session:
        return list(session.scalars(select(Incident.id).order_by(Incident.id)))


def test_a_worker_killed_between_steps_leaves_step_2_to_the_next_one(
    container: Container,
    client: TestClient,
    workers: Workers,
    make_user: Callable[..., User],
) -> None:
    key, ana, ben = _routed_to_a_two_step_policy(container, make_user)
    _trigger(client, key, "db/primary-down")
    [incident_id] = _incident_ids(container)

    workers.start("first")
    # The incident's opening (affected accounts, checklist), the trigger, then step 1.
    assert workers.drain("first") == [3]
    assert _pages(container) == {(incident_id, ana.id, 0): 1}
    workers.kill("first")  # SIGKILL: step 2's timer is only a row in the database now

    workers.advance(STEP_DELAY + timedelta(seconds=1))
    workers.start("second")
    assert workers.drain("second") == [1]
    assert workers.drain("second") == [0]  # nothing left that would page anyone again
    assert _pages(container) == {(incident_id, ana.id, 0): 1, (incident_id, ben.id, 1): 1}
    assert _outbox(container) == {(incident_id, ana.id): 1, (incident_id, ben.id): 1}


@PG_ONLY
def test_a_worker_killed_while_it_holds_step_2_loses_it_to_another_which_pages_once(
    container: Container,
    client: TestClient,
    workers: Workers,
    make_user: Callable[..., User],
) -> None:
    key, ana, ben = _routed_to_a_two_step_policy(container, make_user)
    _trigger(client, key, "db/primary-down")
    [incident_id] = _incident_ids(container)
    workers.start("first")
    assert workers.drain("first") == [3]  # opening, trigger, step 1
    workers.advance(STEP_DELAY + timedelta(seconds=1))

    # Hold the incident's row lock, so the first worker claims step 2 and then waits on it.
    blocker = container.engine.connect()
    blocker.begin()
    blocker.execute(text("SELECT id FROM incidents WHERE id = :id FOR UPDATE"), {"id": incident_id})
    workers.send("first", "drain")
    with container.session_factory() as session:
        for _ in range(600):  # until the claim is committed (a poll with a bound, no timing)
            held = session.scalar(
                select(Job.locked_by).where(
                    Job.kind == escalation.PAGE_STEP, Job.status == JobStatus.RUNNING
                )
            )
            session.rollback()
            if held == "first":
                break
            blocker.execute(text("SELECT pg_sleep(0.05)"))
        assert held == "first"
    workers.kill("first")
    blocker.rollback()
    blocker.close()

    workers.advance(timedelta(seconds=LEASE_SECONDS + 1))  # the dead worker's lease runs out
    workers.start("second")
    assert workers.drain("second") == [1]
    assert _pages(container) == {(incident_id, ana.id, 0): 1, (incident_id, ben.id, 1): 1}
    assert _outbox(container) == {(incident_id, ana.id): 1, (incident_id, ben.id): 1}


@PG_ONLY
def test_two_workers_run_1000_escalations_and_page_every_step_exactly_once(
    container: Container,
    client: TestClient,
    workers: Workers,
    make_user: Callable[..., User],
) -> None:
    key, ana, ben = _routed_to_a_two_step_policy(container, make_user)
    for n in range(1000):
        _trigger(client, key, f"db/{n}")
    incident_ids = _incident_ids(container)
    assert len(incident_ids) == 1000

    workers.start("w1")
    workers.start("w2")
    # 1,000 openings (affected accounts, checklists), 1,000 triggers and 1,000 first steps
    first = workers.drain("w1", "w2")
    assert sum(first) == 3000 and min(first) > 0, first
    workers.advance(STEP_DELAY + timedelta(seconds=1))
    second = workers.drain("w1", "w2")
    assert sum(second) == 1000 and min(second) > 0, second
    workers.advance(timedelta(hours=1))
    assert workers.drain("w1", "w2") == [0, 0]  # the policy is done: no step 3, no repeat

    expected = {(i, ana.id, 0): 1 for i in incident_ids} | {(i, ben.id, 1): 1 for i in incident_ids}
    assert _pages(container) == expected
    assert _outbox(container) == {
        (i, person): 1 for i in incident_ids for person in (ana.id, ben.id)
    }
    with container.session_factory() as session:
        ran_by = Counter(
            session.scalars(select(Job.locked_by).where(Job.kind == escalation.PAGE_STEP))
        )
        failed = session.scalar(
            select(func.count()).select_from(Job).where(Job.status != JobStatus.SUCCEEDED)
        )
    assert set(ran_by) == {"w1", "w2"} and failed == 0
