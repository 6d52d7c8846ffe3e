from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from escalate.db import Base, Percent, UTCDateTime


class Severity(StrEnum):
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"


class SlaPolicy(Base):
    __tablename__ = "sla_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(String(1000))
    uptime_target_percent: Mapped[Decimal] = mapped_column(Percent())
    credit_cap_percent: Mapped[Decimal] = mapped_column(Percent())

    targets: Mapped[list[SlaTarget]] = relationship(
        back_populates="policy", cascade="all, delete-orphan", order_by="SlaTarget.severity"
    )
    credit_tiers: Mapped[list[CreditTier]] = relationship(
        back_populates="policy",
        cascade="all, delete-orphan",
        order_by="CreditTier.below_uptime_percent.desc()",
    )


class SlaTarget(Base):
    """Response targets for one severity, in minutes from the incident's start."""

    __tablename__ = "sla_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("sla_policies.id", ondelete="CASCADE"))
    severity: Mapped[Severity] = mapped_column(String(8))
    acknowledgement_minutes: Mapped[int]
    first_update_minutes: Mapped[int]
    update_interval_minutes: Mapped[int]
    resolution_minutes: Mapped[int]

    policy: Mapped[SlaPolicy] = relationship(back_populates="targets")

    __table_args__ = (UniqueConstraint("policy_id", "severity"),)


class CreditTier(Base):
    """Monthly uptime below `below_uptime_percent` earns `credit_percent` of the month's fee."""

    __tablename__ = "sla_credit_tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("sla_policies.id", ondelete="CASCADE"))
    below_uptime_percent: Mapped[Decimal] = mapped_column(Percent())
    credit_percent: Mapped[Decimal] = mapped_column(Percent())

    policy: Mapped[SlaPolicy] = relationship(back_populates="credit_tiers")

    __table_args__ = (UniqueConstraint("policy_id", "below_uptime_percent"),)


Index("uq_sla_policies_lower_name", func.lower(SlaPolicy.name), unique=True)


class ClockKind(StrEnum):
    ACKNOWLEDGEMENT = "acknowledgement"
    UPDATE = "update"
    RESOLUTION = "resolution"


class SlaClock(Base):
    """One promise of an incident to one affected account: due at `due_at`, met at
    `met_at` (or not yet), breached when it was met late or is overdue. Update clocks come
    in a sequence: number 0 is the first substantive update (the policy's first-update
    target), each later one the longest silence allowed after the previous update."""

    __tablename__ = "sla_clocks"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ClockKind] = mapped_column(String(20))
    sequence: Mapped[int] = mapped_column(default=0)
    target_minutes: Mapped[int] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached: Mapped[bool] = mapped_column(default=False)
    # Minutes past due when met late, or (while open and overdue) when the breach was found.
    late_minutes: Mapped[int | None] = mapped_column()
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("incident_id", "account_id", "kind", "sequence"),
        Index("ix_sla_clocks_open_due", "met_at", "due_at"),
    )
