"""Builders for on-call tests: people to put on call, schedules posted through the API (or
written directly, for the escalation tests), policies, routes, a worker, and row counts to
prove that refused input wrote nothing."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from schedule_support import MakeSchedule, RowCounts, TokenFor
from sqlalchemy import func, select, update

from escalate.alerts import rules as rule_service
from escalate.alerts import service as alert_service
from escalate.alerts.models import IntegrationKind
from escalate.alerts.schemas import IntegrationCreate, RoutingRuleCreate
from escalate.auth import service as auth_service
from escalate.auth.models import Role, User
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container, build_worker
from escalate.db import transaction
from escalate.jobs.worker import Worker
from escalate.oncall import policies as policy_service
from escalate.oncall.models import (
    CalendarFeed,
    Schedule,
    ScheduleLayer,
    ScheduleLayerMember,
    ScheduleOverride,
)
from escalate.oncall.policy_schemas import PolicyCreate

_counter = itertools.count()


@pytest.fixture
def people(make_user: Callable[..., User]) -> list[User]:
    """Three responders to rotate: Ana, Ben and Chloe."""
    return [
        make_user(Role.RESPONDER, name=name, email=f"{name.lower()}{next(_counter)}@example.com")
        for name in ("Ana", "Ben", "Chloe")
    ]


@pytest.fixture
def make_schedule(client: TestClient, admin_headers: dict[str, str]) -> MakeSchedule:
    """Builder: a schedule created through the API; returns its JSON."""

    def build(
        layers: list[dict[str, Any]], *, name: str | None = None, time_zone: str = "Europe/Berlin"
    ) -> dict[str, Any]:
        body = {
            "name": name or f"Schedule {next(_counter)}",
            "time_zone": time_zone,
            "layers": layers,
        }
        response = client.post("/api/v1/schedules", json=body, headers=admin_headers)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return build


@pytest.fixture
def row_counts(container: Container) -> RowCounts:
    """How many rows each schedule table holds right now."""

    def count() -> dict[str, int]:
        with container.session_factory() as session:
            return {
                model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (
                    Schedule,
                    ScheduleLayer,
                    ScheduleLayerMember,
                    ScheduleOverride,
                    CalendarFeed,
                )
            }

    return count


@pytest.fixture
def deactivate(container: Container) -> Callable[[User], None]:
    def run(user: User) -> None:
        with container.session_factory() as session:
            session.execute(update(User).where(User.id == user.id).values(is_active=False))
            session.commit()

    return run


@pytest.fixture
def token_for(container: Container) -> TokenFor:
    """Authorization headers carrying a fresh API token of this user."""

    def build(user: User) -> dict[str, str]:
        with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
            _, secret = auth_service.create_token(
                s, container.clock, actor=SYSTEM, user=s.get(User, user.id), name="test"
            )
        return {"Authorization": f"Bearer {secret}"}

    return build


@pytest.fixture
def add_schedule(container: Container) -> Callable[..., int]:
    """Builder (written directly, no API): a schedule whose one weekly layer rotates
    through `user_ids` (the first is on call from a day before the test clock's start); no
    users: a schedule with a gap."""

    def build(user_ids: Sequence[int], *, name: str | None = None) -> int:
        now = container.clock.now()
        with transaction(container.session_factory, clock=container.clock) as session:
            schedule = Schedule(
                name=name or f"Schedule {next(_counter)}",
                time_zone="UTC",
                created_at=now,
                updated_at=now,
            )
            if user_ids:
                layer = ScheduleLayer(
                    position=0,
                    name="Primary",
                    rotation="weekly",
                    start_at=now - timedelta(days=1),
                    restrictions=[],
                )
                layer.members = [
                    ScheduleLayerMember(position=i, user_id=uid) for i, uid in enumerate(user_ids)
                ]
                schedule.layers = [layer]
            session.add(schedule)
            session.flush()
            return schedule.id

    return build


@pytest.fixture
def make_policy(container: Container) -> Callable[..., int]:
    """Builder: a committed policy from PolicyCreate's fields; returns its id."""

    def build(name: str | None = None, **fields: Any) -> int:
        data = PolicyCreate(name=name or f"Policy {next(_counter)}", **fields)
        with transaction(container.session_factory, clock=container.clock) as session:
            return policy_service.create(session, container.clock, actor=SYSTEM, data=data).id

    return build


@pytest.fixture
def make_route(container: Container) -> Callable[..., int]:
    """Builder: a routing rule sending alerts with this source to a policy."""

    def build(integration_id: int, policy: str, *, source: str = "db-1") -> int:
        data = RoutingRuleCreate(
            name=f"Route {next(_counter)}",
            matchers=[{"name": "event.source", "op": "=", "value": source}],
            escalation_policy=policy,
        )
        with transaction(container.session_factory, clock=container.clock) as session:
            return rule_service.create_rule(
                session, actor=SYSTEM, integration_id=integration_id, data=data
            ).id

    return build


@pytest.fixture
def worker(container: Container) -> Worker:
    """A worker on the test database and clock; call .drain() to run what is due."""
    return build_worker(container, worker_id="test-worker")


@pytest.fixture
def make_events_integration(container: Container) -> Callable[..., tuple[int, str]]:
    """Builder: a committed PagerDuty Events v2 integration; returns (id, routing key)."""

    def build() -> tuple[int, str]:
        data = IntegrationCreate(name=f"Events {next(_counter)}", kind=IntegrationKind.EVENTS_V2)
        with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
            integration, key = alert_service.create_integration(
                s, container.clock, actor=SYSTEM, data=data
            )
            return integration.id, key

    return build
