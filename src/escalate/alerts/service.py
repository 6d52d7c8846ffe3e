"""Integrations and their keys, the ingest path, alerts and the inbound-errors log.
Functions flush, never commit; the caller owns the transaction."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, func, insert, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, selectinload

from escalate.accounts import service as account_service
from escalate.alerts import alarm, generic, mail, mapping, routing
from escalate.alerts import snapshot as routing_snapshot
from escalate.alerts.mapping import InboundEvent
from escalate.alerts.models import (
    Alert,
    AlertAction,
    AlertEvent,
    AlertStatus,
    InboundError,
    Integration,
    IntegrationKind,
    RoutingRule,
    Silence,
)
from escalate.alerts.schemas import (
    AlertmanagerWebhook,
    EmailRules,
    EventV2,
    GenericMapping,
    IntegrationCreate,
    IntegrationMapping,
    MappingPreview,
    PreviewEvent,
    PreviewProblem,
    validate_mapping,
)
from escalate.alerts.snapshot import SESSION_KEY as SNAPSHOT
from escalate.alerts.snapshot import RoutingSnapshot
from escalate.auth.permissions import Actor, Permission, authorize
from escalate.clock import Clock
from escalate.db import dialect_insert, find
from escalate.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from escalate.incidents import service as incident_service
from escalate.keys import digest, new_secret
from escalate.pagination import Page, PageParams, paginate
from escalate.prepared import Prepared

KEY_PREFIX = "esc_int_"
EXCERPT_BYTES = 2048
REDACTED = "(redacted)"
CATCH_ALL_NAME = "Catch-all"


def _new_key() -> tuple[str, str, str]:
    """(key, its prefix for lists, its digest)."""
    key = new_secret(KEY_PREFIX)
    return key, key[: len(KEY_PREFIX) + 6], digest(key)


# --- integrations ----------------------------------------------------------------------


def get_integration(session: Session, *, actor: Actor, integration_id: int) -> Integration:
    """Return the integration with this id."""
    authorize(actor, Permission.READ)
    integration = find(session, Integration, integration_id)
    if integration is None:
        raise NotFound(f"integration {integration_id} not found", field="integration_id")
    return integration


def get_integration_by_name(session: Session, *, name: str) -> Integration | None:
    """Return the integration with this name (case-insensitive), if any."""
    return session.scalar(
        select(Integration).where(func.lower(Integration.name) == name.strip().lower())
    )


def list_integrations(session: Session, *, actor: Actor, page: PageParams) -> Page[Integration]:
    """Integrations by name (never their keys)."""
    authorize(actor, Permission.READ)
    return paginate(session, select(Integration).order_by(Integration.name, Integration.id), page)


def create_integration(
    session: Session, clock: Clock, *, actor: Actor, data: IntegrationCreate
) -> tuple[Integration, str]:
    """Create an integration; return it with its key, which is not stored."""
    authorize(actor, Permission.INTEGRATIONS_MANAGE)
    if get_integration_by_name(session, name=data.name) is not None:
        raise Conflict(f"an integration named {data.name!r} already exists", field="name")
    if data.default_service_id is not None:
        account_service.get_service(session, service_id=data.default_service_id)
    key, prefix, digest = _new_key()
    integration = Integration(
        name=data.name,
        kind=data.kind,
        key_hash=digest,
        key_prefix=prefix,
        default_service_id=data.default_service_id,
        created_at=clock.now(),
        is_active=True,
        grouping_labels=[],
        severity_map={},
    )
    session.add(integration)
    session.flush()
    session.add(
        RoutingRule(
            integration_id=integration.id,
            position=0,
            name=CATCH_ALL_NAME,
            matchers=[],
            service_id=data.default_service_id,
            is_catch_all=True,
            continue_matching=False,
        )
    )
    session.flush()
    return integration, key


def rotate_key(
    session: Session, clock: Clock, *, actor: Actor, integration_id: int
) -> tuple[Integration, str]:
    """Give an integration a new key; the old one stops working at once."""
    authorize(actor, Permission.INTEGRATIONS_MANAGE)
    integration = get_integration(session, actor=actor, integration_id=integration_id)
    key, prefix, digest = _new_key()
    integration.key_hash, integration.key_prefix = digest, prefix
    integration.key_rotated_at = clock.now()
    session.flush()
    return integration, key


def find_integration(session: Session, *, actor: Actor, key: str) -> Integration:
    """An integration by name, or by id when none has that name and the key is a number."""
    authorize(actor, Permission.READ)
    integration = get_integration_by_name(session, name=key)
    if integration is not None:
        return integration
    if key.strip().isdigit():
        return get_integration(session, actor=actor, integration_id=int(key))
    raise NotFound(f"no integration named {key!r}", field="integration")


# --- mappings (generic JSON) and rules (e-mail) ----------------------------------------


@dataclass(frozen=True)
class MappingInUse:
    """An integration's mapping as it applies now; `customized` is false for the default."""

    integration: Integration
    mapping: IntegrationMapping
    customized: bool


