"""Integrations, alerts and the inbound-errors log (the ingest endpoints are in ingest.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status
from pydantic import BaseModel, JsonValue

from escalate.alerts import rules as rule_service
from escalate.alerts import service as alert_service
from escalate.alerts import silences as silence_service
from escalate.alerts.models import AlertStatus
from escalate.alerts.schemas import (
    AlertDetail,
    AlertRead,
    InboundErrorRead,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationDetail,
    IntegrationMappingRead,
    IntegrationRead,
    IntegrationUpdate,
    MappingPreview,
    MappingPreviewRequest,
    RouteTest,
    RouteTestResult,
    RoutingOrder,
    RoutingRuleCreate,
    RoutingRuleRead,
    RoutingRuleUpdate,
    SilenceCreate,
    SilenceRead,
)
from escalate.alerts.silences import SilenceState
from escalate.oncall import escalation
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


class RoutingRulePage(BaseModel):
    items: list[RoutingRuleRead]
    total: int


class SilencePage(BaseModel):
    items: list[SilenceRead]
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


@router.get("/integrations/{integration_id}", response_model=IntegrationDetail)
def get_integration(integration_id: int, session: SessionDep, actor: ActorDep) -> IntegrationDetail:
    """One integration with its grouping settings (never its key)."""
    return IntegrationDetail.model_validate(
        alert_service.get_integration(session, actor=actor, integration_id=integration_id)
    )


@router.patch("/integrations/{integration_id}", response_model=IntegrationDetail)
def update_integration(
    integration_id: int, data: IntegrationUpdate, session: SessionDep, actor: ActorDep
) -> IntegrationDetail:
    """Rename, disable, or change the default service and the grouping settings."""
    return IntegrationDetail.model_validate(
        rule_service.update_integration(
            session, actor=actor, integration_id=integration_id, data=data
        )
    )


@router.get("/integrations/{integration_id}/routing-rules", response_model=RoutingRulePage)
def list_routing_rules(
    integration_id: int, session: SessionDep, actor: ActorDep, page: PageDep
) -> RoutingRulePage:
    """The integration's rules in the order they are tried; the catch-all is last."""
    result = rule_service.list_rules(session, actor=actor, integration_id=integration_id, page=page)
    return RoutingRulePage(
        items=[RoutingRuleRead.model_validate(r) for r in result.items], total=result.total
    )


@router.post(
    "/integrations/{integration_id}/routing-rules",
    response_model=RoutingRuleRead,
    status_code=status.HTTP_201_CREATED,
)
def create_routing_rule(
    integration_id: int, data: RoutingRuleCreate, session: SessionDep, actor: ActorDep
) -> RoutingRuleRead:
    """Add a rule at `position`, or last before the catch-all."""
    return RoutingRuleRead.model_validate(
        rule_service.create_rule(session, actor=actor, integration_id=integration_id, data=data)
    )


@router.put("/integrations/{integration_id}/routing-rules/order", response_model=RoutingRulePage)
def reorder_routing_rules(
    integration_id: int, data: RoutingOrder, session: SessionDep, actor: ActorDep
) -> RoutingRulePage:
    """Set the order of every rule but the catch-all."""
    ordered = rule_service.reorder_rules(
        session, actor=actor, integration_id=integration_id, data=data
    )
    return RoutingRulePage(
        items=[RoutingRuleRead.model_validate(r) for r in ordered], total=len(ordered)
    )


@router.get("/routing-rules/{rule_id}", response_model=RoutingRuleRead)
def get_routing_rule(rule_id: int, session: SessionDep, actor: ActorDep) -> RoutingRuleRead:
    return RoutingRuleRead.model_validate(
        rule_service.get_rule(session, actor=actor, rule_id=rule_id)
    )


@router.patch("/routing-rules/{rule_id}", response_model=RoutingRuleRead)
def update_routing_rule(
    rule_id: int, data: RoutingRuleUpdate, session: SessionDep, actor: ActorDep
) -> RoutingRuleRead:
    """Change a rule; the catch-all takes only service, policy and severity."""
    return RoutingRuleRead.model_validate(
        rule_service.update_rule(session, actor=actor, rule_id=rule_id, data=data)
    )


