"""The composition root: wires settings, engine, sessions, clock and job handlers once, for
the web app, the worker and the CLI alike. Nothing here runs at import time."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from escalate.auth import audit
from escalate.auth import jobs as auth_jobs
from escalate.clock import Clock, SystemClock
from escalate.db import make_engine, make_session_factory
from escalate.jobs.registry import JobRegistry
from escalate.settings import Settings


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
    factory = make_session_factory(engine)
    audit.install(factory)
    container = Container(
        settings=settings,
        engine=engine,
        session_factory=factory,
        clock=clock or SystemClock(),
    )
    auth_jobs.register(container.jobs)
    return container
