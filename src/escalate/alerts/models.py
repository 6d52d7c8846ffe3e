from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from escalate.accounts.models import Service
from escalate.db import Base, JSONType, UTCDateTime


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


class AlertAction(StrEnum):
    TRIGGER = "trigger"
    REPEAT = "repeat"
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

    default_service: Mapped[Service | None] = relationship()


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
    # Incidents come with the grouping step; a plain id until their table exists.
    incident_id: Mapped[int | None] = mapped_column(BigInteger)
    labels: Mapped[dict[str, Any]] = mapped_column(JSONType)
    details: Mapped[dict[str, Any]] = mapped_column(JSONType)
    links: Mapped[list[Any]] = mapped_column(JSONType)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    count: Mapped[int] = mapped_column()
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    routed: Mapped[bool] = mapped_column(default=False)
    suppressed: Mapped[bool] = mapped_column(default=False)

    integration: Mapped[Integration] = relationship()
    service: Mapped[Service | None] = relationship()
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
