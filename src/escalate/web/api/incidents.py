"""Incidents: the list with its filters, one incident with its affected accounts and key
times, its lifecycle, roles, affected services and accounts, checklist and timeline; and
the response protocol (the checklist templates). Business rules live in incidents.*."""

from __future__ import annotations

from typing import TypeVar

from fastapi import APIRouter, status
from pydantic import BaseModel

from escalate.alerts import service as alert_service
from escalate.alerts.schemas import AlertRead
from escalate.auth import service as auth_service
from escalate.auth.models import User
from escalate.auth.permissions import Permission, authorize
from escalate.incidents import affected, checklists, lifecycle, reads, roles
from escalate.incidents import service as incident_service
from escalate.incidents.models import IncidentSeverity, IncidentStatus
from escalate.incidents.schemas import (
    AccountIn,
    AffectedAccountRead,
    ChecklistItemRead,
    ComplianceRead,
    ImpactEdit,
    IncidentDeclare,
    IncidentDetail,
    IncidentEventRead,
    IncidentRead,
    IncidentUpdate,
    NoteIn,
    Protocol,
    ProtocolItem,
    ReopenIn,
    RoleAssign,
    RoleRead,
    ServiceIn,
    TransitionIn,
)
from escalate.oncall import policies as policy_service
from escalate.pagination import PageParams
from escalate.web.deps import ActorDep, ContainerDep, PageDep, SessionDep

router = APIRouter(tags=["incidents"])


class IncidentPage(BaseModel):
    items: list[IncidentRead]
    total: int


class AlertPage(BaseModel):
    items: list[AlertRead]
    total: int


class EventPage(BaseModel):
    items: list[IncidentEventRead]
    total: int


class RolePage(BaseModel):
    items: list[RoleRead]
    total: int


class ChecklistPage(BaseModel):
    items: list[ChecklistItemRead]
    total: int


class CompliancePage(BaseModel):
    items: list[ComplianceRead]
    total: int


class AffectedPage(BaseModel):
    items: list[AffectedAccountRead]
    total: int


T = TypeVar("T")


def _window(items: list[T], page: PageParams) -> list[T]:
    return items[page.offset : page.offset + page.limit]


@router.get("/incidents", response_model=IncidentPage)
def list_incidents(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    status: IncidentStatus | None = None,
    severity: IncidentSeverity | None = None,
    service: str | None = None,
    open: bool | None = None,
    mine: bool = False,
    account: str | None = None,
) -> IncidentPage:
    """Incidents, newest first. `service` and `account` take a name or an id; `open=true`
    keeps unresolved ones; `mine=true` those where I hold a role or was paged."""
    result = incident_service.list_incidents(
        session,
        actor=actor,
        page=page,
        status=status,
        severity=severity,
        service=service,
        open_only=open,
        mine=mine,
        account=account,
    )
    return IncidentPage(
        items=[IncidentRead.model_validate(i) for i in result.items], total=result.total
    )


