from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from escalate.accounts.models import Service
from escalate.db import Base, JSONType, UTCDateTime


class IncidentSeverity(StrEnum):
    """The contract scale: SLA targets are set per SEV (see sla.models)."""

    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"

    @property
    def rank(self) -> int:
        """1 for SEV1 (worst) to 4; lower is more severe."""
        return int(self.value[-1])


class IncidentStatus(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Counter(Base):
    """Named sequences that work the same on both engines: an UPDATE ... RETURNING on the
    row serialises concurrent takers, so incident numbers never repeat or skip."""

    __tablename__ = "counters"
    __audited__ = False

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[int] = mapped_column()


class Incident(Base):
    """A problem people respond to. Alerts are grouped into it (see alerts.grouping); its
    number is what people say out loud ("incident 42")."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(unique=True)
    title: Mapped[str] = mapped_column(Text)
    severity: Mapped[IncidentSeverity] = mapped_column(String(10))
    status: Mapped[IncidentStatus] = mapped_column(String(20))
    service_id: Mapped[int | None] = mapped_column(
        ForeignKey("services.id", ondelete="SET NULL"), index=True
    )
    # Alerts with the same grouping key join this incident while it is open.
    grouping_key: Mapped[str] = mapped_column(String(512))
    # Recorded from the route; paging it is the on-call domain's job.
    escalation_policy: Mapped[str | None] = mapped_column(String(200))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_alert_at: Mapped[datetime] = mapped_column(UTCDateTime)
    alert_count: Mapped[int] = mapped_column(default=0)
    reopen_count: Mapped[int] = mapped_column(default=0)
    acknowledged_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    resolved_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # The escalation in flight. `escalation_plan` is the policy copied when the incident
    # was triggered (editing the policy never changes it); every (re)start, acknowledge
    # and resolve bumps `escalation_generation`, so a timer queued under an older one is
    # stale and does nothing.
    escalation_plan: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    escalation_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    escalation_round: Mapped[int] = mapped_column(default=0, server_default="0")
    escalation_step: Mapped[int | None] = mapped_column()
    next_escalation_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    service: Mapped[Service | None] = relationship()

    __table_args__ = (
        Index("ix_incidents_grouping_open", "grouping_key", "status"),
        Index("ix_incidents_status_opened", "status", "opened_at"),
        Index("ix_incidents_opened", "opened_at"),
    )


class IncidentEvent(Base):
    """One line of an incident's timeline: what happened, when, and who did it (a person,
    or the system with `actor_label` saying which part). `internal` lines are never shown
    to customers."""

    __tablename__ = "incident_events"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # "triggered", "paged", "notification", "acknowledged", "resolved", "escalated", ...
    kind: Mapped[str] = mapped_column(String(40))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    internal: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (Index("ix_incident_events_incident_at", "incident_id", "at"),)
