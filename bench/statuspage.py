"""Status page: how long `/status` takes to render with many public incidents in its
90-day window.

    .venv/bin/python bench/statuspage.py [--incidents 2000] [--requests 200] [--engine sqlite]

Seeds --incidents incidents spread evenly over the last 90 days on three services of two
public groups (each with a public update; every other one resolved by a second public
update), through the domain services as the product writes them, then times GET /status
and GET /status/<slug> through the real app (create_app, its middleware and pages, in
process with the ASGI test client), and prints p50/p99 and the SQL statements per render.
SQLite by default, or a throwaway PostgreSQL database (--engine postgresql). Figures,
never assertions."""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchkit import DEFAULT_PG_URL, pct, postgres_database
from fastapi.testclient import TestClient
from sqlalchemy import event

from escalate import bootstrap, migrate
from escalate.accounts import service as account_service
from escalate.accounts.schemas import ServiceCreate
from escalate.auth.permissions import SYSTEM
from escalate.clock import FrozenClock
from escalate.db import transaction
from escalate.incidents import lifecycle
from escalate.incidents import updates as update_service
from escalate.incidents.models import Audience, IncidentSeverity, UpdateKind
from escalate.incidents.schemas import IncidentDeclare
from escalate.incidents.update_schemas import UpdateCreate
from escalate.settings import Settings
from escalate.statuspage import groups as group_service
from escalate.statuspage.schemas import ServiceGroupCreate
from escalate.web.app import create_app

NOW = datetime(2025, 10, 25, 12, 0, tzinfo=UTC)
BATCH = 100


def seed(container: bootstrap.Container, clock: FrozenClock, incidents: int) -> None:
    with transaction(container.session_factory, clock=clock, actor=SYSTEM) as s:
        ids = [
            account_service.create_service(s, actor=SYSTEM, data=ServiceCreate(name=name)).id
            for name in ("Checkout API", "Search", "Reports")
        ]
        for name, slug, members in (("Shop", "shop", ids[:2]), ("Back office", "office", ids[2:])):
            data = ServiceGroupCreate(name=name, slug=slug, services=[str(i) for i in members])
            group_service.create(s, actor=SYSTEM, data=data)
    start = NOW - timedelta(days=90)
    for first in range(0, incidents, BATCH):
        with transaction(container.session_factory, clock=clock, actor=SYSTEM) as s:
            for i in range(first, min(first + BATCH, incidents)):
                clock.set(start + timedelta(days=90) * i / incidents)
                incident = lifecycle.declare(
                    s,
                    clock,
                    actor=SYSTEM,
                    data=IncidentDeclare(
                        title=f"incident {i}",
                        severity=IncidentSeverity.SEV2 if i % 3 else IncidentSeverity.SEV3,
                        service=str(ids[i % len(ids)]),
                    ),
                )
                kinds = [UpdateKind.INVESTIGATING] + ([UpdateKind.RESOLVED] if i % 2 else [])
                for kind in kinds:
                    update_service.post_update(
                        s,
                        clock,
                        container.settings,
                        actor=SYSTEM,
                        incident_id=incident.id,
                        data=UpdateCreate(
                            kind=kind, audience=Audience.PUBLIC, message=f"{kind} {i}"
                        ),
                    )
                    clock.advance(timedelta(minutes=30))
    clock.set(NOW)


def measure(client: TestClient, container: bootstrap.Container, path: str, requests: int) -> None:
    statements: list[int] = [0]

    def count(*_args: Any) -> None:
        statements[0] += 1

    client.get(path)  # warm
    event.listen(container.engine, "before_cursor_execute", count)
    timings = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(path)
        timings.append(time.perf_counter() - began)
        assert response.status_code == 200, response.text[:200]
    event.remove(container.engine, "before_cursor_execute", count)
    print(
        f"  GET {path:<13} p50 {pct(timings, 50):7.1f} ms   p99 {pct(timings, 99):7.1f} ms   "
        f"{statements[0] / requests:.0f} SQL statements per render"
    )


def run(database_url: str, incidents: int, requests: int) -> None:
    clock = FrozenClock(NOW)
    settings = Settings(database_url=database_url, secret_key="bench", run_worker_in_process=False)
    container = bootstrap.build(settings, clock=clock)
    try:
        migrate.upgrade(container.engine)
        began = time.perf_counter()
        seed(container, clock, incidents)
        print(f"  seeded {incidents} public incidents in {time.perf_counter() - began:.1f} s")
        with TestClient(create_app(container)) as client:
            for path in ("/status", "/status/shop"):
                measure(client, container, path, requests)
    finally:
        container.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--engine", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=DEFAULT_PG_URL)
    args = parser.parse_args()
    print(f"status page, {args.engine}, {args.incidents} incidents in 90 days")
    if args.engine == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.incidents, args.requests)
        return
    with postgres_database(args.pg_url) as url:
        if url is not None:
            run(url, args.incidents, args.requests)


if __name__ == "__main__":
    main()
