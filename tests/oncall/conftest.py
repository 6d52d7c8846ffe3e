"""Builders for schedule tests: people to put on call, schedules posted through the API,
and row counts to prove that refused input wrote nothing."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from schedule_support import MakeSchedule, RowCounts, TokenFor
from sqlalchemy import func, select, update

from escalate.auth import service as auth_service
from escalate.auth.models import Role, User
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.oncall.models import (
    CalendarFeed,
    Schedule,
    ScheduleLayer,
    ScheduleLayerMember,
    ScheduleOverride,
)

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
