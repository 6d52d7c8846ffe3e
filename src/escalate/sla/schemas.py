from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    model_validator,
)

from escalate.sla.calculator import ClockStatus
from escalate.sla.models import ClockKind, Severity

Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]


# Stored with four decimals; shown as people write them: "99.9", not "99.9000".
def _plain_percent(value: Decimal) -> str:
    return format(value.normalize(), "f")


PercentOut = Annotated[Decimal, PlainSerializer(_plain_percent, return_type=str, when_used="json")]
Minutes = Annotated[int, Field(gt=0, le=60 * 24 * 365)]


class SlaTargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    severity: Severity
    acknowledgement_minutes: Minutes
    first_update_minutes: Minutes
    update_interval_minutes: Minutes
    resolution_minutes: Minutes


class CreditTierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    below_uptime_percent: Percent
    credit_percent: Percent


class SlaPolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: str | None = None
    uptime_target_percent: Percent
    credit_cap_percent: Percent = Decimal(100)
    targets: list[SlaTargetIn] = Field(min_length=1)
    credit_tiers: list[CreditTierIn] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_target_per_severity(self) -> SlaPolicyCreate:
        severities = [t.severity for t in self.targets]
        if len(severities) != len(set(severities)):
            raise ValueError("targets: each severity may appear once")
        floors = [t.below_uptime_percent for t in self.credit_tiers]
        if len(floors) != len(set(floors)):
            raise ValueError("credit_tiers: each below_uptime_percent may appear once")
        return self


class SlaTargetRead(SlaTargetIn):
    model_config = ConfigDict(from_attributes=True)


class CreditTierRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    below_uptime_percent: PercentOut
    credit_percent: PercentOut


class SlaPolicyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    uptime_target_percent: PercentOut
    credit_cap_percent: PercentOut
    targets: list[SlaTargetRead]
    credit_tiers: list[CreditTierRead]


class SlaClockRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    account_id: int
    account_name: str
    kind: ClockKind
    sequence: int = Field(description="Update clocks: 0 the first update, then each interval.")
    label: str
    target_minutes: int
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    breached: bool
    late_minutes: int | None = Field(
        description="Whole minutes late (rounded up); for an open clock, as of now."
    )
    status: ClockStatus
    minutes_left: int | None = Field(description="Open and not yet due: whole minutes left.")


class SlaClockPage(BaseModel):
    items: list[SlaClockRead]
    total: int