def get_mapping(session: Session, *, actor: Actor, integration_id: int) -> MappingInUse:
    """The mapping a generic integration uses, or the rules of an e-mail one."""
    integration = _with_mapping(
        get_integration(session, actor=actor, integration_id=integration_id)
    )
    if integration.kind == IntegrationKind.GENERIC:
        own = integration.generic_mapping
        return MappingInUse(integration, generic_mapping_of(integration), own is not None)
    own = integration.email_rules
    return MappingInUse(integration, email_rules_of(integration), own is not None)


def _with_mapping(integration: Integration) -> Integration:
    if integration.kind not in (IntegrationKind.GENERIC, IntegrationKind.EMAIL):
        raise ValidationFailed(
            f"integration {integration.name!r} reads {integration.kind} events, a fixed "
            "format with no mapping",
            field="integration_id",
        )
    return integration


def set_mapping(session: Session, *, actor: Actor, integration_id: int, data: Any) -> MappingInUse:
    """Give a generic integration its mapping, or an e-mail integration its rules, checked
    against the integration's kind (ValidationFailed names the field)."""
    authorize(actor, Permission.INTEGRATIONS_MANAGE)
    integration = _with_mapping(
        get_integration(session, actor=actor, integration_id=integration_id)
    )
    checked = validate_mapping(integration.kind, data)
    stored = checked.model_dump(mode="json")
    if isinstance(checked, GenericMapping):
        integration.generic_mapping = stored
    else:
        integration.email_rules = stored
    session.flush()
    return MappingInUse(integration, checked, customized=True)


def preview_mapping(
    session: Session,
    *,
    actor: Actor,
    integration_id: int,
    sample: Any,
    candidate: GenericMapping | None = None,
) -> MappingPreview:
    """What a sample body becomes under the integration's mapping (or a candidate one),
    event by event, with every problem a real send would be refused for. Writes nothing."""
    authorize(actor, Permission.INTEGRATIONS_MANAGE)
    integration = get_integration(session, actor=actor, integration_id=integration_id)
    if integration.kind != IntegrationKind.GENERIC:
        raise ValidationFailed(
            f"integration {integration.name!r} reads {integration.kind} events; only generic "
            "integrations have a mapping to preview",
            field="integration_id",
        )
    used = candidate or generic_mapping_of(integration)
    mapped = generic.map_body(sample, used)
    return MappingPreview(
        mapping=used,
        events=[_previewed(item) for item in mapped.events],
        errors=[_preview_problem(p) for p in mapped.all_problems()],
    )


def _previewed(item: generic.MappedEvent) -> PreviewEvent:
    event = item.event
    if event is None:
        return PreviewEvent(index=item.index, errors=[_preview_problem(p) for p in item.problems])
    return PreviewEvent(
        index=item.index,
        title=event.summary,
        severity=event.severity,
        dedup_key=event.dedup_key,
        action=event.action.value,
        source=event.source,
        labels=event.labels,
        details=event.details,
    )


