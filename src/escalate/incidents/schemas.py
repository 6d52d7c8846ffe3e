"""Read shapes of incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from escalate.incidents.models import IncidentSeverity, IncidentStatus


class IncidentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: int
    title: str
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


class IncidentDeclare(BaseModel):
    """An incident opened by hand."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1024)]
    severity: IncidentSeverity
    service: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = Field(
        default=None, description="The affected service's name or id."
    )
    escalation_policy: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
        | None
    ) = Field(default=None, description="The policy to page (its name).")


class IncidentEventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    kind: str
    actor_user_id: int | None
    actor_label: str
    summary: str
    data: dict[str, Any]
