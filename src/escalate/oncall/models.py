"""On-call schedules and escalation policies as stored. The calculation of who is on call
lives in oncall.calculator (pure); oncall.lookup turns these rows into its input."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from escalate.auth.models import User
from escalate.db import Base, JSONType, UTCDateTime


class Schedule(Base):
    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # IANA name; hand-offs, restrictions and business hours are wall-clock times in it.
    time_zone: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    layers: Mapped[list[ScheduleLayer]] = relationship(
        back_populates="schedule",
        cascade="all, delete-orphan",
        order_by="ScheduleLayer.position",
    )
    overrides: Mapped[list[ScheduleOverride]] = relationship(
        back_populates="schedule",
        cascade="all, delete-orphan",
        order_by="ScheduleOverride.start_at",
    )


class ScheduleLayer(Base):
    """One rotation. Layers are in priority order: a later layer wins where two cover the
    same time (the calculator's rule)."""

    __tablename__ = "schedule_layers"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    name: Mapped[str] = mapped_column(String(100))
    rotation: Mapped[str] = mapped_column(String(10))  # calculator.Rotation
    rotation_hours: Mapped[int | None] = mapped_column()
    # The first hand-off; its wall-clock time in the schedule's zone is every hand-off's.
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # [{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}, ...]
    restrictions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)

    schedule: Mapped[Schedule] = relationship(back_populates="layers")
    members: Mapped[list[ScheduleLayerMember]] = relationship(
        cascade="all, delete-orphan", order_by="ScheduleLayerMember.position"
    )


class ScheduleLayerMember(Base):
    """A participant of a layer, in rotation order (the same user may appear twice)."""

    __tablename__ = "schedule_layer_members"

    id: Mapped[int] = mapped_column(primary_key=True)
    layer_id: Mapped[int] = mapped_column(
        ForeignKey("schedule_layers.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)

    user: Mapped[User] = relationship()


class ScheduleOverride(Base):
    """Person X covers from A to B; wins over every layer."""

    __tablename__ = "schedule_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    start_at: Mapped[datetime] = mapped_column(UTCDateTime)
    end_at: Mapped[datetime] = mapped_column(UTCDateTime)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    schedule: Mapped[Schedule] = relationship(back_populates="overrides")
    user: Mapped[User] = relationship()


class CalendarFeed(Base):
    """A secret iCalendar URL for one schedule or one person's shifts (exactly one of the
    two). Only the token's hash is kept; rotating means a new row and revoking the old."""

    __tablename__ = "calendar_feeds"
    __audit_secret__ = ("token_hash",)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("schedules.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(
            "(schedule_id IS NULL) <> (user_id IS NULL)", name="one_schedule_or_one_user"
        ),
    )


class EscalationPolicy(Base):
    """Ordered steps paged one after another until someone acknowledges. Routing rules
    name a policy (RoutingRule.escalation_policy holds its name)."""

    __tablename__ = "escalation_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # How many more times the whole policy runs after its last step (0: once).
    repeat_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    steps: Mapped[list[EscalationStep]] = relationship(
        back_populates="policy",
        cascade="all, delete-orphan",
        order_by="EscalationStep.position",
    )


class EscalationStep(Base):
    __tablename__ = "escalation_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    policy_id: Mapped[int] = mapped_column(
        ForeignKey("escalation_policies.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column()
    # Wait this long for an acknowledgement before paging the next step (>= 1).
    delay_minutes: Mapped[int] = mapped_column()
    # Also page the customer success manager of every account using the incident's service.
    notify_account_csm: Mapped[bool] = mapped_column(default=False)

    policy: Mapped[EscalationPolicy] = relationship(back_populates="steps")
    targets: Mapped[list[EscalationTarget]] = relationship(
        cascade="all, delete-orphan", order_by="EscalationTarget.id"
    )


class EscalationTarget(Base):
    """A person or a schedule (whoever is on call in it when the step is paged)."""

    __tablename__ = "escalation_targets"

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(
        ForeignKey("escalation_steps.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("schedules.id", ondelete="RESTRICT"), index=True
    )

    user: Mapped[User | None] = relationship()
    schedule: Mapped[Schedule | None] = relationship()

    __table_args__ = (
        CheckConstraint(
            "(user_id IS NULL) <> (schedule_id IS NULL)", name="one_user_or_one_schedule"
        ),
    )


# Names are unique regardless of case (see accounts.models for why in the database).
Index("uq_schedules_lower_name", func.lower(Schedule.name), unique=True)
Index("uq_escalation_policies_lower_name", func.lower(EscalationPolicy.name), unique=True)