def _preview_problem(problem: generic.Problem) -> PreviewProblem:
    return PreviewProblem(field=problem.field, message=problem.message)


def generic_mapping_of(integration: Integration) -> GenericMapping:
    """The mapping a generic integration uses: its own, or the default."""
    if integration.generic_mapping is None:
        return GenericMapping()
    return GenericMapping.model_validate(integration.generic_mapping)


def email_rules_of(integration: Integration) -> EmailRules:
    """The rules an e-mail integration uses: its own, or the default."""
    if integration.email_rules is None:
        return EmailRules()
    return EmailRules.model_validate(integration.email_rules)


def authenticate_integration(session: Session, *, key: str) -> Integration:
    """Return the active integration with this key, or raise NotAuthenticated."""
    integration = session.scalar(select(Integration).where(Integration.key_hash == digest(key)))
    if integration is None or not integration.is_active:
        raise NotAuthenticated("unknown or disabled integration key", field="key")
    return integration


# --- ingest ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What one inbound event did: the alert it acted on (None for a key never seen), the
    action recorded, and whether it changed anything."""

    dedup_key: str
    alert_id: int | None
    action: AlertAction
    applied: bool


def ingest_events(
    session: Session, clock: Clock, *, integration: Integration, events: Sequence[InboundEvent]
) -> list[Outcome]:
    """Store inbound events of any format (see mapping.InboundEvent), in order. Every
    door (Alertmanager, Events v2, generic JSON, email) ends here."""
    return [_apply(session, clock, integration, event) for event in events]


def ingest_alertmanager(
    session: Session, clock: Clock, *, integration: Integration, payload: AlertmanagerWebhook
) -> list[Outcome]:
    """Store an Alertmanager group: each alert triggered, repeated or resolved."""
    return ingest_events(
        session, clock, integration=integration, events=mapping.from_alertmanager(payload)
    )


def ingest_event_v2(
    session: Session, clock: Clock, *, integration: Integration, event: EventV2
) -> Outcome:
    """Store a PagerDuty Events API v2 event; the outcome carries the dedup key."""
    [outcome] = ingest_events(
        session, clock, integration=integration, events=[mapping.from_event_v2(event)]
    )
    return outcome


def ingest_generic(
    session: Session, clock: Clock, *, integration: Integration, document: Any
) -> list[Outcome]:
    """Store the events of a generic JSON body, read by the integration's mapping; a body
    with any problem stores nothing (generic.UnmappableBody names every problem)."""
    events = generic.events_from_body(document, generic_mapping_of(integration))
    return ingest_events(session, clock, integration=integration, events=events)


def ingest_mail(
    session: Session,
    clock: Clock,
    *,
    integration: Integration,
    message: EmailMessage,
    envelope_from: str | None,
) -> Outcome:
    """Store a mail as an alert event by the integration's rules (mail.UnreadableMessage
    when its headers cannot be read)."""
    event = mail.event_from_message(
        message, email_rules_of(integration), envelope_from=envelope_from
    )
    [outcome] = ingest_events(session, clock, integration=integration, events=[event])
    return outcome


def _apply(
    session: Session, clock: Clock, integration: Integration, event: InboundEvent
) -> Outcome:
    now = clock.now()
    if event.action == AlertAction.TRIGGER:
        outcome = _trigger(session, clock, integration, event)
    elif event.action == AlertAction.ACKNOWLEDGE:
        outcome = _acknowledge(session, now, integration, event.dedup_key)
    else:
        outcome = _resolve(session, now, integration, event.dedup_key)
    _EVENT_INSERT.run(
        session,
        {
            "alert_id": outcome.alert_id,
            "integration_id": integration.id,
            "dedup_key": event.dedup_key,
            "at": now,
            "action": outcome.action,
            "source": integration.kind,
            "applied": outcome.applied,
        },
    )
    return outcome


def _trigger(
    session: Session, clock: Clock, integration: Integration, event: InboundEvent
) -> Outcome:
    """A repeat of an open alert costs one statement; only a new alert is routed, checked
    against silences and grouped."""
    now = clock.now()
    alert_id, created = _upsert_open_alert(session, now, integration, event)
    if not created:
        return Outcome(event.dedup_key, alert_id, AlertAction.REPEAT, applied=True)
    reopened = _reopen_if_flapping(session, now, integration, event, new_alert_id=alert_id)
    if reopened is not None:
        alert_id, previous_incident = reopened
        _place(session, clock, integration, event, alert_id, reopening=previous_incident)
        return Outcome(event.dedup_key, alert_id, AlertAction.REOPEN, applied=True)
    _place(session, clock, integration, event, alert_id)
    return Outcome(event.dedup_key, alert_id, AlertAction.TRIGGER, applied=True)


# The hot statements are built once and run with parameters: building one per event (ORM
# .values() coercion, the upsert's `excluded` columns, a fresh cache key) cost several
# times more than running it, and running it through SQLAlchemy several times more than
# the driver does (see escalate.prepared).
_EVENT_INSERT = Prepared(insert(cast(Table, AlertEvent.__table__)))
_LATEST = ("severity", "summary", "source", "labels", "details", "links", "payload")


@functools.cache
def _upsert_statement(dialect: str) -> Prepared:
    """INSERT a new open alert, or count + 1 on the open one with its key."""
    table = cast(Table, Alert.__table__)
    stmt = dialect_insert(dialect)(table)
    # A repeat shows the latest content; status, first sight, route and history stay.
    stmt = stmt.on_conflict_do_update(
        index_elements=["integration_id", "open_key"],
        set_={
            "count": table.c.count + 1,
            "last_seen_at": stmt.excluded.last_seen_at,
            **{name: stmt.excluded[name] for name in _LATEST},
        },
    )
    return Prepared(stmt.returning(table.c.id, table.c.count))


def _upsert_open_alert(
    session: Session, now: datetime, integration: Integration, event: InboundEvent
) -> tuple[int, bool]:
    """One statement: a new open alert, or count + 1 on the open one with this key (the
    unique index settles concurrent triggers). Returns (alert id, whether it is new)."""
    values: dict[str, Any] = {
        "integration_id": integration.id,
        "dedup_key": event.dedup_key,
        "open_key": event.dedup_key,
        "status": AlertStatus.TRIGGERED,
        "severity": event.severity,
        "summary": event.summary,
        "source": event.source,
        "service_id": integration.default_service_id,
        "labels": event.labels,
        "details": event.details,
        "links": event.links,
        "payload": event.payload,
        "count": 1,
        "first_seen_at": now,
        "last_seen_at": now,
        "routed": False,
        "suppressed": False,
        "reopen_count": 0,
    }
    statement = _upsert_statement(session.get_bind().dialect.name)
    alert_id, count = statement.one(session, values)
    return alert_id, count == 1


_ALERTS = cast(Table, Alert.__table__)
_FLAPPED = Prepared(
    select(_ALERTS.c.id, _ALERTS.c.incident_id)
    .where(
        _ALERTS.c.integration_id == bindparam("integration_id"),
        _ALERTS.c.dedup_key == bindparam("dedup_key"),
        _ALERTS.c.status == AlertStatus.RESOLVED.value,
        _ALERTS.c.resolved_at >= bindparam("since"),
    )
    .order_by(_ALERTS.c.id.desc())
    .limit(1)
)


def _reopen_if_flapping(
    session: Session,
    now: datetime,
    integration: Integration,
    event: InboundEvent,
    *,
    new_alert_id: int,
) -> tuple[int, int | None] | None:
    """A trigger soon after its key resolved is the same problem flapping: re-open that
    alert instead of keeping the new one. Returns the re-opened alert's id and its last
    incident; the caller places it again (routes and silences may have changed since)."""
    if integration.flap_window_minutes <= 0:
        return None
    previous = _FLAPPED.first(
        session,
        {
            "integration_id": integration.id,
            "dedup_key": event.dedup_key,
            "since": now - timedelta(minutes=integration.flap_window_minutes),
        },
    )
    if previous is None:
        return None
    previous_id, previous_incident_id = previous
    # The new row holds the open key; free it before the old alert takes it back.
    session.execute(delete(Alert).where(Alert.id == new_alert_id))
    session.execute(
        update(Alert)
        .where(Alert.id == previous_id)
        .values(
            open_key=event.dedup_key,
            status=AlertStatus.TRIGGERED,
            acknowledged_at=None,
            resolved_at=None,
            count=Alert.count + 1,
            last_seen_at=now,
            reopen_count=Alert.reopen_count + 1,
            severity=event.severity,
            summary=event.summary,
            source=event.source,
            labels=event.labels,
            details=event.details,
            links=event.links,
            payload=event.payload,
        )
        .execution_options(synchronize_session=False)
    )
    return int(previous_id), previous_incident_id


_PLACED = (
    "service_id",
    "routing_rule_id",
    "escalation_policy",
    "routed",
    "unrouted_reason",
    "suppressed",
    "silence_id",
    "incident_id",
)
_PLACE_ALERT = Prepared(
    update(_ALERTS)
    .where(_ALERTS.c.id == bindparam("alert_id"))
    .values({name: bindparam(name) for name in _PLACED})
)


@dataclass(frozen=True)
class Placement:
    """Where a new alert goes: its route, the silence covering it (if any), and what its
    incident would be. Ingestion and the route tester both decide it here."""

    route: routing.Route
    silence: Silence | None
    incident: incident_service.NewAlert


def decide(
    integration: Integration,
    event: InboundEvent,
    *,
    rules: Sequence[RoutingRule],
    silences: Sequence[Silence],
) -> Placement:
    """Route the alert, find a silence covering it, and describe the incident it joins or
    opens; no database access (the caller passes the rules and the active silences)."""
    subject = routing.subject_of(event)
    chosen = routing.route(rules, subject)
    return Placement(
        route=chosen,
        silence=routing.covering_silence(silences, subject, chosen.service_id),
        incident=incident_service.NewAlert(
            title=event.summary or event.dedup_key,
            severity=routing.incident_severity(
                event.severity, integration.severity_map or {}, chosen.severity_override
            ),
            service_id=chosen.service_id,
            escalation_policy=chosen.escalation_policy,
            grouping_key=routing.grouping_key(
                chosen.service_id, integration.grouping_labels or [], subject
            ),
        ),
    )


def _place(
    session: Session,
    clock: Clock,
    integration: Integration,
    event: InboundEvent,
    alert_id: int,
    *,
    reopening: int | None = None,
) -> None:
    """Route a new (or re-opened) alert, check it against silences, and group it into an
    incident; an unrouted one raises the alarm. `reopening` is the incident a re-opened
    alert had, which it goes back to when that is still its group's."""
    now = clock.now()
    decided = decide(
        integration,
        event,
        rules=_rules_in_transaction(session, integration.id),
        silences=_silences_in_transaction(session, now),
    )
    chosen, silence = decided.route, decided.silence
    # A silenced alert opens nothing; a re-opened one keeps the link to its old incident.
    incident_id = reopening
    if silence is None:
        window = timedelta(minutes=integration.grouping_window_minutes)
        if reopening is None:
            incident_id = incident_service.join_or_open(
                session, now, decided.incident, window=window
            )
        else:
            incident_id = incident_service.rejoin(
                session, now, decided.incident, window=window, previous_id=reopening
            )
    _PLACE_ALERT.run(
        session,
        {
            "alert_id": alert_id,
            "service_id": chosen.service_id,
            "routing_rule_id": chosen.rule_id,
            "escalation_policy": chosen.escalation_policy,
            "routed": chosen.routed,
            "unrouted_reason": chosen.unrouted_reason,
            "suppressed": silence is not None,
            "silence_id": silence.id if silence is not None else None,
            "incident_id": incident_id,
        },
    )
    if not chosen.routed and silence is None:
        alarm.raise_unrouted(session, clock, alert_id=alert_id)


