"""Builders for incident tests: services and who uses them, incidents declared through the
API, and row counts to prove that refused input wrote nothing."""

from __future__ import annotations

import itertools
import re
from html import unescape
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from escalate.accounts import service as account_service
from escalate.accounts.models import Account
from escalate.accounts.schemas import ServiceCreate, ServiceUsageIn
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.incidents.models import (
    AffectedAccount,
    ChecklistItem,
    IncidentEvent,
    IncidentRole,
    IncidentService,
)

_counter = itertools.count()
CHANGE_TABLES = (AffectedAccount, IncidentService, IncidentEvent, IncidentRole, ChecklistItem)


def make_service(container: Container, name: str | None = None) -> int:
    """A committed service; returns its id."""
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        data = ServiceCreate(name=name or f"Service {next(_counter)}")
        return account_service.create_service(s, actor=SYSTEM, data=data).id


def use_service(container: Container, account_id: int, service_id: int) -> None:
    """Record that the account uses the service (in production)."""
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        account = s.get(Account, account_id)
        assert account is not None
        account_service.add_service_usage(
            s, actor=SYSTEM, account=account, data=ServiceUsageIn(service_id=service_id)
        )


def declare(client: TestClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    """An incident declared through the API; returns its JSON."""
    payload = {"title": "Checkout fails", "severity": "SEV1", **body}
    response = client.post("/api/v1/incidents", json=payload, headers=headers)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def row_counts(container: Container) -> dict[str, int]:
    """How many rows each table an incident change writes holds now."""
    with container.session_factory() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in CHANGE_TABLES
        }


def me(client: TestClient, headers: dict[str, str]) -> int:
    """The id of the user whose token these headers carry."""
    user_id: int = client.get("/api/v1/me", headers=headers).json()["id"]
    return user_id


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(text: str) -> str:
    match = _CSRF.search(text)
    assert match, "no CSRF field on the page"
    return unescape(match.group(1))


def log_in(client: TestClient, email: str) -> None:
    """Sign in to the pages (password of the make_user builder)."""
    form = client.get("/login")
    data = {"email": email, "password": "correct horse battery", "csrf_token": csrf_of(form.text)}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
