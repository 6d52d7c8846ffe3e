"""Incidents (opened by alerts; their lifecycle grows with the incidents issue)."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from escalate.alerts import service as alert_service
from escalate.alerts.schemas import AlertRead
from escalate.incidents import lifecycle
from escalate.incidents import service as incident_service
from escalate.incidents.models import IncidentSeverity, IncidentStatus
from escalate.incidents.schemas import (
    IncidentDeclare,
    IncidentDetail,
    IncidentEventRead,
    IncidentRead,
)
from escalate.oncall import policies as policy_service
from escalate.web.deps import ActorDep, ContainerDep, PageDep, SessionDep

router = APIRouter(tags=["incidents"])


class IncidentPage(BaseModel):
    items: list[IncidentRead]
    total: int


class AlertPage(BaseModel):
    items: list[AlertRead]
    total: int


@router.get("/incidents", response_model=IncidentPage)
def list_incidents(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    status: IncidentStatus | None = None,
    severity: IncidentSeverity | None = None,
    service: str | None = None,
) -> IncidentPage:
    """Incidents, newest first. `service` is a service's name or id."""
    result = incident_service.list_incidents(
        session, actor=actor, page=page, status=status, severity=severity, service=service
    )
    return IncidentPage(
        items=[IncidentRead.model_validate(i) for i in result.items], total=result.total
    )


class EventPage(BaseModel):
    items: list[IncidentEventRead]
    total: int


@router.post("/incidents", response_model=IncidentDetail, status_code=status.HTTP_201_CREATED)
def declare_incident(
    data: IncidentDeclare, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> IncidentDetail:
    """Open an incident by hand; with `escalation_policy` (a policy's name) it is paged
    like a routed alert's incident."""
    if data.escalation_policy is not None:
        policy = policy_service.require_by_name(
            session, name=data.escalation_policy, field="escalation_policy"
        )
        data = data.model_copy(update={"escalation_policy": policy.name})
    incident = lifecycle.declare(session, container.clock, actor=actor, data=data)
    return IncidentDetail.model_validate(incident)


@router.get("/incidents/{incident_id}", response_model=IncidentDetail)
def get_incident(incident_id: int, session: SessionDep, actor: ActorDep) -> IncidentDetail:
    """One incident with its escalation state (the step paged next, and when)."""
    return IncidentDetail.model_validate(
        incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    )


@router.post("/incidents/{incident_id}/acknowledge", response_model=IncidentDetail)
def acknowledge_incident(
    incident_id: int, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> IncidentDetail:
    """Someone is on it: escalation stops. Acknowledging an acknowledged incident changes
    nothing and answers 200; a resolved one answers 409."""
    incident = lifecycle.acknowledge(session, container.clock, actor=actor, incident_id=incident_id)
    return IncidentDetail.model_validate(incident)


@router.post("/incidents/{incident_id}/resolve", response_model=IncidentDetail)
def resolve_incident(
    incident_id: int, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> IncidentDetail:
    """The problem is gone: everything stops. A resolved incident answers 409."""
    incident = lifecycle.resolve(session, container.clock, actor=actor, incident_id=incident_id)
    return IncidentDetail.model_validate(incident)


@router.get("/incidents/{incident_id}/timeline", response_model=EventPage)
def incident_timeline(
    incident_id: int, session: SessionDep, actor: ActorDep, page: PageDep
) -> EventPage:
    """What happened, oldest first: escalation, pages, acknowledgements, resolution."""
    result = lifecycle.timeline(session, actor=actor, incident_id=incident_id, page=page)
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
