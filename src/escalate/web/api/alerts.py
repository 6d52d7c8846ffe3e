"""Integrations, alerts and the inbound-errors log (the ingest endpoints are in ingest.py)."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from escalate.alerts import service as alert_service
from escalate.alerts.models import AlertStatus
from escalate.alerts.schemas import (
    AlertDetail,
    AlertRead,
    InboundErrorRead,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationRead,
)
from escalate.web.deps import ActorDep, ContainerDep, PageDep, SessionDep

router = APIRouter(tags=["alerts"])


class IntegrationPage(BaseModel):
    items: list[IntegrationRead]
    total: int


class AlertPage(BaseModel):
    items: list[AlertRead]
    total: int


class InboundErrorPage(BaseModel):
    items: list[InboundErrorRead]
    total: int


@router.get("/integrations", response_model=IntegrationPage)
def list_integrations(session: SessionDep, actor: ActorDep, page: PageDep) -> IntegrationPage:
    """Integrations by name; their keys are never shown again after creation."""
    result = alert_service.list_integrations(session, actor=actor, page=page)
    return IntegrationPage(
        items=[IntegrationRead.model_validate(i) for i in result.items], total=result.total
    )


@router.post(
    "/integrations", response_model=IntegrationCreated, status_code=status.HTTP_201_CREATED
)
def create_integration(
    data: IntegrationCreate, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> IntegrationCreated:
    """Create an integration; the answer carries its key, shown this once."""
    integration, key = alert_service.create_integration(
        session, container.clock, actor=actor, data=data
    )
    return IntegrationCreated.model_validate({**_fields(integration), "key": key})


@router.post("/integrations/{integration_id}/rotate-key", response_model=IntegrationCreated)
def rotate_key(
    integration_id: int, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> IntegrationCreated:
    """Replace an integration's key; the old key stops working at once."""
    integration, key = alert_service.rotate_key(
        session, container.clock, actor=actor, integration_id=integration_id
    )
    return IntegrationCreated.model_validate({**_fields(integration), "key": key})


def _fields(integration: object) -> dict[str, object]:
    return IntegrationRead.model_validate(integration).model_dump()


@router.get("/alerts", response_model=AlertPage)
def list_alerts(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    dedup_key: str | None = None,
    status: AlertStatus | None = None,
    service: str | None = None,
    integration_id: int | None = None,
) -> AlertPage:
    """Alerts, most recently seen first. `service` is a service's name or id."""
    result = alert_service.list_alerts(
        session,
        actor=actor,
        page=page,
        dedup_key=dedup_key,
        status=status,
        service=service,
        integration_id=integration_id,
    )
    return AlertPage(items=[AlertRead.model_validate(a) for a in result.items], total=result.total)


@router.get("/alerts/{alert_id}", response_model=AlertDetail)
def get_alert(alert_id: int, session: SessionDep, actor: ActorDep) -> AlertDetail:
    """One alert with its last payload and its history."""
    return AlertDetail.model_validate(
        alert_service.get_alert(session, actor=actor, alert_id=alert_id)
    )


@router.get("/inbound-errors", response_model=InboundErrorPage)
def list_inbound_errors(
    session: SessionDep, actor: ActorDep, page: PageDep, integration_id: int | None = None
) -> InboundErrorPage:
    """Inbound events that were refused, newest first, with the reason."""
    result = alert_service.list_inbound_errors(
        session, actor=actor, page=page, integration_id=integration_id
    )
    return InboundErrorPage(
        items=[InboundErrorRead.model_validate(e) for e in result.items], total=result.total
    )
