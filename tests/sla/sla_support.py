"""Builders for SLA clock tests: the demo's account, contract and service, and the incident
facts other engineers' services write (affected accounts, roles, status updates), written
here directly so the clocks can be tested on their own."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import select

from escalate.accounts import service as account_service
from escalate.accounts.schemas import AccountCreate, ContractCreate, ServiceCreate, ServiceUsageIn
from escalate.auth.models import User
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.demo import data as demo_data
from escalate.incidents import lifecycle, observers
from escalate.incidents.models import (
    AffectedAccount,
    Audience,
    Incident,
    IncidentEvent,
    IncidentRole,
    IncidentStatus,
    StatusUpdate,
    UpdateKind,
)
from escalate.incidents.schemas import IncidentDeclare
from escalate.sla import service as sla_service


def at(hour: int, minute: int = 0, day: int = 22) -> datetime:
    """A moment of the demo outage's day, 22 Oct 2025, in UTC."""
    return datetime(2025, 10, day, hour, minute, tzinfo=UTC)


@dataclass(frozen=True)
class Seeded:
    policy_id: int
    account_id: int
    service_id: int


def seed_techcorp(
    container: Container, *, name: str = "TechCorp Solutions", policy: str = "Enterprise"
) -> Seeded:
    """TechCorp with the Enterprise policy's contract for 2025, using the Production API."""
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        existing = sla_service.get_by_name(s, name=policy)
        policy_id = (
            existing.id
            if existing is not None
            else sla_service.create(
                s,
                actor=SYSTEM,
                data=demo_data.ENTERPRISE_POLICY.model_copy(update={"name": policy}),
            ).id
        )
        account = account_service.create(
            s,
            container.clock,
            actor=SYSTEM,
            data=AccountCreate(name=name, tier="enterprise", timezone="America/New_York"),
        )
        account_service.add_contract(
            s,
            actor=SYSTEM,
            account=account,
            data=ContractCreate(
                sla_policy_id=policy_id,
                term_start=date(2025, 1, 1),
                term_end=date(2025, 12, 31),
                monthly_fee=Decimal("5000"),
            ),
        )
        service = account_service.get_service_by_name(s, name="Production API")
        if service is None:
            service = account_service.create_service(
                s, actor=SYSTEM, data=ServiceCreate(name="Production API")
            )
        account_service.add_service_usage(
            s, actor=SYSTEM, account=account, data=ServiceUsageIn(service_id=service.id)
        )
        return Seeded(policy_id=policy_id, account_id=account.id, service_id=service.id)


def add_account_without_contract(container: Container, name: str) -> int:
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        return account_service.create(
            s,
            container.clock,
            actor=SYSTEM,
            data=AccountCreate(name=name, tier="business", timezone="UTC"),
        ).id


def changed(container: Container, incident_id: int) -> None:
    """What the other services do after a change: tell the observers (the clocks)."""
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        observers.incident_changed(s, container.clock, incident_id)


def set_started(container: Container, incident_id: int, started_at: datetime) -> None:
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None
        incident.started_at = started_at
        observers.incident_changed(s, container.clock, incident_id)


def affect(
    container: Container, incident_id: int, account_id: int, *, excluded: bool = False
) -> None:
    """Mark an account affected (or excluded), as the lifecycle service will."""
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        row = s.scalar(
            select(AffectedAccount).where(
                AffectedAccount.incident_id == incident_id,
                AffectedAccount.account_id == account_id,
            )
        )
        if row is None:
            incident = s.get(Incident, incident_id)
            assert incident is not None
            # As incidents.affected derives it when the incident opens: the impact begins
            # with the incident, and the account is affected from then on.
            began = incident.started_at or incident.opened_at
            row = AffectedAccount(
                incident_id=incident_id,
                account_id=account_id,
                created_at=min(began, container.clock.now()),
                impact_start=began,
            )
            s.add(row)
        row.excluded = excluded
        s.flush()
        observers.incident_changed(s, container.clock, incident_id)


def assign_role(container: Container, incident_id: int, user_id: int, role: str) -> None:
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        s.add(
            IncidentRole(
                incident_id=incident_id,
                role=role,
                user_id=user_id,
                assigned_at=container.clock.now(),
            )
        )


def post_update(
    container: Container,
    incident_id: int,
    kind: UpdateKind,
    *,
    audience: Audience = Audience.CUSTOMERS,
    status: IncidentStatus = IncidentStatus.INVESTIGATING,
    posted_at: datetime | None = None,
) -> None:
    """A status update posted now (or at `posted_at`, as a loader of past data would), as
    the communications service will write it."""
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        s.add(
            StatusUpdate(
                incident_id=incident_id,
                kind=kind,
                status=status,
                audience=audience,
                message=f"{kind} update",
                posted_at=posted_at or container.clock.now(),
            )
        )
        s.flush()
        observers.incident_changed(s, container.clock, incident_id)


def events(container: Container, incident_id: int, kind: str) -> list[IncidentEvent]:
    with container.session_factory() as s:
        return list(
            s.scalars(
                select(IncidentEvent)
                .where(IncidentEvent.incident_id == incident_id, IncidentEvent.kind == kind)
                .order_by(IncidentEvent.at, IncidentEvent.id)
            )
        )


PASSWORD = "correct horse battery"  # the conftest's make_user password
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def log_in(client: TestClient, user: User) -> None:
    """Sign in to the staff pages with the test client's cookies."""
    form = client.get("/login")
    match = CSRF_RE.search(form.text)
    assert match, "no CSRF field on the login form"
    data = {"email": user.email, "password": PASSWORD, "csrf_token": unescape(match.group(1))}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303


def declare(container: Container, *, severity: str = "SEV1", title: str = "Outage") -> int:
    """An incident declared now by the system, without paging anyone."""
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        incident = lifecycle.declare(
            s,
            container.clock,
            actor=SYSTEM,
            data=IncidentDeclare(title=title, severity=severity),
        )
        incident.started_at = container.clock.now()
        return incident.id
