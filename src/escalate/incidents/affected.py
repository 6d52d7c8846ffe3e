"""Affected services and accounts. The accounts are derived from the incident's services
(every account with a usage of one of them) and people edit the result: add an account by
hand, exclude one (it stays excluded through every re-derivation), set each one's impact
window, level, affected users and business impact. Functions flush, never commit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalate.accounts import service as account_service
from escalate.accounts.models import Account, Service, ServiceUsage
from escalate.auth.permissions import Actor
from escalate.clock import Clock
from escalate.errors import NotFound, ValidationFailed
from escalate.incidents import events, observers
from escalate.incidents.guards import locked, require_responder
from escalate.incidents.models import AffectedAccount, ImpactLevel, Incident, IncidentService

_UNSET = object()


def service_ids(session: Session, *, incident_id: int) -> list[int]:
    return list(
        session.scalars(
            select(IncidentService.service_id)
            .where(IncidentService.incident_id == incident_id)
            .order_by(IncidentService.id)
        )
    )


def services(session: Session, *, incident_id: int) -> list[Service]:
    """The services the incident affects, by name."""
    return list(
        session.scalars(
            select(Service)
            .join(IncidentService, IncidentService.service_id == Service.id)
            .where(IncidentService.incident_id == incident_id)
            .order_by(Service.name)
        )
    )


def derive(session: Session, clock: Clock, incident: Incident) -> None:
    """Bring the derived accounts in line with the incident's services: accounts that use
    one of them appear (impact from the incident's start, an outage), derived ones whose
    services are gone disappear; excluded and hand-added accounts stay as they are."""
    if incident.service_id is not None and not service_ids(session, incident_id=incident.id):
        session.add(IncidentService(incident_id=incident.id, service_id=incident.service_id))
        session.flush()
    ids = service_ids(session, incident_id=incident.id)
    using = (
        set(
            session.scalars(
                select(ServiceUsage.account_id).where(ServiceUsage.service_id.in_(ids)).distinct()
            )
        )
        if ids
        else set()
    )
    existing = {
        row.account_id: row
        for row in session.scalars(
            select(AffectedAccount).where(AffectedAccount.incident_id == incident.id)
        )
    }
    for account_id, row in existing.items():
        if row.derived and not row.excluded and account_id not in using:
            session.delete(row)
    now = clock.now()
    for account_id in sorted(using - set(existing)):
        session.add(
            AffectedAccount(
                incident_id=incident.id,
                account_id=account_id,
                derived=True,
                excluded=False,
                impact_start=incident.started_at or incident.opened_at,
                impact_level=ImpactLevel.OUTAGE,
                created_at=now,
            )
        )
    session.flush()


@dataclass(frozen=True)
class Affected:
    """An affected account with its name, for reads."""

    row: AffectedAccount
    name: str


def list_affected(
    session: Session, *, incident_id: int, include_excluded: bool = False
) -> list[Affected]:
    """The incident's affected accounts by name (excluded ones only when asked)."""
    stmt = (
        select(AffectedAccount, Account.name)
        .join(Account, Account.id == AffectedAccount.account_id)
        .where(AffectedAccount.incident_id == incident_id)
        .order_by(Account.name)
    )
    if not include_excluded:
        stmt = stmt.where(AffectedAccount.excluded.is_(False))
    return [Affected(row=row, name=name) for row, name in session.execute(stmt).all()]


def _changed(
    session: Session, clock: Clock, actor: Actor, incident: Incident, kind: str, summary: str
) -> None:
    events.record_by(
        session, actor, incident_id=incident.id, at=clock.now(), kind=kind, summary=summary
    )
    session.flush()
    observers.incident_changed(session, clock, incident.id)


def add_service(
    session: Session, clock: Clock, *, actor: Actor, incident_id: int, service: str
) -> Service:
    """The incident affects this service (name or id) too; its accounts are derived."""
    require_responder(actor, "edit affected services")
    incident = locked(session, incident_id)
    found = account_service.get_service(
        session, service_id=account_service.service_id_for(session, service)
    )
    if found.id in service_ids(session, incident_id=incident.id):
        return found
    derive(session, clock, incident)  # the incident's own service first, if not yet listed
    if found.id not in service_ids(session, incident_id=incident.id):
        session.add(IncidentService(incident_id=incident.id, service_id=found.id))
        session.flush()
    derive(session, clock, incident)
    _changed(session, clock, actor, incident, "services", f"{found.name} is affected")
    return found


def remove_service(
    session: Session, clock: Clock, *, actor: Actor, incident_id: int, service_id: int
) -> None:
    """The incident does not affect this service after all; accounts derived only from it
    go (hand-added and excluded ones stay)."""
    require_responder(actor, "edit affected services")
    incident = locked(session, incident_id)
    row = session.scalar(
        select(IncidentService).where(
            IncidentService.incident_id == incident.id, IncidentService.service_id == service_id
        )
    )
    if row is None:
        raise NotFound(f"service {service_id} is not affected by this incident", field="service")
    name = account_service.get_service(session, service_id=service_id).name
    session.delete(row)
    session.flush()
    derive(session, clock, incident)
    _changed(session, clock, actor, incident, "services", f"{name} is not affected")


def _row(session: Session, incident_id: int, account_id: int) -> AffectedAccount:
    row = session.scalar(
        select(AffectedAccount).where(
            AffectedAccount.incident_id == incident_id, AffectedAccount.account_id == account_id
        )
    )
    if row is None:
        raise NotFound(f"account {account_id} is not affected by this incident", field="account")
    return row


def add_account(
    session: Session, clock: Clock, *, actor: Actor, incident_id: int, account: str
) -> AffectedAccount:
    """Add an account (name or id) by hand, or bring back an excluded one."""
    require_responder(actor, "edit affected accounts")
    incident = locked(session, incident_id)
    found = account_service.find_by_name_or_id(session, actor=actor, key=account)
    row = session.scalar(
        select(AffectedAccount).where(
            AffectedAccount.incident_id == incident.id, AffectedAccount.account_id == found.id
        )
    )
    if row is not None and not row.excluded:
        return row
    if row is None:
        row = AffectedAccount(
            incident_id=incident.id,
            account_id=found.id,
            derived=False,
            excluded=False,
            impact_start=incident.started_at or incident.opened_at,
            impact_level=ImpactLevel.OUTAGE,
            created_at=clock.now(),
        )
        session.add(row)
    row.excluded = False
    _changed(session, clock, actor, incident, "accounts", f"{found.name} is affected")
    return row


def exclude_account(
    session: Session, clock: Clock, *, actor: Actor, incident_id: int, account_id: int
) -> AffectedAccount:
    """This account is not affected: it leaves the list and stays out when re-derived."""
    require_responder(actor, "edit affected accounts")
    incident = locked(session, incident_id)
    row = _row(session, incident.id, account_id)
    if row.excluded:
        return row
    row.excluded = True
    name = session.get(Account, account_id)
    _changed(
        session,
        clock,
        actor,
        incident,
        "accounts",
        f"{name.name if name else account_id} is not affected",
    )
    return row


def edit_impact(
    session: Session,
    clock: Clock,
    *,
    actor: Actor,
    incident_id: int,
    account_id: int,
    changes: dict[str, object],
) -> AffectedAccount:
    """Change an account's impact: any of impact_start, impact_end, impact_level,
    affected_users, business_impact (the keys given; None clears). The window must not end
    before it starts."""
    require_responder(actor, "edit affected accounts")
    incident = locked(session, incident_id)
    row = _row(session, incident.id, account_id)
    start = changes.get("impact_start", row.impact_start)
    end = changes.get("impact_end", row.impact_end)
    if isinstance(start, datetime) and isinstance(end, datetime) and end < start:
        raise ValidationFailed(
            f"the impact window ends before it starts: impact_end {end.isoformat()} is "
            f"before impact_start {start.isoformat()}",
            field="impact_end",
        )
    users = changes.get("affected_users", _UNSET)
    if isinstance(users, int) and users < 0:
        raise ValidationFailed("affected_users must be 0 or more", field="affected_users")
    allowed = {"impact_start", "impact_end", "impact_level", "affected_users", "business_impact"}
    for key, value in changes.items():
        if key in allowed:
            setattr(row, key, value)
    name = session.get(Account, account_id)
    _changed(
        session,
        clock,
        actor,
        incident,
        "impact",
        f"Impact on {name.name if name else account_id} edited",
    )
    return row


def shift_derived_starts(incident: Incident, session: Session, old_start: datetime | None) -> None:
    """The incident's start moved: derived accounts whose impact began at the old start
    begin at the new one (edited windows are left alone)."""
    for row in session.scalars(
        select(AffectedAccount).where(
            AffectedAccount.incident_id == incident.id, AffectedAccount.derived.is_(True)
        )
    ):
        if row.impact_start == old_start:
            row.impact_start = incident.started_at
    session.flush()


def incidents_of_account(
    session: Session, *, account_id: int, limit: int = 10
) -> list[tuple[Incident, AffectedAccount]]:
    """The latest incidents that affected an account (not excluded), newest first, with
    its impact in each: the account page's history."""
    return [
        (incident, row)
        for incident, row in session.execute(
            select(Incident, AffectedAccount)
            .join(AffectedAccount, AffectedAccount.incident_id == Incident.id)
            .where(AffectedAccount.account_id == account_id, AffectedAccount.excluded.is_(False))
            .order_by(Incident.opened_at.desc(), Incident.id.desc())
            .limit(limit)
        ).all()
    ]
