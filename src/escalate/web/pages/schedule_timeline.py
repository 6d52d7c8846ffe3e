"""The visual timeline of a schedule page: one row per local day, bars placed by percent of
that day (a daylight-saving day is 23 or 25 hours long, and the bars say so), each bar a
person's shift, an override, or a gap in red."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from escalate.oncall.schedules import ShiftView

PALETTE_SIZE = 8


@dataclass(frozen=True)
class Bar:
    left: float  # percent of the day
    width: float
    kind: str  # "shift", "override" or "gap"
    label: str
    title: str
    colour: int  # palette index of the person; -1 for a gap


@dataclass(frozen=True)
class DayRow:
    day: date
    bars: list[Bar]


@dataclass(frozen=True)
class LegendEntry:
    name: str
    colour: int


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0)).replace(tzinfo=zone)


def day_rows(
    shifts: Sequence[ShiftView],
    gaps: Sequence[tuple[datetime, datetime]],
    *,
    first_day: date,
    days: int,
    zone: ZoneInfo,
) -> tuple[list[DayRow], list[LegendEntry]]:
    colours: dict[int, int] = {}
    for shift in shifts:
        colours.setdefault(shift.user.id, len(colours) % PALETTE_SIZE)
    pieces = [
        (
            s.start,
            s.end,
            "override" if s.source == "override" else "shift",
            s.user.name,
            colours[s.user.id],
        )
        for s in shifts
    ] + [(start, end, "gap", "Nobody on call", -1) for start, end in gaps]
    rows = []
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        opens = local_midnight(day, zone)
        closes = local_midnight(day + timedelta(days=1), zone)
        length = (closes - opens).total_seconds()
        bars = []
        for start, end, kind, label, colour in sorted(pieces):
            piece_start, piece_end = max(start, opens), min(end, closes)
            if piece_start >= piece_end:
                continue
            left = (piece_start - opens).total_seconds() / length * 100
            width = (piece_end - piece_start).total_seconds() / length * 100
            span = f"{_clock(piece_start, zone)} to {_clock(piece_end, zone)}"
            title = f"{label}{' (override)' if kind == 'override' else ''}: {span}"
            bars.append(Bar(round(left, 3), round(width, 3), kind, label, title, colour))
        rows.append(DayRow(day=day, bars=bars))
    legend = [
        LegendEntry(name=s.user.name, colour=colours[s.user.id])
        for s in {s.user.id: s for s in shifts}.values()
    ]
    return rows, legend


def _clock(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")
