from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from escalate.db import Base, Percent


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
