"""Escalation policies in and out. Targets come in as people (e-mail or id) and schedules
(name or id); the service resolves them and names the field of any it cannot find."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reference = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=254)]

MAX_STEPS = 20
MAX_TARGETS = 20
MAX_REPEAT = 9
# A day: an escalation that waits longer than that between steps is a ticket queue.
MAX_DELAY_MINUTES = 1440


class StepIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delay_minutes: int = Field(
        ge=1, le=MAX_DELAY_MINUTES, description="Minutes to wait for an acknowledgement."
    )
    users: list[Reference | int] = Field(
        default_factory=list, max_length=MAX_TARGETS, description="People: e-mail or user id."
    )
    schedules: list[Reference | int] = Field(
        default_factory=list,
        max_length=MAX_TARGETS,
        description="Schedules (whoever is on call then): name or id.",
    )
    notify_account_csm: bool = Field(
        default=False,
        description="Also page the CSM of every account using the incident's service.",
    )

    @model_validator(mode="after")
    def _has_targets(self) -> StepIn:
        if not self.users and not self.schedules and not self.notify_account_csm:
            raise ValueError("users: a step needs at least one person, schedule or the CSM")
        return self


class PolicyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    description: str | None = Field(default=None, max_length=2000)
    repeat_count: int = Field(
        default=0, ge=0, le=MAX_REPEAT, description="Times the whole policy runs again."
    )
    steps: list[StepIn] = Field(min_length=1, max_length=MAX_STEPS)


class PolicyUpdate(BaseModel):
    """A partial update; `steps`, when given, replaces every step."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    description: str | None = Field(default=None, max_length=2000)
    repeat_count: int | None = Field(default=None, ge=0, le=MAX_REPEAT)
    steps: list[StepIn] | None = Field(default=None, min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _no_null(self) -> PolicyUpdate:
        for name in ("name", "repeat_count", "steps"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name}: may not be null; leave it out to keep it")
        return self


class TargetRead(BaseModel):
    type: Literal["user", "schedule"]
    id: int
    name: str


class StepRead(BaseModel):
    position: int
    delay_minutes: int
    notify_account_csm: bool
    targets: list[TargetRead]


class PolicyRead(BaseModel):
    id: int
    name: str
    description: str | None
    repeat_count: int
    steps: list[StepRead]
    created_at: datetime
    updated_at: datetime
