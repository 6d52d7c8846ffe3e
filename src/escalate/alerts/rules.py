"""Routing rules of an integration, its grouping settings, and the route tester. Every
change is audited (flush hook); functions flush, never commit."""

from __future__ import annotations

from datetime import timedelta

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from escalate.accounts import service as account_service
from escalate.accounts.models import Service
from escalate.alerts import generic, mapping
from escalate.alerts import service as alert_service
from escalate.alerts.mapping import InboundEvent
from escalate.alerts.models import Integration, IntegrationKind, RoutingRule
from escalate.alerts.schemas import (
    AlertmanagerWebhook,
    EventV2,
    IntegrationUpdate,
    NamedRef,
    RouteTest,
    RouteTestResult,
    RoutingOrder,
    RoutingRuleCreate,
    RoutingRuleUpdate,
    SampleAlert,
)
from escalate.auth.permissions import Actor, Permission, authorize
from escalate.clock import Clock
from escalate.db import find
from escalate.errors import Conflict, NotFound, ValidationFailed
from escalate.incidents import service as incident_service
from escalate.pagination import Page, PageParams, paginate


def find_integration(session: Session, *, actor: Actor, key: str) -> Integration:
    """An integration by name, or by id when none has that name."""
    authorize(actor, Permission.READ)
    integration = alert_service.get_integration_by_name(session, name=key)
    if integration is None and key.strip().isdigit():
        integration = find(session, Integration, int(key.strip()))
    if integration is None:
        raise NotFound(f"no integration named {key!r}", field="integration")
    return integration


def update_integration(
    session: Session, *, actor: Actor, integration_id: int, data: IntegrationUpdate
) -> Integration:
    authorize(actor, Permission.INTEGRATIONS_MANAGE)
    integration = alert_service.get_integration(session, actor=actor, integration_id=integration_id)
    changes = data.model_dump(exclude_unset=True)
    for field in ("name", "is_active", "grouping_window_minutes", "flap_window_minutes"):
        if changes.get(field) is None:
            changes.pop(field, None)  # null means "leave as is" for the required fields
    if "auto_resolve_incidents" in changes and changes["auto_resolve_incidents"] is None:
        del changes["auto_resolve_incidents"]
    if "name" in changes:
        same = alert_service.get_integration_by_name(session, name=changes["name"])
        if same is not None and same.id != integration.id:
            raise Conflict(f"an integration named {changes['name']!r} already exists", field="name")
    if changes.get("default_service_id") is not None:
        account_service.get_service(session, service_id=changes["default_service_id"])
    if "severity_map" in changes:
        changes["severity_map"] = {k.value: v.value for k, v in (data.severity_map or {}).items()}
    if "grouping_labels" in changes:
        changes["grouping_labels"] = list(data.grouping_labels or [])
    for field, value in changes.items():
        setattr(integration, field, value)
    if "default_service_id" in changes:
        # The default service is where the catch-all sends alerts: one value, two views.
        _catch_all(session, integration.id).service_id = changes["default_service_id"]
    session.flush()
    return integration


# --- rules -------------------------------------------------------------------------------


def list_rules(
    session: Session, *, actor: Actor, integration_id: int, page: PageParams
) -> Page[RoutingRule]:
    """An integration's rules in the order they are tried, the catch-all last."""
    alert_service.get_integration(session, actor=actor, integration_id=integration_id)
    stmt = (
        select(RoutingRule)
        .where(RoutingRule.integration_id == integration_id)
        .order_by(RoutingRule.is_catch_all, RoutingRule.position, RoutingRule.id)
    )
    return paginate(session, stmt, page)


def get_rule(session: Session, *, actor: Actor, rule_id: int) -> RoutingRule:
    authorize(actor, Permission.READ)
    rule = find(session, RoutingRule, rule_id)
    if rule is None:
        raise NotFound(f"routing rule {rule_id} not found", field="rule_id")
    return rule


def create_rule(
    session: Session, *, actor: Actor, integration_id: int, data: RoutingRuleCreate
) -> RoutingRule:
    """Add a rule at `position` (0 is tried first), or last before the catch-all."""
    authorize(actor, Permission.INTEGRATIONS_MANAGE)
    alert_service.get_integration(session, actor=actor, integration_id=integration_id)
    _require_service(session, data.service_id)
    ordered = _ordered_rules(session, integration_id)
    position = len(ordered) if data.position is None else min(data.position, len(ordered))
    rule = RoutingRule(
        integration_id=integration_id,
        position=position,
        name=data.name,
        matchers=[m.model_dump(mode="json") for m in data.matchers],
        service_id=data.service_id,
        escalation_policy=data.escalation_policy,
        severity_override=data.severity_override,
        continue_matching=data.continue_matching,
        is_catch_all=False,
    )
    ordered.insert(position, rule)
    session.add(rule)
    _renumber(ordered)
    session.flush()
    return rule


def update_rule(
    session: Session, *, actor: Actor, rule_id: int, data: RoutingRuleUpdate
) -> RoutingRule:
    authorize(actor, Permission.INTEGRATIONS_MANAGE)
    rule = get_rule(session, actor=actor, rule_id=rule_id)
    changes = data.model_dump(exclude_unset=True, mode="json")
    if rule.is_catch_all:
        fixed = sorted(set(changes) & {"name", "matchers", "continue_matching"})
        if fixed:
            raise ValidationFailed(
                "the catch-all matches every alert and ends the walk; only its service, "
                "escalation policy and severity can change",
                field=fixed[0],
            )
    for field in ("name", "matchers", "continue_matching"):
        if field in changes and changes[field] is None:
            raise ValidationFailed(f"{field} cannot be null", field=field)
    _require_service(session, changes.get("service_id"))
    for field, value in changes.items():
        setattr(rule, field, value)
    if rule.is_catch_all and "service_id" in changes:
        rule.integration.default_service_id = changes["service_id"]
    session.flush()
    return rule


