from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, Index, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from escalate.auth.models import User
from escalate.db import Base, Money, UTCDateTime
from escalate.sla.models import SlaPolicy


class Tier(StrEnum):
    ENTERPRISE = "enterprise"
    BUSINESS = "business"
    STANDARD = "standard"


class Health(StrEnum):
    CRITICAL = "critical"
    AT_RISK = "at_risk"
    NEUTRAL = "neutral"
    HEALTHY = "healthy"


class Environment(StrEnum):
    PRODUCTION = "production"
    STAGING = "staging"
    DEVELOPMENT = "development"


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    tier: Mapped[Tier] = mapped_column(String(20), index=True)
    timezone: Mapped[str] = mapped_column(String(64))
    health: Mapped[Health] = mapped_column(String(20), index=True)
    csm_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    csm: Mapped[User | None] = relationship()
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="Contact.name"
    )
    contracts: Mapped[list[Contract]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="Contract.term_start"
    )
    service_usages: Mapped[list[ServiceUsage]] = relationship(
        back_populates="account", cascade="all, delete-orphan"
    )
    health_changes: Mapped[list[HealthChange]] = relationship(
        back_populates="account",
        cascade="all, delete-orphan",
        order_by="HealthChange.changed_at.desc()",
    )


class HealthChange(Base):
    __tablename__ = "account_health_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    from_health: Mapped[Health | None] = mapped_column(String(20))
    to_health: Mapped[Health] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    changed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )

    account: Mapped[Account] = relationship(back_populates="health_changes")
    changed_by: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_account_health_changes_account", "account_id", "changed_at"),)


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    role: Mapped[str | None] = mapped_column(String(200))
    receives_incident_notifications: Mapped[bool] = mapped_column(default=False)

    account: Mapped[Account] = relationship(back_populates="contacts")

    __table_args__ = (UniqueConstraint("account_id", "email"),)


class Service(Base):
    """Something the vendor runs, e.g. "Production API"."""

    __tablename__ = "services"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    description: Mapped[str | None] = mapped_column(Text)

    usages: Mapped[list[ServiceUsage]] = relationship(back_populates="service")


class ServiceGroup(Base):
    """Services shown together on one public status page (`/status/<slug>`)."""

    __tablename__ = "service_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(default=True)
    position: Mapped[int] = mapped_column(default=0)

    members: Mapped[list[ServiceGroupMember]] = relationship(
        cascade="all, delete-orphan", order_by="ServiceGroupMember.position"
    )


class ServiceGroupMember(Base):
    __tablename__ = "service_group_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("service_groups.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)

    service: Mapped[Service] = relationship()

    __table_args__ = (UniqueConstraint("group_id", "service_id"),)


class ServiceUsage(Base):
    """An account uses a service in one environment."""

    __tablename__ = "service_usages"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )
    environment: Mapped[Environment] = mapped_column(String(20))

    account: Mapped[Account] = relationship(back_populates="service_usages")
    service: Mapped[Service] = relationship(back_populates="usages")

    __table_args__ = (UniqueConstraint("account_id", "service_id", "environment"),)


class Contract(Base):
    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    sla_policy_id: Mapped[int] = mapped_column(ForeignKey("sla_policies.id"), index=True)
    term_start: Mapped[date] = mapped_column(Date)
    term_end: Mapped[date] = mapped_column(Date)
    renewal_date: Mapped[date | None] = mapped_column(Date)
    monthly_fee: Mapped[Decimal] = mapped_column(Money())
    currency: Mapped[str] = mapped_column(String(3))

    account: Mapped[Account] = relationship(back_populates="contracts")
    sla_policy: Mapped[SlaPolicy] = relationship()


# Names and e-mails are unique regardless of case, as people compare them; the database
# enforces it, so two requests racing past the services' checks cannot both win.
Index("uq_accounts_lower_name", func.lower(Account.name), unique=True)
Index("uq_services_lower_name", func.lower(Service.name), unique=True)
Index("uq_contacts_account_lower_email", Contact.account_id, func.lower(Contact.email), unique=True)
