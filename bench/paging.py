"""Paging: how fast the first notification goes out after an alert comes in, and how late
escalation timers fire with many of them pending.

    .venv/bin/python bench/paging.py [--alerts 200] [--rate 20] [--timers 10000] [--window 120]

1. Alert to first notification. `escalate serve` (with its in-process worker and
   notification dispatcher, as `make run` starts it) gets --alerts PagerDuty Events v2
   triggers over HTTP at --rate per second, each a new incident routed to a policy whose
   step 1 is a schedule; the person on call there has a webhook contact method pointing at
   a receiver in this process. Latency: from just before the alert's POST to the moment
   the signed webhook arrives (ingest, the trigger job, the step job, the outbox row, the
   dispatcher's delivery).
2. Timer lateness. --timers incidents each wait in step 1 with the timer for step 2 due at
   a moment spread evenly over --window seconds (all pending at once: the queue holds them
   all from the start); an `escalate worker` process runs them. Lateness: the job's
   completion minus the moment it was due, for every timer.

Both run on SQLite and on PostgreSQL (--engine). Figures, never assertions."""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
from benchkit import DEFAULT_PG_URL, ESCALATE, free_port, pct, postgres_database, serve
from sqlalchemy import func, insert, select, update

from escalate import bootstrap, migrate
from escalate.accounts import service as account_service
from escalate.accounts.schemas import ServiceCreate
from escalate.alerts import rules as rule_service
from escalate.alerts import service as alert_service
from escalate.alerts.models import Integration, IntegrationKind, MatchOp
from escalate.alerts.schemas import IntegrationCreate, MatcherIn, RoutingRuleCreate
from escalate.auth import service as auth_service
from escalate.auth.models import Role
from escalate.auth.permissions import SYSTEM
from escalate.auth.schemas import UserCreate
from escalate.clock import SystemClock
from escalate.db import transaction
from escalate.incidents import service as incident_service
from escalate.incidents.models import Incident, IncidentSeverity, IncidentStatus
from escalate.jobs.models import Job, JobStatus
from escalate.notify import contacts
from escalate.notify.models import Channel
from escalate.notify.schemas import ContactMethodCreate, NotificationRuleCreate
from escalate.oncall import escalation
from escalate.oncall import policies as policy_service
from escalate.oncall import schedules as schedule_service
from escalate.oncall.calculator import Rotation
from escalate.oncall.policy_schemas import PolicyCreate, StepIn
from escalate.oncall.schemas import LayerIn, ScheduleIn
from escalate.settings import Settings

POLICY = "Bench paging"
INTEGRATION = "bench-paging"


# --- the receiver -----------------------------------------------------------------------