def _acknowledge(session: Session, now: datetime, integration: Integration, key: str) -> Outcome:
    row = session.execute(
        update(Alert)
        .where(
            Alert.integration_id == integration.id,
            Alert.open_key == key,
            Alert.status == AlertStatus.TRIGGERED,
        )
        .values(status=AlertStatus.ACKNOWLEDGED, acknowledged_at=now)
        .returning(Alert.id, Alert.incident_id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        alert_id = _latest_alert_id(session, integration, key)
        return Outcome(key, alert_id, AlertAction.ACKNOWLEDGE, applied=False)
    if row.incident_id is not None:
        incident_service.alert_acknowledged(session, now, row.incident_id)
    return Outcome(key, row.id, AlertAction.ACKNOWLEDGE, applied=True)


def _resolve(session: Session, now: datetime, integration: Integration, key: str) -> Outcome:
    row = session.execute(
        update(Alert)
        .where(Alert.integration_id == integration.id, Alert.open_key == key)
        .values(status=AlertStatus.RESOLVED, resolved_at=now, open_key=None)
        .returning(Alert.id, Alert.incident_id)
        .execution_options(synchronize_session=False)
    ).one_or_none()
    if row is None:
        alert_id = _latest_alert_id(session, integration, key)
        return Outcome(key, alert_id, AlertAction.RESOLVE, applied=False)
    if row.incident_id is not None and integration.auto_resolve_incidents:
        # Counted under the incidents lock: two last alerts resolving at once in two
        # transactions would each see the other open, and the incident would stay open.
        incident_service.lock_incidents(session)
        still_open = session.scalar(
            select(func.count())
            .select_from(Alert)
            .where(Alert.incident_id == row.incident_id, Alert.open_key.is_not(None))
        )
        incident_service.resolve_if_all_resolved(
            session, now, row.incident_id, open_alerts=still_open or 0
        )
    return Outcome(key, row.id, AlertAction.RESOLVE, applied=True)


def _latest_alert_id(session: Session, integration: Integration, key: str) -> int | None:
    """The alert an event without effect is recorded against: the newest with its key."""
    return session.scalar(
        select(Alert.id)
        .where(Alert.integration_id == integration.id, Alert.dedup_key == key)
        .order_by(Alert.id.desc())
        .limit(1)
    )


def rules_of(session: Session, integration_id: int) -> list[RoutingRule]:
    """An integration's rules in order, the catch-all last."""
    return routing_snapshot.read_rules(session, integration_id)


def active_silences(session: Session, now: datetime) -> list[Silence]:
    """Silences and maintenance windows whose window includes now."""
    return routing_snapshot.in_window(routing_snapshot.read_silences_not_ended(session, now), now)


# The committer applies many requests in one transaction: within it the rules and silences
# cannot change under the ingest path, so each is read once per transaction, not per alert;
# and its transactions keep them from one to the next while they do not change
# (alerts.snapshot, in session.info).
_RULES_SEEN = "escalate_rules_by_integration"
_SILENCES_SEEN = "escalate_silences_not_ended"


def _rules_in_transaction(session: Session, integration_id: int) -> list[RoutingRule]:
    snapshot: RoutingSnapshot | None = session.info.get(SNAPSHOT)
    if snapshot is not None:
        return snapshot.rules(session, integration_id)
    seen: dict[int, list[RoutingRule]] = session.info.setdefault(_RULES_SEEN, {})
    if integration_id not in seen:
        seen[integration_id] = rules_of(session, integration_id)
    return seen[integration_id]


def _silences_in_transaction(session: Session, now: datetime) -> list[Silence]:
    snapshot: RoutingSnapshot | None = session.info.get(SNAPSHOT)
    if snapshot is not None:
        return snapshot.silences(session, now)
    seen: tuple[datetime, list[Silence]] | None = session.info.get(_SILENCES_SEEN)
    if seen is None or now < seen[0]:
        seen = (now, routing_snapshot.read_silences_not_ended(session, now))
        session.info[_SILENCES_SEEN] = seen
    return routing_snapshot.in_window(seen[1], now)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_transaction_reads(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(_RULES_SEEN, None)
        session.info.pop(_SILENCES_SEEN, None)


# --- alerts ----------------------------------------------------------------------------


def list_alerts(
    session: Session,
    *,
    actor: Actor,
    page: PageParams,
    dedup_key: str | None = None,
    status: AlertStatus | None = None,
    service: str | None = None,
    integration_id: int | None = None,
    incident_id: int | None = None,
    routed: bool | None = None,
    suppressed: bool | None = None,
    open_only: bool = False,
) -> Page[Alert]:
    """Alerts, most recently seen first; `service` is a service's name or id. Their
    integration, service and incident come loaded: the alerts page shows all three on
    every row and re-reads the list every few seconds."""
    authorize(actor, Permission.READ)
    stmt = select(Alert).order_by(Alert.last_seen_at.desc(), Alert.id.desc())
    stmt = stmt.options(
        selectinload(Alert.integration), selectinload(Alert.service), selectinload(Alert.incident)
    )
    if dedup_key is not None:
        stmt = stmt.where(Alert.dedup_key == dedup_key)
    if status is not None:
        stmt = stmt.where(Alert.status == status)
    if service is not None:
        stmt = stmt.where(Alert.service_id == account_service.service_id_for(session, service))
    if integration_id is not None:
        stmt = stmt.where(Alert.integration_id == integration_id)
    if incident_id is not None:
        stmt = stmt.where(Alert.incident_id == incident_id)
    if routed is not None:
        stmt = stmt.where(Alert.routed.is_(routed))
    if suppressed is not None:
        stmt = stmt.where(Alert.suppressed.is_(suppressed))
    if open_only:
        stmt = stmt.where(Alert.open_key.is_not(None))  # triggered or acknowledged
    return paginate(session, stmt, page)


def get_alert(session: Session, *, actor: Actor, alert_id: int) -> Alert:
    """Return one alert with its history."""
    authorize(actor, Permission.READ)
    alert = find(session, Alert, alert_id, options=[selectinload(Alert.events)])
    if alert is None:
        raise NotFound(f"alert {alert_id} not found", field="alert_id")
    return alert


# --- inbound errors --------------------------------------------------------------------


def excerpt(body: bytes, *, hide: tuple[str, ...] = ()) -> str:
    """The start of a refused body, for people to read, with secrets in it blanked."""
    text = body[:EXCERPT_BYTES].decode("utf-8", errors="replace")
    for secret in hide:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


def record_inbound_error(
    session: Session,
    clock: Clock,
    *,
    endpoint: str,
    status_code: int,
    reason: str,
    body: bytes = b"",
    integration_id: int | None = None,
    remote_addr: str | None = None,
    hide: tuple[str, ...] = (),
) -> InboundError:
    """Note a refused inbound event. Call it in a transaction of its own: the refused
    request's is rolled back."""
    error = InboundError(
        at=clock.now(),
        integration_id=integration_id,
        endpoint=endpoint[:200],
        status_code=status_code,
        reason=reason[:4000],
        body_excerpt=excerpt(body, hide=hide) if body else None,
        remote_addr=remote_addr,
    )
    session.add(error)
    session.flush()
    return error


def integration_id_for_key(session: Session, *, key: str) -> int | None:
    """The id of the integration with this key, if any (to file an error under it)."""
    return session.scalar(select(Integration.id).where(Integration.key_hash == digest(key)))


def list_inbound_errors(
    session: Session, *, actor: Actor, page: PageParams, integration_id: int | None = None
) -> Page[InboundError]:
    """Refused inbound events, newest first."""
    authorize(actor, Permission.INTEGRATIONS_MANAGE)
    stmt = select(InboundError).order_by(InboundError.id.desc())
    if integration_id is not None:
        stmt = stmt.where(InboundError.integration_id == integration_id)
    return paginate(session, stmt, page)