@router.delete("/routing-rules/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_routing_rule(rule_id: int, session: SessionDep, actor: ActorDep) -> Response:
    """Delete a rule; the catch-all answers 409."""
    rule_service.delete_rule(session, actor=actor, rule_id=rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/routing/test", response_model=RouteTestResult)
def test_route(
    data: RouteTest, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> RouteTestResult:
    """Where would this alert go right now? The same decision ingestion takes; nothing is
    written."""
    result = rule_service.test_route(session, container.clock, actor=actor, data=data)
    return escalation.with_people(session, container.clock, result)


@router.get("/silences", response_model=SilencePage)
def list_silences(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    container: ContainerDep,
    state: SilenceState | None = None,
) -> SilencePage:
    """Silences and maintenance windows; `state` is pending, active or expired."""
    result = silence_service.list_silences(
        session, container.clock, actor=actor, page=page, state=state
    )
    return SilencePage(
        items=[SilenceRead.model_validate(x) for x in result.items], total=result.total
    )


@router.post("/silences", response_model=SilenceRead, status_code=status.HTTP_201_CREATED)
def create_silence(
    data: SilenceCreate, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> SilenceRead:
    """Suppress matching alerts in a time window: they are stored, marked suppressed, and
    open no incident."""
    return SilenceRead.model_validate(
        silence_service.create_silence(session, container.clock, actor=actor, data=data)
    )


@router.get("/silences/{silence_id}", response_model=SilenceRead)
def get_silence(silence_id: int, session: SessionDep, actor: ActorDep) -> SilenceRead:
    return SilenceRead.model_validate(
        silence_service.get_silence(session, actor=actor, silence_id=silence_id)
    )


@router.post("/silences/{silence_id}/expire", response_model=SilenceRead)
def expire_silence(
    silence_id: int, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> SilenceRead:
    """End a silence now; it stays listed as expired."""
    return SilenceRead.model_validate(
        silence_service.expire_silence(session, container.clock, actor=actor, silence_id=silence_id)
    )


def _fields(integration: object) -> dict[str, object]:
    return IntegrationRead.model_validate(integration).model_dump()


MappingBody = Annotated[
    dict[str, JsonValue],
    Body(
        description="For a generic integration a GenericMapping (where each field is in the "
        "body); for an e-mail integration its EmailRules (dedup rule, resolve words). Fields "
        "left out take their defaults."
    ),
]


@router.get("/integrations/{integration_id}/mapping", response_model=IntegrationMappingRead)
def get_mapping(
    integration_id: int, session: SessionDep, actor: ActorDep
) -> IntegrationMappingRead:
    """The mapping a generic integration uses (or the rules of an e-mail one), defaults
    filled in."""
    return _mapping_read(
        alert_service.get_mapping(session, actor=actor, integration_id=integration_id)
    )


@router.put("/integrations/{integration_id}/mapping", response_model=IntegrationMappingRead)
def set_mapping(
    integration_id: int, data: MappingBody, session: SessionDep, actor: ActorDep
) -> IntegrationMappingRead:
    """Set how a generic integration reads its events (or how an e-mail one reads mail)."""
    return _mapping_read(
        alert_service.set_mapping(session, actor=actor, integration_id=integration_id, data=data)
    )


def _mapping_read(in_use: alert_service.MappingInUse) -> IntegrationMappingRead:
    return IntegrationMappingRead(
        integration_id=in_use.integration.id,
        kind=in_use.integration.kind,
        customized=in_use.customized,
        mapping=in_use.mapping,
    )


@router.post("/integrations/{integration_id}/mapping/preview", response_model=MappingPreview)
def preview_mapping(
    integration_id: int, data: MappingPreviewRequest, session: SessionDep, actor: ActorDep
) -> MappingPreview:
    """What a sample body would become, event by event, under the integration's mapping or
    a candidate one, with every problem a real send would be refused for. Writes nothing."""
    return alert_service.preview_mapping(
        session,
        actor=actor,
        integration_id=integration_id,
        sample=data.sample,
        candidate=data.mapping,
    )


@router.get("/alerts", response_model=AlertPage)
def list_alerts(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    dedup_key: str | None = None,
    status: AlertStatus | None = None,
    service: str | None = None,
    integration_id: int | None = None,
    incident_id: int | None = None,
    routed: bool | None = None,
    suppressed: bool | None = None,
    open_only: Annotated[bool, Query(alias="open")] = False,
) -> AlertPage:
    """Alerts, most recently seen first. `service` is a service's name or id;
    `routed=false` lists the alerts that raised the unrouted alarm; `open=true` only the
    triggered and acknowledged ones."""
    result = alert_service.list_alerts(
        session,
        actor=actor,
        page=page,
        dedup_key=dedup_key,
        status=status,
        service=service,
        integration_id=integration_id,
        incident_id=incident_id,
        routed=routed,
        suppressed=suppressed,
        open_only=open_only,
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