class Receiver:
    """Webhook deliveries by the alert summary they carry, with their arrival time."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.deliveries = 0
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)

    def record(self, body: bytes) -> None:
        now = time.monotonic()
        text = body.decode("utf-8", "replace")
        marker = text.find("bench-page-")
        with self.lock:
            self.deliveries += 1
            if marker >= 0:
                end = marker + len("bench-page-")
                while end < len(text) and text[end].isdigit():
                    end += 1
                self.arrived.setdefault(text[marker:end], now)
            self.changed.notify_all()

    def wait_for(self, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.arrived) < count and time.monotonic() < deadline:
                self.changed.wait(timeout=max(0.0, deadline - time.monotonic()))


@contextmanager
def receiving() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.record(body)
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


# --- setup, as an operator would through the services ------------------------------------


def seed(url: str, hook_url: str) -> str:
    """A person on call around the clock with a webhook, a schedule, a policy paging it,
    and an Events v2 integration routing everything there, one incident per alert.
    Returns the integration key."""
    container = bootstrap.build(Settings(database_url=url), clock=SystemClock())
    migrate.upgrade(container.engine)
    clock = container.clock
    try:
        with transaction(container.session_factory, clock=clock, actor=SYSTEM) as session:
            person = auth_service.create(
                session,
                clock,
                actor=SYSTEM,
                data=UserCreate(
                    email="oncall@bench.example",
                    name="Bench On-call",
                    role=Role.RESPONDER,
                    password="bench-password-1",
                ),
            )
            method, _secret = contacts.create_method(
                session,
                clock,
                actor=SYSTEM,
                user_id=person.id,
                data=ContactMethodCreate(channel=Channel.WEBHOOK, address=hook_url),
            )
            contacts.create_rule(
                session,
                actor=SYSTEM,
                user_id=person.id,
                data=NotificationRuleCreate(contact_method_id=method.id, delay_minutes=0),
            )
            schedule_service.create(
                session,
                clock,
                actor=SYSTEM,
                data=ScheduleIn(
                    name="Bench rotation",
                    time_zone="UTC",
                    layers=[
                        LayerIn(
                            name="Everyone",
                            rotation=Rotation.DAILY,
                            start_at=datetime(2025, 1, 1, tzinfo=UTC),
                            participants=[person.email],
                        )
                    ],
                ),
            )
            policy_service.create(
                session,
                clock,
                actor=SYSTEM,
                data=PolicyCreate(
                    name=POLICY,
                    steps=[
                        StepIn(delay_minutes=5, schedules=["Bench rotation"]),
                        StepIn(delay_minutes=5, users=[person.email]),
                    ],
                ),
            )
            service = account_service.create_service(
                session, actor=SYSTEM, data=ServiceCreate(name="Bench API")
            )
            integration, key = alert_service.create_integration(
                session,
                clock,
                actor=SYSTEM,
                data=IntegrationCreate(
                    name=INTEGRATION, kind=IntegrationKind.EVENTS_V2, default_service_id=service.id
                ),
            )
            rule_service.create_rule(
                session,
                actor=SYSTEM,
                integration_id=integration.id,
                data=RoutingRuleCreate(
                    name="everything to the bench rotation",
                    matchers=[MatcherIn(name="event.severity", op=MatchOp.REGEX, value=".+")],
                    service_id=service.id,
                    escalation_policy=POLICY,
                ),
            )
            # One incident per alert, so that every alert starts an escalation of its own.
            session.execute(
                update(Integration)
                .where(Integration.id == integration.id)
                .values(grouping_labels=["event.dedup_key"])
            )
            return key
    finally:
        container.dispose()


# --- 1. alert to first notification ------------------------------------------------------


def first_notification(url: str, args: argparse.Namespace) -> tuple[list[float], int]:
    with receiving() as (receiver, hook_url):
        key = seed(url, hook_url)
        port = free_port()
        proc = serve(
            url,
            port,
            secrets.token_urlsafe(32),
            # The receiver is on loopback, which webhooks may reach only when allowed.
            env={
                "ESCALATE_RUN_WORKER_IN_PROCESS": "true",
                "ESCALATE_WEBHOOK_ALLOW_PRIVATE": "true",
            },
        )
        sent: dict[str, float] = {}
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
                period = 1.0 / args.rate
                started = time.monotonic()
                for n in range(args.alerts):
                    time.sleep(max(0.0, started + n * period - time.monotonic()))
                    summary = f"bench-page-{n}"
                    sent[summary] = time.monotonic()
                    answer = client.post(
                        "/v2/enqueue",
                        json={
                            "routing_key": key,
                            "event_action": "trigger",
                            "dedup_key": summary,
                            "payload": {
                                "summary": summary,
                                "source": "bench",
                                "severity": "critical",
                            },
                        },
                    )
                    answer.raise_for_status()
            receiver.wait_for(args.alerts, timeout=60)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        latencies = [
            receiver.arrived[name] - at for name, at in sent.items() if name in receiver.arrived
        ]
        return latencies, args.alerts - len(latencies)


# --- 2. timer lateness -------------------------------------------------------------------


def pending_timers(url: str, timers: int, window: float) -> datetime:
    """`timers` incidents in step 1 of the bench policy, the timer for step 2 of each due
    at a moment spread over `window` seconds from a few seconds ahead. Written in bulk (a
    trigger each would take minutes); the rows are what escalation.trigger leaves behind.
    Returns the first due moment."""
    container = bootstrap.build(Settings(database_url=url), clock=SystemClock())
    clock = container.clock
    try:
        with transaction(container.session_factory, clock=clock, actor=SYSTEM) as session:
            policy = policy_service.get_by_name(session, name=POLICY)
            assert policy is not None
            plan = escalation.plan_of(policy)
            now = clock.now()
            first_due = now + timedelta(seconds=5)
            spacing = window / max(timers, 1)
            due = [first_due + timedelta(seconds=n * spacing) for n in range(timers)]
            first_number = incident_service.next_number(session)
            session.execute(
                update(incident_service.Counter)
                .where(incident_service.Counter.name == incident_service.INCIDENT_COUNTER)
                .values(value=first_number + timers)
            )
            rows = [
                {
                    "number": first_number + n,
                    "title": f"bench timer {n}",
                    "severity": IncidentSeverity.SEV2,
                    "status": IncidentStatus.TRIGGERED,
                    "grouping_key": f"bench-timer-{n}",
                    "escalation_policy": POLICY,
                    "opened_at": now,
                    "last_alert_at": now,
                    "alert_count": 0,
                    "reopen_count": 0,
                    "escalation_plan": plan,
                    "escalation_generation": 1,
                    "escalation_round": 0,
                    "escalation_step": 0,
                    "next_escalation_at": due[n],
                }
                for n in range(timers)
            ]
            ids = list(session.scalars(insert(Incident).returning(Incident.id), rows))
            jobs = []
            for n, incident_id in enumerate(ids):
                jobs.append(
                    {
                        "kind": escalation.PAGE_STEP,
                        "payload": {
                            "incident_id": incident_id,
                            "generation": 1,
                            "round": 0,
                            "step": 1,
                        },
                        "status": JobStatus.QUEUED,
                        "run_at": due[n],
                        "idempotency_key": f"esc:{incident_id}:1:0:1",
                        "attempts": 0,
                        "max_attempts": 5,
                        "created_at": now,
                    }
                )
            session.execute(insert(Job), jobs)
            return first_due
    finally:
        container.dispose()


def lateness(url: str, args: argparse.Namespace) -> tuple[list[float], int]:
    with receiving() as (_receiver, hook_url):
        seed(url, hook_url)
        first_due = pending_timers(url, args.timers, args.window)
        env = {
            **os.environ,
            "ESCALATE_DATABASE_URL": url,
            "ESCALATE_LOG_LEVEL": "warning",
            "ESCALATE_WEBHOOK_ALLOW_PRIVATE": "true",  # the receiver is on loopback
        }
        worker = subprocess.Popen(
            [str(ESCALATE), "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        container = bootstrap.build(Settings(database_url=url), clock=SystemClock())
        try:
            deadline = first_due + timedelta(seconds=args.window + 60)
            while datetime.now(UTC) < deadline:
                time.sleep(1)
                with container.session_factory() as session:
                    waiting = session.scalar(
                        select(func.count())
                        .select_from(Job)
                        .where(Job.kind == escalation.PAGE_STEP, Job.status != JobStatus.SUCCEEDED)
                    )
                if not waiting:
                    break
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=60)
        with container.session_factory() as session:
            rows = session.execute(
                select(Job.run_at, Job.finished_at).where(
                    Job.kind == escalation.PAGE_STEP, Job.status == JobStatus.SUCCEEDED
                )
            ).all()
        container.dispose()
        late = [(finished - due).total_seconds() for due, finished in rows]
        return late, args.timers - len(late)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20, help="alerts per second")
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--window", type=float, default=120, help="seconds the timers span")
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg", default=DEFAULT_PG_URL)
    args = parser.parse_args()
    engines = []
    if args.engine in ("sqlite", "both"):
        engines.append("sqlite")
    if args.engine in ("postgresql", "both"):
        engines.append("postgresql")
    for engine in engines:
        for part in (first_notification_part, timers_part):
            if engine == "sqlite":
                with tempfile.TemporaryDirectory() as tmp:
                    part("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
            else:
                with postgres_database(args.pg) as url:
                    if url is not None:
                        part("PostgreSQL", url, args)


def first_notification_part(label: str, url: str, args: argparse.Namespace) -> None:
    latencies, missing = first_notification(url, args)
    print(
        f"{label:<11} alert -> first notification: {len(latencies)} of {args.alerts} paged at "
        f"{args.rate:g}/s, p50 {pct(latencies, 50):.1f} ms, p99 {pct(latencies, 99):.1f} ms, "
        f"max {max(latencies, default=float('nan')) * 1000:.1f} ms, missing {missing}",
        flush=True,
    )


def timers_part(label: str, url: str, args: argparse.Namespace) -> None:
    late, missing = lateness(url, args)
    print(
        f"{label:<11} timer lateness: {len(late)} of {args.timers} timers over "
        f"{args.window:g} s, p50 {pct(late, 50):.1f} ms, p99 {pct(late, 99):.1f} ms, "
        f"max {max(late, default=float('nan')) * 1000:.1f} ms, missing {missing}",
        flush=True,
    )


if __name__ == "__main__":
    main()
