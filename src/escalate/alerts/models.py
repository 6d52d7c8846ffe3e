from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from escalate.accounts.models import Service
from escalate.db import Base, JSONType, UTCDateTime
from escalate.incidents.models import Incident


class IntegrationKind(StrEnum):
    ALERTMANAGER = "alertmanager"
    EVENTS_V2 = "events_v2"
    GENERIC = "generic"
    EMAIL = "email"


class AlertStatus(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Severity(StrEnum):
    """Escalate's own scale (the Events API v2 one); every source is mapped onto it."""

    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class MatchOp(StrEnum):
    """Alertmanager's matcher operators. Regexes are anchored at both ends, as there."""

    EQUAL = "="
    NOT_EQUAL = "!="
    REGEX = "=~"
    NOT_REGEX = "!~"


# Alert fields a matcher can name next to labels; Prometheus label names cannot contain a
# dot, so these never collide with a label.
EVENT_FIELDS = ("event.summary", "event.source", "event.severity", "event.dedup_key")


class AlertAction(StrEnum):
    TRIGGER = "trigger"
    REPEAT = "repeat"
    REOPEN = "reopen"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class Integration(Base):
    """A door for one monitoring tool: its kind, its secret key and its default service."""

    __tablename__ = "integrations"
    __audit_secret__ = ("key_hash",)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[IntegrationKind] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key, shown in lists so people can tell keys apart.
    key_prefix: Mapped[str] = mapped_column(String(16))
    default_service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    key_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Grouping: an alert joins the open incident with its grouping key (its service, plus
    # the values of these labels) if that incident saw an alert within the window.
    grouping_labels: Mapped[list[str]] = mapped_column(JSONType, default=list)
    grouping_window_minutes: Mapped[int] = mapped_column(default=60)
    # A trigger this soon after its key resolved re-opens that alert instead of a new one.
    flap_window_minutes: Mapped[int] = mapped_column(default=10)
    # Resolve the incident when the last of its alerts resolves.
    auto_resolve_incidents: Mapped[bool] = mapped_column(default=True)
    # Alert severity (critical/error/warning/info) to incident severity (SEV1-4).
    severity_map: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    # Where a generic JSON event keeps each field (schemas.GenericMapping); NULL: the default.
    generic_mapping: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # How a mail becomes an alert (schemas.EmailRules); NULL: the default.
    email_rules: Mapped[dict[str, Any] | None] = mapped_column(JSONType)

    default_service: Mapped[Service | None] = relationship()
    routing_rules: Mapped[list[RoutingRule]] = relationship(
        order_by="RoutingRule.position",
        cascade="all, delete-orphan",
        passive_deletes=True,
        back_populates="integration",
    )


class RoutingRule(Base):
    """One step of an integration's ordered routing: if every matcher matches an alert, the
    rule chooses its service, escalation policy and severity, and stops the walk unless
    `continue_matching`. The catch-all is the last rule, always matches and cannot be
    deleted (see alerts.routing)."""

    __tablename__ = "routing_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(
        ForeignKey("integrations.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(200))
    # [{"name": label or event.<field>, "op": "=|!=|=~|!~", "value": ...}], all must match.
    matchers: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), index=True
    )
    escalation_policy: Mapped[str | None] = mapped_column(String(200))
    severity_override: Mapped[str | None] = mapped_column(String(10))
    continue_matching: Mapped[bool] = mapped_column(default=False)
    is_catch_all: Mapped[bool] = mapped_column(default=False)

    integration: Mapped[Integration] = relationship(back_populates="routing_rules")
    service: Mapped[Service | None] = relationship()


class SilenceKind(StrEnum):
    SILENCE = "silence"
    MAINTENANCE = "maintenance"


class Silence(Base):
    """A time window in which matching alerts are stored but marked suppressed and open no
    incident. A maintenance window is the same thing, usually scoped to a service."""

    __tablename__ = "silences"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[SilenceKind] = mapped_column(String(20))
    comment: Mapped[str] = mapped_column(Text)
    matchers: Mapped[list[dict[str, str]]] = mapped_column(JSONType, default=list)
    # When set, only alerts routed to this service match.
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    service: Mapped[Service | None] = relationship()

    __table_args__ = (Index("ix_silences_window", "ends_at", "starts_at"),)


class Alert(Base):
    """One problem a monitoring tool reported, deduplicated by its dedup key while open."""

    __tablename__ = "alerts"
    # High volume, and it keeps its own history (AlertEvent).
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    dedup_key: Mapped[str] = mapped_column(String(255))
    # The dedup key while the alert is open, NULL once resolved: the unique index over
    # (integration_id, open_key) allows one open alert per key (NULLs are distinct on both
    # engines) and is the conflict target of the ingest upsert.
    open_key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[AlertStatus] = mapped_column(String(20))
    severity: Mapped[Severity] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(String(255))
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="SET NULL"))
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="SET NULL"), index=True
    )
    labels: Mapped[dict[str, Any]] = mapped_column(JSONType)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    links: Mapped[list[Any]] = mapped_column(JSONType)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    count: Mapped[int] = mapped_column()
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # False raises the unrouted-alert alarm; unrouted_reason says why.
    routed: Mapped[bool] = mapped_column(default=False)
    unrouted_reason: Mapped[str | None] = mapped_column(Text)
    routing_rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("routing_rules.id", ondelete="SET NULL")
    )
    escalation_policy: Mapped[str | None] = mapped_column(String(200))
    suppressed: Mapped[bool] = mapped_column(default=False)
    silence_id: Mapped[int | None] = mapped_column(ForeignKey("silences.id", ondelete="SET NULL"))
    # Times it was re-opened by a trigger soon after resolving (flapping).
    reopen_count: Mapped[int] = mapped_column(default=0)

    integration: Mapped[Integration] = relationship()
    service: Mapped[Service | None] = relationship()
    incident: Mapped[Incident | None] = relationship()
    routing_rule: Mapped[RoutingRule | None] = relationship()
    silence: Mapped[Silence | None] = relationship()
    events: Mapped[list[AlertEvent]] = relationship(
        order_by="AlertEvent.id", cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        Index("uq_alerts_integration_open_key", "integration_id", "open_key", unique=True),
        Index("ix_alerts_integration_dedup_key", "integration_id", "dedup_key"),
        Index("ix_alerts_dedup_key", "dedup_key"),
        Index("ix_alerts_status_last_seen", "status", "last_seen_at"),
        Index("ix_alerts_service_last_seen", "service_id", "last_seen_at"),
        Index("ix_alerts_last_seen", "last_seen_at"),
        Index("ix_alerts_unrouted", "routed", "status"),
    )


