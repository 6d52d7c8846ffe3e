"""Read shapes of incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from escalate.incidents.models import ImpactLevel, IncidentSeverity, IncidentStatus


class IncidentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: int
    title: str
    customer_title: str | None = Field(
        default=None, description="What customers and the public read (null: the services)."
    )
    severity: IncidentSeverity
    status: IncidentStatus
    service_id: int | None
    escalation_policy: str | None
    grouping_key: str
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    last_alert_at: datetime
    alert_count: int
    reopen_count: int
    started_at: datetime | None
    detected_at: datetime | None
    mitigated_at: datetime | None


Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1024)]
Note = Annotated[str, StringConstraints(strip_whitespace=True, max_length=10_000)]


class AffectedAccountRead(BaseModel):
    account_id: int
    name: str
    derived: bool
    excluded: bool
    impact_start: datetime | None
    impact_end: datetime | None
    impact_level: ImpactLevel
    affected_users: int | None
    business_impact: str | None


class RoleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    role: str
    user_id: int
    assigned_at: datetime
    assigned_by_user_id: int | None
    ended_at: datetime | None


class IncidentDetail(IncidentRead):
    """One incident with its escalation state. `escalation_round` and `escalation_step`
    name the step paged next (0-based); `next_escalation_at` is when, or null when the
    escalation has stopped or ran out of steps."""

    acknowledged_by_user_id: int | None
    resolved_by_user_id: int | None
    escalation_generation: int
    escalation_round: int
    escalation_step: int | None
    next_escalation_at: datetime | None
    description: str | None
    declared_by_user_id: int | None
    first_customer_update_at: datetime | None
    service_ids: list[int] = Field(default_factory=list, description="Affected services.")
    affected_accounts: list[AffectedAccountRead] = Field(default_factory=list)
    roles: list[RoleRead] = Field(default_factory=list, description="Current holders.")
    allowed_statuses: list[IncidentStatus] = Field(default_factory=list)


CustomerTitle = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]


class IncidentDeclare(BaseModel):
    """An incident opened by hand."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1024)]
    customer_title: CustomerTitle | None = Field(
        default=None, description="What customers read (default: the services' names)."
    )
    severity: IncidentSeverity
    service: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = Field(
        default=None, description="The affected service's name or id."
    )
    escalation_policy: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = Field(default=None, description="The policy to page (its name).")
    description: Annotated[str, StringConstraints(max_length=10_000)] | None = None
    started_at: datetime | None = Field(
        default=None, description="When the impact began (default: now)."
    )


class IncidentEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int = Field(description="The event's id, or the alert's for `source` alert lines.")
    source: str = Field(
        default="event",
        description="event (recorded by Escalate), alert (an alert grouped into the "
        "incident, first seen) or alert_resolved (the monitoring tool resolved it).",
    )
    at: datetime
    kind: str
    actor_user_id: int | None
    actor_label: str
    summary: str
    data: dict[str, Any]


class IncidentUpdate(BaseModel):
    """An edit: only the fields sent change."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    customer_title: CustomerTitle | None = Field(
        default=None, description="What customers read; empty or null: the services' names."
    )
    description: Note | None = None
    severity: IncidentSeverity | None = None
    started_at: datetime | None = None
    detected_at: datetime | None = None


class NoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)]


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: IncidentStatus
    note: Note | None = None


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: IncidentStatus = IncidentStatus.INVESTIGATING
    note: Note | None = None


class RoleAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)] = (
        Field(description="The person's e-mail or user id.")
    )


class ServiceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    service: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = Field(
        description="A service's name or id."
    )


class AccountIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = Field(
        description="An account's name or id."
    )


class ImpactEdit(BaseModel):
    """An account's impact: only the fields sent change (null clears)."""

    model_config = ConfigDict(extra="forbid")

    impact_start: datetime | None = None
    impact_end: datetime | None = None
    impact_level: ImpactLevel | None = None
    affected_users: Annotated[int, Field(ge=0, le=2**31 - 1)] | None = None
    business_impact: Annotated[str, StringConstraints(max_length=10_000)] | None = None


class ChecklistItemRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    position: int
    title: str
    check: str | None
    due_at: datetime | None
    done_at: datetime | None
    done_by_user_id: int | None


class ComplianceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    item_id: int
    title: str
    check: str | None
    due_at: datetime | None
    done_at: datetime | None
    done_by_user_id: int | None
    outcome: str
    late_minutes: int | None


class ProtocolItem(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    due_minutes: Annotated[int, Field(ge=0, le=525_600)] | None = None
    check: (
        Literal[
            "commander_assigned",
            "communications_lead_assigned",
            "customers_acknowledged",
            "first_update",
            "update_cadence",
        ]
        | None
    ) = None


class Protocol(BaseModel):
    """A severity's response protocol (the checklist new incidents get)."""

    model_config = ConfigDict(extra="forbid")

    severity: IncidentSeverity | None = None
    items: Annotated[list[ProtocolItem], Field(max_length=100)]
