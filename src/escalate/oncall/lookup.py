"""Stored schedules as the calculator's input, and who is on call in them at a moment.

Participants are user ids as strings in the calculator (it knows nothing of users)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from escalate.oncall import calculator
from escalate.oncall.models import Schedule, ScheduleLayer


def restriction_of(stored: dict[str, Any]) -> calculator.Restriction:
    """{"weekdays": [0, 1], "start": "09:00", "end": "17:00"} as a calculator restriction."""
    return calculator.Restriction(
        weekdays=frozenset(int(day) for day in stored.get("weekdays") or []),
        start=time.fromisoformat(str(stored["start"])),
        end=time.fromisoformat(str(stored["end"])),
    )


def layer_of(layer: ScheduleLayer) -> calculator.Layer:
    return calculator.Layer(
        name=layer.name,
        participants=tuple(str(member.user_id) for member in layer.members),
        rotation=calculator.Rotation(layer.rotation),
        start=layer.start_at,
        hours=layer.rotation_hours,
        end=layer.end_at,
        restrictions=tuple(restriction_of(item) for item in layer.restrictions or []),
    )


def calculator_schedule(schedule: Schedule) -> calculator.Schedule:
    return calculator.Schedule(
        time_zone=schedule.time_zone,
        layers=tuple(layer_of(layer) for layer in schedule.layers),
        overrides=tuple(
            calculator.Override(str(item.user_id), item.start_at, item.end_at)
            for item in schedule.overrides
        ),
    )


def load_schedules(session: Session, schedule_ids: Iterable[int]) -> dict[int, Schedule]:
    """Schedules with their layers, members and overrides, in three queries in all."""
    wanted = sorted(set(schedule_ids))
    if not wanted:
        return {}
    rows = session.scalars(
        select(Schedule)
        .where(Schedule.id.in_(wanted))
        .options(
            selectinload(Schedule.layers).selectinload(ScheduleLayer.members),
            selectinload(Schedule.overrides),
        )
    )
    return {row.id: row for row in rows}


def on_call_user_id(schedule: Schedule, at: datetime) -> int | None:
    """The user on call in the schedule at `at`, or None in a gap."""
    shift = calculator.on_call_at(calculator_schedule(schedule), at)
    return int(shift.participant) if shift is not None else None