def delete_rule(session: Session, *, actor: Actor, rule_id: int) -> None:
    authorize(actor, Permission.INTEGRATIONS_MANAGE)
    rule = get_rule(session, actor=actor, rule_id=rule_id)
    if rule.is_catch_all:
        raise Conflict(
            "the catch-all rule cannot be deleted: it is what keeps an alert from being lost",
            field="rule_id",
        )
    integration_id = rule.integration_id
    session.delete(rule)
    session.flush()
    _renumber(_ordered_rules(session, integration_id))
    session.flush()


def reorder_rules(
    session: Session, *, actor: Actor, integration_id: int, data: RoutingOrder
) -> list[RoutingRule]:
    """Put the rules in the given order; the list must name each of them once."""
    authorize(actor, Permission.INTEGRATIONS_MANAGE)
    alert_service.get_integration(session, actor=actor, integration_id=integration_id)
    by_id = {rule.id: rule for rule in _ordered_rules(session, integration_id)}
    if sorted(data.rule_ids) != sorted(by_id):
        raise ValidationFailed(
            f"rule_ids must list each rule of the integration but the catch-all once: "
            f"{sorted(by_id)}",
            field="rule_ids",
        )
    ordered = [by_id[rule_id] for rule_id in data.rule_ids]
    _renumber(ordered)
    session.flush()
    return ordered


def _ordered_rules(session: Session, integration_id: int) -> list[RoutingRule]:
    """The rules but the catch-all, in order."""
    return [r for r in alert_service.rules_of(session, integration_id) if not r.is_catch_all]


def _catch_all(session: Session, integration_id: int) -> RoutingRule:
    return next(r for r in alert_service.rules_of(session, integration_id) if r.is_catch_all)


def _renumber(ordered: list[RoutingRule]) -> None:
    for position, rule in enumerate(ordered):
        if rule.position != position:
            rule.position = position


def _require_service(session: Session, service_id: int | None) -> None:
    if service_id is not None:
        account_service.get_service(session, service_id=service_id)


# --- the route tester ---------------------------------------------------------------------


def test_route(session: Session, clock: Clock, *, actor: Actor, data: RouteTest) -> RouteTestResult:
    """Where this alert would go right now, decided by the same function ingestion uses;
    writes nothing."""
    integration = find_integration(session, actor=actor, key=data.integration)
    event = _sample_event(integration, data)
    now = clock.now()
    rules = alert_service.rules_of(session, integration.id)
    decided = alert_service.decide(
        integration, event, rules=rules, silences=alert_service.active_silences(session, now)
    )
    chosen, silence, incident = decided.route, decided.silence, decided.incident
    names = {rule.id: rule.name for rule in rules}
    service = session.get(Service, chosen.service_id) if chosen.service_id else None
    window = timedelta(minutes=integration.grouping_window_minutes)
    joining = (
        incident_service.find_open(session, now, grouping_key=incident.grouping_key, window=window)
        if silence is None
        else None
    )
    return RouteTestResult(
        integration=NamedRef(id=integration.id, name=integration.name),
        rule=NamedRef(id=chosen.rule_id, name=chosen.rule_name),
        matched_rules=[NamedRef(id=i, name=names[i]) for i in chosen.matched_rule_ids],
        catch_all=chosen.unrouted_reason is not None and len(chosen.matched_rule_ids) == 1,
        service=NamedRef(id=service.id, name=service.name) if service else None,
        escalation_policy=chosen.escalation_policy,
        incident_severity=incident.severity,
        routed=chosen.routed,
        unrouted_reason=chosen.unrouted_reason,
        suppressed_by=silence.id if silence else None,
        grouping_key=incident.grouping_key,
        would_join_incident=joining.number if joining else None,
        people=None,
    )


def _sample_event(integration: Integration, data: RouteTest) -> InboundEvent:
    if data.alert is not None:
        return _from_sample(data.alert)
    payload = data.payload or {}
    try:
        if integration.kind == IntegrationKind.ALERTMANAGER:
            return mapping.from_alertmanager(AlertmanagerWebhook.model_validate(payload))[0]
        if integration.kind == IntegrationKind.EVENTS_V2:
            event = EventV2.model_validate({"routing_key": "route-test", **payload})
            return mapping.from_event_v2(event)
        if integration.kind == IntegrationKind.GENERIC:
            mapped = generic.events_from_body(
                payload, alert_service.generic_mapping_of(integration)
            )
            return mapped[0]
    except generic.UnmappableBody as exc:
        raise ValidationFailed(f"payload: {exc.detail}", field="payload") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ValidationFailed(
            f"payload is not a valid {integration.kind} body: {where}: {first['msg']}",
            field=f"payload.{where}" if where else "payload",
        ) from None
    raise ValidationFailed(
        f"testing a raw {integration.kind} payload is not supported; give `alert` instead",
        field="payload",
    )


def _from_sample(sample: SampleAlert) -> InboundEvent:
    return InboundEvent(
        action=mapping.AlertAction.TRIGGER,
        dedup_key=sample.dedup_key,
        summary=sample.summary,
        severity=sample.severity,
        source=sample.source,
        labels=dict(sample.labels),
    )
