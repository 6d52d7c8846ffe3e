"""Builders for the status page tests: services, groups, and incidents with public updates
spread back in time (the clock is moved back per incident, then restored)."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from escalate.accounts import service as account_service
from escalate.accounts.schemas import ServiceCreate
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.db import transaction
from escalate.incidents import lifecycle
from escalate.incidents import updates as update_service
from escalate.incidents.models import Audience, IncidentSeverity, UpdateKind
from escalate.incidents.schemas import IncidentDeclare
from escalate.incidents.update_schemas import UpdateCreate
from escalate.statuspage import groups as group_service
from escalate.statuspage.schemas import ServiceGroupCreate

_counter = itertools.count()
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "correct horse battery"  # the make_user builder's


def make_services(container: Container, *names: str) -> list[int]:
    n = next(_counter)
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        return [
            account_service.create_service(
                s, actor=SYSTEM, data=ServiceCreate(name=f"{name} {n}")
            ).id
            for name in names
        ]


def make_group(container: Container, *, name: str, slug: str, services: list[int]) -> int:
    data = ServiceGroupCreate(name=name, slug=slug, services=[str(i) for i in services])
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        return group_service.create(s, actor=SYSTEM, data=data).id


def add_incidents(
    container: Container, clock: FrozenClock, *, service_id: int, count: int, days: int = 80
) -> None:
    """`count` incidents on the service over the last `days` days, each with a public
    update; every other one resolved by a public update two hours later."""
    start = clock.now()
    try:
        for i in range(count):
            clock.set(start - timedelta(days=days) + timedelta(days=days) * i / count)
            with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
                incident = lifecycle.declare(
                    s,
                    container.clock,
                    actor=SYSTEM,
                    data=IncidentDeclare(
                        title=f"internal {i}",
                        severity=IncidentSeverity.SEV2 if i % 3 else IncidentSeverity.SEV3,
                        service=str(service_id),
                    ),
                )
                _public(s, container, incident.id, UpdateKind.INVESTIGATING, f"Looking {i}")
                if i % 2 == 0:
                    clock.advance(timedelta(hours=2))
                    _public(s, container, incident.id, UpdateKind.RESOLVED, f"Fixed {i}")
    finally:
        clock.set(start)


def _public(s, container: Container, incident_id: int, kind: UpdateKind, message: str) -> None:
    update_service.post_update(
        s,
        container.clock,
        container.settings,
        actor=SYSTEM,
        incident_id=incident_id,
        data=UpdateCreate(kind=kind, audience=Audience.PUBLIC, message=message),
    )


def count(container: Container, model: type) -> int:
    with container.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no csrf token in the page"
    return unescape(found.group(1))


def log_in(client: TestClient, email: str) -> None:
    form = client.get("/login")
    data = {"email": email, "password": PASSWORD, "csrf_token": csrf_of(form.text)}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
