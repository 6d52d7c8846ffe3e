from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from escalate.accounts.models import Service
from escalate.db import Base, UTCDateTime


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

    service: Mapped[Service | None] = relationship()

    __table_args__ = (
        Index("ix_incidents_grouping_open", "grouping_key", "status"),
        Index("ix_incidents_status_opened", "status", "opened_at"),
        Index("ix_incidents_opened", "opened_at"),
    )