class AlertEvent(Base):
    """One inbound event about an alert. `applied` is false for an event accepted but with
    nothing to act on (a resolve of an alert already resolved, as PagerDuty accepts too);
    such an event for a key never seen has no alert."""

    __tablename__ = "alert_events"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    integration_id: Mapped[int] = mapped_column(ForeignKey("integrations.id", ondelete="CASCADE"))
    dedup_key: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    action: Mapped[AlertAction] = mapped_column(String(20))
    source: Mapped[IntegrationKind] = mapped_column(String(20))
    applied: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        Index("ix_alert_events_alert", "alert_id", "id"),
        Index("ix_alert_events_integration_key", "integration_id", "dedup_key"),
    )


class InboundError(Base):
    """An inbound event that was refused, and why, so integrators can see it."""

    __tablename__ = "inbound_errors"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    integration_id: Mapped[int | None] = mapped_column(
        ForeignKey("integrations.id", ondelete="SET NULL"), index=True
    )
    endpoint: Mapped[str] = mapped_column(String(200))
    status_code: Mapped[int] = mapped_column()
    reason: Mapped[str] = mapped_column(Text)
    body_excerpt: Mapped[str | None] = mapped_column(Text)
    remote_addr: Mapped[str | None] = mapped_column(String(64))


# Names are unique regardless of case (see accounts.models for why in the database).
Index("uq_integrations_lower_name", func.lower(Integration.name), unique=True)
