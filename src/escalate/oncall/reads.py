"""The answers of the schedule service in the API's shapes, shared by the API and the
CLI's --json so the two never drift apart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from escalate.oncall.models import ScheduleOverride
from escalate.oncall.schedules import Coverage, Fairness, MyShift, OnCall, ShiftView
from escalate.oncall.schemas import (
    CoverageRead,
    CoverageWarning,
    FairnessRead,
    FairnessRow,
    GapRead,
    GapsRead,
    MyShiftRead,
    MyShiftsRead,
    OnCallRead,
    OverrideRead,
    ShiftRead,
    TimelineRead,
    UserBrief,
)

Gaps = Sequence[tuple[datetime, datetime]]


def gap_reads(holes: Gaps) -> list[GapRead]:
    return [GapRead(start=start, end=end) for start, end in holes]


def on_call_read(schedule_id: int, answer: OnCall) -> OnCallRead:
    shift = answer.shift
    return OnCallRead(
        schedule_id=schedule_id,
        at=answer.at,
        user=UserBrief.model_validate(shift.user) if shift else None,
        start=shift.start if shift else None,
        end=shift.end if shift else None,
        source=shift.source if shift else None,
    )


def gaps_read(schedule_id: int, start: datetime, end: datetime, holes: Gaps) -> GapsRead:
    return GapsRead(schedule_id=schedule_id, start=start, end=end, gaps=gap_reads(holes))


def timeline_read(
    schedule_id: int, start: datetime, end: datetime, shifts: Sequence[ShiftView], holes: Gaps
) -> TimelineRead:
    return TimelineRead(
        schedule_id=schedule_id,
        start=start,
        end=end,
        shifts=[
            ShiftRead(
                user=UserBrief.model_validate(s.user), start=s.start, end=s.end, source=s.source
            )
            for s in shifts
        ],
        gaps=gap_reads(holes),
    )


def fairness_read(
    schedule_id: int, start: datetime, end: datetime, rows: Sequence[Fairness]
) -> FairnessRead:
    return FairnessRead(
        schedule_id=schedule_id,
        start=start,
        end=end,
        items=[
            FairnessRow(user=UserBrief.model_validate(r.user), hours=r.hours, off_hours=r.off_hours)
            for r in rows
        ],
    )


def my_shifts_read(
    user_id: int, start: datetime, end: datetime, items: Sequence[MyShift]
) -> MyShiftsRead:
    return MyShiftsRead(
        user_id=user_id,
        start=start,
        end=end,
        items=[
            MyShiftRead(
                schedule_id=i.schedule.id,
                schedule_name=i.schedule.name,
                start=i.start,
                end=i.end,
                source=i.source,
            )
            for i in items
        ],
    )


def coverage_read(start: datetime, end: datetime, warnings: Sequence[Coverage]) -> CoverageRead:
    return CoverageRead(
        start=start,
        end=end,
        items=[
            CoverageWarning(
                schedule_id=w.schedule.id,
                schedule_name=w.schedule.name,
                used_by_policy=w.used_by_policy,
                gaps=gap_reads(w.gaps),
            )
            for w in warnings
        ],
    )


def override_read(override: ScheduleOverride) -> OverrideRead:
    return OverrideRead(
        id=override.id,
        user=UserBrief.model_validate(override.user),
        start_at=override.start_at,
        end_at=override.end_at,
        note=override.note,
    )
