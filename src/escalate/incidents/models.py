from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
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
    """In lifecycle order; which moves are allowed is incidents.lifecycle's rule."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class ImpactLevel(StrEnum):
    OUTAGE = "outage"
    DEGRADED = "degraded"


class Audience(StrEnum):
    """Who sees a status update: responders only, the affected accounts' contacts (and
    their portal), or everyone (the public status page too)."""

    INTERNAL = "internal"
    CUSTOMERS = "customers"
    PUBLIC = "public"


class UpdateKind(StrEnum):
    """Templates. `acknowledgement` says the incident is known (it meets the customer
    acknowledgement clock only); the others are substantive updates."""

    ACKNOWLEDGEMENT = "acknowledgement"
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
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
    # What customers and the public read instead of the working title (which often is an
    # alert's text naming hosts); null: the affected services' names.
    customer_title: Mapped[str | None] = mapped_column(String(300))
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
    description: Mapped[str | None] = mapped_column(Text)
    declared_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # Key times. `started_at` is when the impact began (the SLA clocks' start; it may be
    # before `opened_at`), `detected_at` when monitoring or a person noticed it.
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    detected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_customer_update_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mitigated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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


class IncidentRole(Base):
    """Who holds a role on an incident. A hand-over ends the current holder's row
    (`ended_at`) and starts a new one, so the history stays."""

    __tablename__ = "incident_roles"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    # "commander", "communications_lead", or another name a team uses ("scribe", ...).
    role: Mapped[str] = mapped_column(String(50))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    assigned_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class IncidentService(Base):
    """A service the incident affects (its own `service_id` is the first of them)."""

    __tablename__ = "incident_services"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    service_id: Mapped[int] = mapped_column(
        ForeignKey("services.id", ondelete="CASCADE"), index=True
    )

    __table_args__ = (UniqueConstraint("incident_id", "service_id"),)


class AffectedAccount(Base):
    """An account the incident affects: derived from the accounts using its services, or
    added by hand; `excluded` keeps a derived one a person removed from coming back."""

    __tablename__ = "affected_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    derived: Mapped[bool] = mapped_column(default=True)
    excluded: Mapped[bool] = mapped_column(default=False)
    impact_start: Mapped[datetime | None] = mapped_column(UTCDateTime)
    impact_end: Mapped[datetime | None] = mapped_column(UTCDateTime)
    impact_level: Mapped[ImpactLevel] = mapped_column(String(20), default=ImpactLevel.OUTAGE)
    affected_users: Mapped[int | None] = mapped_column()
    business_impact: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("incident_id", "account_id"),)


class StatusUpdate(Base):
    """One update a responder writes; it reaches its audience (see Audience)."""

    __tablename__ = "status_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[UpdateKind] = mapped_column(String(20))
    # The incident's status the update reports (it may move the incident there).
    status: Mapped[IncidentStatus] = mapped_column(String(20))
    audience: Mapped[Audience] = mapped_column(String(20))
    message: Mapped[str] = mapped_column(Text)
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_status_updates_audience_posted", "audience", "posted_at"),)


class UpdateDelivery(Base):
    """A status update sent to one contact of one affected account (by the outbox)."""

    __tablename__ = "update_deliveries"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    status_update_id: Mapped[int] = mapped_column(
        ForeignKey("status_updates.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    email: Mapped[str] = mapped_column(String(254))
    notification_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("status_update_id", "account_id", "email"),)


class ChecklistTemplateItem(Base):
    """One item of the response protocol of a severity, e.g. SEV1 "commander assigned"
    within 5 minutes. `check` names the rule that ticks it off by itself, if any."""

    __tablename__ = "checklist_template_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    severity: Mapped[IncidentSeverity] = mapped_column(String(10), index=True)
    position: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(300))
    # Due this long after the incident's start; None: no due time.
    due_minutes: Mapped[int | None] = mapped_column()
    # "commander_assigned", "customers_acknowledged", "update_cadence", "executive_informed",
    # ... or None for an item people tick by hand.
    check: Mapped[str | None] = mapped_column(String(50))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ChecklistItem(Base):
    """An item of one incident's checklist, copied from the template when the incident
    opened (editing the template never changes an incident's)."""

    __tablename__ = "checklist_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(300))
    check: Mapped[str | None] = mapped_column(String(50))
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)


class StatusSubscriber(Base):
    """An e-mail subscribed to a status page's public updates, once confirmed by a link."""

    __tablename__ = "status_subscribers"
    __audit_secret__ = ("token_hash",)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_group_id: Mapped[int | None] = mapped_column(
        ForeignKey("service_groups.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    # Confirms, then unsubscribes: the one secret the subscriber's mails carry.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
