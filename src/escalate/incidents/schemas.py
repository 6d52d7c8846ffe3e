"""Read shapes of incidents."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

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
