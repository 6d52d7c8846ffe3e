"""Incidents (opened by alerts; their lifecycle grows with the incidents issue)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from escalate.alerts import service as alert_service
from escalate.alerts.schemas import AlertRead
from escalate.incidents import service as incident_service
from escalate.incidents.models import IncidentSeverity, IncidentStatus
from escalate.incidents.schemas import IncidentRead
from escalate.web.deps import ActorDep, PageDep, SessionDep

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


@router.get("/incidents/{incident_id}", response_model=IncidentRead)
def get_incident(incident_id: int, session: SessionDep, actor: ActorDep) -> IncidentRead:
    return IncidentRead.model_validate(
        incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    )


@router.get("/incidents/{incident_id}/alerts", response_model=AlertPage)
def list_incident_alerts(
    incident_id: int, session: SessionDep, actor: ActorDep, page: PageDep
) -> AlertPage:
    """The alerts grouped into this incident, most recently seen first."""
    incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    result = alert_service.list_alerts(session, actor=actor, page=page, incident_id=incident_id)
    return AlertPage(items=[AlertRead.model_validate(a) for a in result.items], total=result.total)
