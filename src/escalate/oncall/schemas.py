"""Schedules in and out: what the API, the pages and the CLI send and get back."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from escalate.ids import Id
from escalate.oncall.calculator import Rotation

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
LayerName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
ZoneName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=254)]
# A participant is named by user id or by e-mail address.
UserRef = Id | Email

MAX_LAYERS = 20
MAX_PARTICIPANTS = 100
MAX_RESTRICTIONS = 50


class RestrictionIn(BaseModel):
    """A weekly window in the schedule's time zone, e.g. Monday-Friday 09:00-17:00."""

    model_config = ConfigDict(extra="forbid")

    weekdays: Annotated[list[Annotated[int, Field(ge=0, le=6)]], Field(max_length=7)]
    start: time
    end: time


class LayerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: LayerName
    rotation: Rotation
    # Only for rotation "hours": the length of each shift.
    rotation_hours: Annotated[int, Field(ge=1, le=24 * 7 * 8)] | None = None
    # The first hand-off; its wall-clock time in the schedule's zone is every hand-off's.
    start_at: AwareDatetime
    end_at: AwareDatetime | None = None
    participants: Annotated[list[UserRef], Field(max_length=MAX_PARTICIPANTS)]
    restrictions: Annotated[list[RestrictionIn], Field(max_length=MAX_RESTRICTIONS)] = []


class ScheduleIn(BaseModel):
    """A whole schedule: create, or replace (PUT) with its layers in priority order."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description | None = None
    time_zone: ZoneName
    layers: Annotated[list[LayerIn], Field(max_length=MAX_LAYERS)] = []


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: UserRef
    start_at: AwareDatetime
    end_at: AwareDatetime
    note: Description | None = None


# --- out ------------------------------------------------------------------------------------


class UserBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str


class RestrictionRead(BaseModel):
    weekdays: list[int]
    start: str
    end: str


class LayerRead(BaseModel):
    id: int
    name: str
    rotation: Rotation
    rotation_hours: int | None
    start_at: datetime
    end_at: datetime | None
    participants: list[UserBrief]
    restrictions: list[RestrictionRead]


class OverrideRead(BaseModel):
    id: int
    user: UserBrief
    start_at: datetime
    end_at: datetime
    note: str | None


class ScheduleSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str | None
    time_zone: str


class ScheduleRead(ScheduleSummary):
    created_at: datetime
    updated_at: datetime
    layers: list[LayerRead]
    overrides: list[OverrideRead]


class SchedulePage(BaseModel):
    items: list[ScheduleSummary]
    total: int


class OnCallRead(BaseModel):
    """Who is on call at `at`; `user` is null in a gap (and so are the shift's bounds)."""

    schedule_id: int
    at: datetime
    user: UserBrief | None
    start: datetime | None
    end: datetime | None
    source: str | None


class ShiftRead(BaseModel):
    user: UserBrief
    start: datetime
    end: datetime
    # "layer:<name>" or "override".
    source: str


class GapRead(BaseModel):
    start: datetime
    end: datetime


class TimelineRead(BaseModel):
    schedule_id: int
    start: datetime
    end: datetime
    shifts: list[ShiftRead]
    gaps: list[GapRead]


class GapsRead(BaseModel):
    schedule_id: int
    start: datetime
    end: datetime
    gaps: list[GapRead]


class FairnessRow(BaseModel):
    user: UserBrief
    hours: float
    off_hours: float


class FairnessRead(BaseModel):
    schedule_id: int
    start: datetime
    end: datetime
    items: list[FairnessRow]


class MyShiftRead(BaseModel):
    schedule_id: int
    schedule_name: str
    start: datetime
    end: datetime
    source: str


class MyShiftsRead(BaseModel):
    user_id: int
    start: datetime
    end: datetime
    items: list[MyShiftRead]


class CoverageWarning(BaseModel):
    schedule_id: int
    schedule_name: str
    # A gap in a schedule a policy pages is an unanswered page; elsewhere only untidy.
    used_by_policy: bool
    gaps: list[GapRead]


class CoverageRead(BaseModel):
    start: datetime
    end: datetime
    items: list[CoverageWarning]


class CalendarFeedCreated(BaseModel):
    """The secret feed URL, shown once: only its hash is kept."""

    id: int
    url: str
    token: str
