"""The composition root: wires settings, engine, sessions, clock and job handlers once, for
the web app, the worker and the CLI alike. Nothing here runs at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from escalate.alerts import alarm as alert_alarm
from escalate.alerts import snapshot as routing_snapshot
from escalate.auth import audit
from escalate.auth import jobs as auth_jobs
from escalate.clock import Clock, SystemClock
from escalate.db import make_engine, make_session_factory, transaction
from escalate.incidents import observers as incident_observers
from escalate.incidents import opening as incident_opening
from escalate.jobs import housekeeping
from escalate.jobs import service as job_service
from escalate.jobs.registry import JobRegistry
from escalate.jobs.worker import Worker
from escalate.notify import outbox
from escalate.notify.dispatcher import Dispatcher
from escalate.oncall import escalation
from escalate.settings import Settings
from escalate.sla import clocks as sla_clocks
from escalate.sla import reminders as sla_reminders


@dataclass
class Container:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: Clock
    jobs: JobRegistry = field(default_factory=JobRegistry)

    def dispose(self) -> None:
        self.engine.dispose()


def build(settings: Settings | None = None, *, clock: Clock | None = None) -> Container:
    settings = settings or Settings()
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
    factory = make_session_factory(
        engine,
        info=sla_clocks.session_info(reminder_lead_minutes=settings.sla_reminder_lead_minutes),
    )
    audit.install(factory)
    routing_snapshot.install(factory)
    container = Container(
        settings=settings,
        engine=engine,
        session_factory=factory,
        clock=clock or SystemClock(),
    )
    housekeeping.register(container.jobs)
    auth_jobs.register(container.jobs)
    alert_alarm.register(container.jobs, settings)
    escalation.register(container.jobs, settings)
    sla_reminders.register(container.jobs, settings)
    incident_observers.register(sla_clocks.on_incident_changed)
    incident_opening.register(container.jobs)
    return container


def build_worker(container: Container, *, worker_id: str | None = None) -> Worker:
    """A worker over the container's database, woken at once by commits in this process
    that enqueue jobs (and by NOTIFY from other processes on PostgreSQL)."""
    settings = container.settings
    worker = Worker(
        container.session_factory,
        container.clock,
        container.jobs,
        worker_id=worker_id,
        lease=timedelta(seconds=settings.job_lease_seconds),
        poll_interval=settings.worker_poll_seconds,
    )
    job_service.install_wake_hook(container.session_factory, worker.wake)
    return worker


def build_dispatcher(container: Container, *, dispatcher_id: str | None = None) -> Dispatcher:
    """A notification dispatcher over the container's database, woken at once by commits in
    this process that write notifications (others are found by its short poll)."""
    dispatcher = Dispatcher(
        container.session_factory,
        container.clock,
        container.settings,
        dispatcher_id=dispatcher_id,
    )
    outbox.install_wake_hook(container.session_factory, dispatcher.wake)
    return dispatcher


class Background:
    """Several background loops started and stopped together (the web app's `background`)."""

    def __init__(self, *loops: Worker | Dispatcher) -> None:
        self.loops = loops

    def start(self) -> None:
        for loop in self.loops:
            loop.start()

    def stop(self) -> None:
        for loop in self.loops:
            loop.stop()

    @property
    def running(self) -> bool:
        return all(loop.running for loop in self.loops)


def build_background(container: Container) -> Background:
    """The in-process job worker and notification dispatcher of `escalate serve`."""
    return Background(build_worker(container), build_dispatcher(container))


def seed_recurring_jobs(container: Container) -> None:
    """Queue the next run of every recurring job (idempotent; every worker start calls it)."""
    with transaction(container.session_factory, clock=container.clock) as session:
        for seed in container.jobs.recurring:
            seed(session, container.clock)