@router.post("/incidents", response_model=IncidentDetail, status_code=status.HTTP_201_CREATED)
def declare_incident(
    data: IncidentDeclare, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> IncidentDetail:
    """Open an incident by hand; with `escalation_policy` (a policy's name) it is paged
    like a routed alert's incident. Its affected accounts and checklist come at once."""
    if data.escalation_policy is not None:
        policy = policy_service.require_by_name(
            session, name=data.escalation_policy, field="escalation_policy"
        )
        data = data.model_copy(update={"escalation_policy": policy.name})
    incident = lifecycle.declare(session, container.clock, actor=actor, data=data)
    return reads.detail(session, incident)


@router.get("/incidents/{incident_id}", response_model=IncidentDetail)
def get_incident(incident_id: int, session: SessionDep, actor: ActorDep) -> IncidentDetail:
    """One incident: key times, affected accounts, role holders, the statuses it may move
    to, and its escalation state (the step paged next, and when)."""
    incident = incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    return reads.detail(session, incident)


@router.patch("/incidents/{incident_id}", response_model=IncidentDetail)
def update_incident(
    incident_id: int,
    data: IncidentUpdate,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
) -> IncidentDetail:
    """Edit title, description, severity, started_at or detected_at."""
    incident = lifecycle.update(
        session,
        container.clock,
        actor=actor,
        incident_id=incident_id,
        changes=data.model_dump(exclude_unset=True),
    )
    return reads.detail(session, incident)


@router.post("/incidents/{incident_id}/acknowledge", response_model=IncidentDetail)
def acknowledge_incident(
    incident_id: int, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> IncidentDetail:
    """Someone is on it: escalation stops. Acknowledging an incident someone is on already
    changes nothing and answers 200; a resolved one answers 409."""
    incident = lifecycle.acknowledge(session, container.clock, actor=actor, incident_id=incident_id)
    return reads.detail(session, incident)


@router.post("/incidents/{incident_id}/resolve", response_model=IncidentDetail)
def resolve_incident(
    incident_id: int, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> IncidentDetail:
    """The problem is gone: everything stops. A resolved incident answers 409."""
    incident = lifecycle.resolve(session, container.clock, actor=actor, incident_id=incident_id)
    return reads.detail(session, incident)


@router.post("/incidents/{incident_id}/status", response_model=IncidentDetail)
def change_status(
    incident_id: int,
    data: TransitionIn,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
) -> IncidentDetail:
    """Move the incident forward (steps may be skipped), or from monitoring back to
    investigating or identified. Out of resolved only by /reopen (409 names the move)."""
    incident = lifecycle.transition(
        session, container.clock, actor, incident_id, data.status, data.note
    )
    return reads.detail(session, incident)


@router.post(
    "/incidents/{incident_id}/notes",
    response_model=IncidentEventRead,
    status_code=status.HTTP_201_CREATED,
)
def add_note(
    incident_id: int, data: NoteIn, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> IncidentEventRead:
    """An internal note on the timeline (responders only; never shown to customers)."""
    event = lifecycle.add_note(session, container.clock, actor, incident_id, data.text)
    return IncidentEventRead.model_validate(event)


@router.post("/incidents/{incident_id}/reopen", response_model=IncidentDetail)
def reopen_incident(
    incident_id: int, data: ReopenIn, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> IncidentDetail:
    """Reopen a resolved incident (into investigating unless told)."""
    incident = lifecycle.reopen(
        session, container.clock, actor, incident_id, data.status, data.note
    )
    return reads.detail(session, incident)


@router.get("/incidents/{incident_id}/timeline", response_model=EventPage)
def incident_timeline(
    incident_id: int,
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    internal: bool | None = None,
) -> EventPage:
    """What happened, oldest first. `internal=false` keeps what customers may see."""
    result = lifecycle.timeline(
        session, actor=actor, incident_id=incident_id, page=page, internal=internal
    )
    return EventPage(
        items=[IncidentEventRead.model_validate(e) for e in result.items], total=result.total
    )


@router.get("/incidents/{incident_id}/alerts", response_model=AlertPage)
def list_incident_alerts(
    incident_id: int, session: SessionDep, actor: ActorDep, page: PageDep
) -> AlertPage:
    """The alerts grouped into this incident, most recently seen first."""
    incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    result = alert_service.list_alerts(session, actor=actor, page=page, incident_id=incident_id)
    return AlertPage(items=[AlertRead.model_validate(a) for a in result.items], total=result.total)


# --- roles ---------------------------------------------------------------------------


@router.get("/incidents/{incident_id}/roles", response_model=RolePage)
def list_roles(incident_id: int, session: SessionDep, actor: ActorDep, page: PageDep) -> RolePage:
    """Every role assignment, oldest first; `ended_at` is null for current holders."""
    incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    rows = roles.history(session, incident_id=incident_id)
    return RolePage(
        items=[RoleRead.model_validate(r) for r in _window(list(rows), page)], total=len(rows)
    )


def _user_id(session: SessionDep, key: str) -> int:
    if key.isdigit():
        return int(key)
    user: User = auth_service.require_by_email(session, email=key)
    return user.id


@router.put("/incidents/{incident_id}/roles/{role}", response_model=RoleRead)
def assign_role(
    incident_id: int,
    role: str,
    data: RoleAssign,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
) -> RoleRead:
    """Give a role (commander, communications_lead, or another name) to a person (e-mail
    or id); the previous holder hands it over."""
    assigned = roles.assign(
        session,
        container.clock,
        actor=actor,
        incident_id=incident_id,
        role=role,
        user_id=_user_id(session, data.user),
    )
    return RoleRead.model_validate(assigned)


# --- affected services and accounts --------------------------------------------------


@router.get("/incidents/{incident_id}/accounts", response_model=AffectedPage)
def list_affected_accounts(
    incident_id: int, session: SessionDep, actor: ActorDep, page: PageDep
) -> AffectedPage:
    """The affected accounts by name (excluded ones are left out)."""
    incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    found = reads.affected_reads(session, incident_id)
    return AffectedPage(items=list(_window(list(found), page)), total=len(found))


@router.post("/incidents/{incident_id}/services", response_model=IncidentDetail)
def add_service(
    incident_id: int, data: ServiceIn, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> IncidentDetail:
    """The incident affects this service too; the accounts using it are added."""
    affected.add_service(
        session, container.clock, actor=actor, incident_id=incident_id, service=data.service
    )
    return reads.detail(
        session, incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    )


@router.delete("/incidents/{incident_id}/services/{service_id}", response_model=IncidentDetail)
def remove_service(
    incident_id: int, service_id: int, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> IncidentDetail:
    """The incident does not affect this service; accounts derived only from it go."""
    affected.remove_service(
        session, container.clock, actor=actor, incident_id=incident_id, service_id=service_id
    )
    return reads.detail(
        session, incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    )


@router.post("/incidents/{incident_id}/accounts", response_model=IncidentDetail)
def add_account(
    incident_id: int, data: AccountIn, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> IncidentDetail:
    """Add an affected account by hand (or bring an excluded one back)."""
    affected.add_account(
        session, container.clock, actor=actor, incident_id=incident_id, account=data.account
    )
    return reads.detail(
        session, incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    )


@router.post(
    "/incidents/{incident_id}/accounts/{account_id}/exclude", response_model=IncidentDetail
)
def exclude_account(
    incident_id: int, account_id: int, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> IncidentDetail:
    """This account is not affected; it stays out when the accounts are derived again."""
    affected.exclude_account(
        session, container.clock, actor=actor, incident_id=incident_id, account_id=account_id
    )
    return reads.detail(
        session, incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    )


@router.patch("/incidents/{incident_id}/accounts/{account_id}", response_model=IncidentDetail)
def edit_impact(
    incident_id: int,
    account_id: int,
    data: ImpactEdit,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
) -> IncidentDetail:
    """Edit one account's impact window, level, affected users or business impact."""
    affected.edit_impact(
        session,
        container.clock,
        actor=actor,
        incident_id=incident_id,
        account_id=account_id,
        changes=data.model_dump(exclude_unset=True),
    )
    return reads.detail(
        session, incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    )


# --- checklist -----------------------------------------------------------------------


@router.get("/incidents/{incident_id}/checklist", response_model=ChecklistPage)
def list_checklist(
    incident_id: int, session: SessionDep, actor: ActorDep, page: PageDep
) -> ChecklistPage:
    """The incident's response checklist, with due and done times."""
    incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    found = checklists.items(session, incident_id=incident_id)
    return ChecklistPage(
        items=[ChecklistItemRead.model_validate(i) for i in _window(list(found), page)],
        total=len(found),
    )


@router.get("/incidents/{incident_id}/checklist/compliance", response_model=CompliancePage)
def checklist_compliance(
    incident_id: int, session: SessionDep, actor: ActorDep, page: PageDep
) -> CompliancePage:
    """Each item: on_time, late (late_minutes), missed, pending, or done (no due time)."""
    incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    found = checklists.compliance(session, incident_id)
    return CompliancePage(
        items=[ComplianceRead.model_validate(c) for c in _window(list(found), page)],
        total=len(found),
    )


@router.post("/incidents/{incident_id}/checklist/{item_id}/done", response_model=ChecklistItemRead)
def tick_item(
    incident_id: int, item_id: int, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> ChecklistItemRead:
    """Tick an item (ticking a done one keeps its first time)."""
    item = checklists.mark(
        session, container.clock, actor=actor, incident_id=incident_id, item_id=item_id, done=True
    )
    return ChecklistItemRead.model_validate(item)


@router.post(
    "/incidents/{incident_id}/checklist/{item_id}/undone", response_model=ChecklistItemRead
)
def untick_item(
    incident_id: int, item_id: int, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> ChecklistItemRead:
    """Untick an item."""
    item = checklists.mark(
        session, container.clock, actor=actor, incident_id=incident_id, item_id=item_id, done=False
    )
    return ChecklistItemRead.model_validate(item)


# --- response protocol ---------------------------------------------------------------


def _protocol(session: SessionDep, severity: IncidentSeverity) -> Protocol:
    return Protocol(
        severity=severity,
        items=[
            ProtocolItem.model_validate(t) for t in checklists.template(session, severity=severity)
        ],
    )


@router.get("/response-protocol/{severity}", response_model=Protocol)
def get_protocol(severity: IncidentSeverity, session: SessionDep, actor: ActorDep) -> Protocol:
    """The checklist new incidents of this severity get."""
    authorize(actor, Permission.READ)
    return _protocol(session, severity)


@router.put("/response-protocol/{severity}", response_model=Protocol)
def put_protocol(
    severity: IncidentSeverity,
    data: Protocol,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
) -> Protocol:
    """Replace the protocol of a severity (admins). Open incidents keep their checklists."""
    checklists.replace_template(
        session,
        container.clock,
        actor=actor,
        severity=severity,
        entries=[
            checklists.TemplateEntry(title=i.title, due_minutes=i.due_minutes, check=i.check)
            for i in data.items
        ],
    )
    return _protocol(session, severity)
