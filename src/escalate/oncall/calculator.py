"""Who is on call when: the pure calculation behind on-call schedules.

Everything here is a plain function of a schedule and datetimes; nothing reads a clock or a
database. Wall-clock rules (daily and weekly hand-offs, restriction windows, business hours)
are resolved in the schedule's time zone and turned into UTC instants as early as possible,
so the priority sweep that decides who wins only ever compares absolute times.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from itertools import pairwise
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# on_call_at renders this far either side of the instant, so a shift's bounds are its real
# hand-offs unless the same person stays on call for longer than this.
ON_CALL_LOOKAROUND = timedelta(weeks=8)


class Rotation(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    HOURS = "hours"


class ScheduleError(ValueError):
    """A schedule (or a requested range) that cannot be rendered; `field` names the culprit."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Restriction:
    """A weekly window in the schedule's time zone; `end <= start` runs past midnight.

    `weekdays` (0 = Monday) name the day each window starts on."""

    weekdays: frozenset[int]
    start: time
    end: time


BUSINESS_HOURS = Restriction(frozenset(range(5)), time(9), time(17))


@dataclass(frozen=True)
class Layer:
    name: str
    participants: tuple[str, ...]
    rotation: Rotation
    start: datetime
    hours: int | None = None
    end: datetime | None = None
    restrictions: tuple[Restriction, ...] = ()


@dataclass(frozen=True)
class Override:
    participant: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Schedule:
    """Layers in priority order: a later layer wins where two cover the same time."""

    time_zone: str
    layers: tuple[Layer, ...] = ()
    overrides: tuple[Override, ...] = ()


@dataclass(frozen=True)
class Shift:
    participant: str
    start: datetime
    end: datetime
    source: str


class _Span(NamedTuple):
    start: datetime
    end: datetime
    participant: str


# --- validation ------------------------------------------------------------------------------


def validate(schedule: Schedule) -> None:
    """Raise ScheduleError for the first thing that makes the schedule unrenderable."""
    _zone(schedule.time_zone)
    for index, layer in enumerate(schedule.layers):
        _validate_layer(layer, f"layers[{index}]")
    for index, override in enumerate(schedule.overrides):
        _validate_interval(override.start, override.end, f"overrides[{index}]")
    _reject_overlapping_overrides(schedule.overrides)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScheduleError(f"unknown time zone {name!r}", "time_zone") from None


def _validate_layer(layer: Layer, where: str) -> None:
    if not layer.participants:
        raise ScheduleError("a layer needs at least one participant", f"{where}.participants")
    if layer.rotation is Rotation.HOURS and (layer.hours is None or layer.hours < 1):
        raise ScheduleError("an hourly rotation needs hours >= 1", f"{where}.hours")
    _require_aware(layer.start, f"{where}.start")
    if layer.end is not None:
        _validate_interval(layer.start, layer.end, where)
    for index, restriction in enumerate(layer.restrictions):
        _validate_restriction(restriction, f"{where}.restrictions[{index}]")


def _validate_interval(start: datetime, end: datetime, where: str) -> None:
    _require_aware(start, f"{where}.start")
    _require_aware(end, f"{where}.end")
    if end <= start:
        raise ScheduleError("end must be after start", f"{where}.end")


def _validate_restriction(restriction: Restriction, where: str) -> None:
    if not restriction.weekdays or not all(0 <= day <= 6 for day in restriction.weekdays):
        raise ScheduleError("weekdays must be a non-empty set of 0..6", f"{where}.weekdays")
    # Equal times are ambiguous (empty or all day?), so they are refused rather than guessed.
    if restriction.start == restriction.end:
        raise ScheduleError("a restriction's start and end must differ", f"{where}.end")


def _reject_overlapping_overrides(overrides: tuple[Override, ...]) -> None:
    by_start = sorted(enumerate(overrides), key=lambda pair: pair[1].start)
    for (_, earlier), (index, later) in pairwise(by_start):
        if later.start < earlier.end:
            raise ScheduleError("overrides must not overlap", f"overrides[{index}]")


def _require_aware(moment: datetime, where: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ScheduleError("datetimes must carry a time zone", where)


def _validated_range(
    schedule: Schedule, start: datetime, end: datetime
) -> tuple[ZoneInfo, datetime, datetime]:
    validate(schedule)
    _require_aware(start, "start")
    _require_aware(end, "end")
    return _zone(schedule.time_zone), start.astimezone(UTC), end.astimezone(UTC)


# --- the final timeline ----------------------------------------------------------------------


def final_timeline(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """Who is on call over [start, end): sorted, non-overlapping UTC shifts, gaps left out."""
    zone, start, end = _validated_range(schedule, start, end)
    if end <= start:
        return []
    tiers = [
        (f"layer:{layer.name}", _layer_spans(layer, zone, start, end)) for layer in schedule.layers
    ]
    tiers.append(("override", _override_spans(schedule.overrides, start, end)))
    return _resolve_priority(tiers, start, end)


def on_call_at(schedule: Schedule, at: datetime) -> Shift | None:
    """The shift covering `at`, with its bounds as rendered over the surrounding weeks."""
    _require_aware(at, "at")
    timeline = final_timeline(schedule, at - ON_CALL_LOOKAROUND, at + ON_CALL_LOOKAROUND)
    return next((shift for shift in timeline if shift.start <= at < shift.end), None)


def gaps(schedule: Schedule, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """Every interval of [start, end) in which nobody is on call, in UTC."""
    _, range_start, range_end = _validated_range(schedule, start, end)
    holes = []
    cursor = range_start
    for shift in final_timeline(schedule, start, end):
        if cursor < shift.start:
            holes.append((cursor, shift.start))
        cursor = shift.end
    if cursor < range_end:
        holes.append((cursor, range_end))
    return holes


def hours_by_participant(schedule: Schedule, start: datetime, end: datetime) -> dict[str, float]:
    """Hours on call per person over [start, end); everyone in the schedule appears, even at 0."""
    totals = dict.fromkeys(_everyone(schedule), timedelta())
    for shift in final_timeline(schedule, start, end):
        totals[shift.participant] += shift.end - shift.start
    return {person: _hours(total) for person, total in totals.items()}


def off_hours_by_participant(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    business: Restriction = BUSINESS_HOURS,
) -> dict[str, float]:
    """Hours on call outside `business` (in the schedule's time zone) per person."""
    zone, range_start, range_end = _validated_range(schedule, start, end)
    _validate_restriction(business, "business")
    timeline = final_timeline(schedule, start, end)
    totals = dict.fromkeys(_everyone(schedule), timedelta())
    for shift in timeline:
        totals[shift.participant] += shift.end - shift.start
    spans = [_Span(shift.start, shift.end, shift.participant) for shift in timeline]
    business_windows = _restriction_windows((business,), zone, range_start, range_end)
    # Tallied as timedeltas and converted once, so a fully in-hours person shows exactly 0.0.
    for inside in _intersect(spans, business_windows):
        totals[inside.participant] -= inside.end - inside.start
    return {person: _hours(total) for person, total in totals.items()}


def _everyone(schedule: Schedule) -> list[str]:
    named = [person for layer in schedule.layers for person in layer.participants]
    named += [override.participant for override in schedule.overrides]
    return list(dict.fromkeys(named))


def _hours(duration: timedelta) -> float:
    return duration / timedelta(hours=1)


# --- one layer's coverage --------------------------------------------------------------------


def _layer_spans(layer: Layer, zone: ZoneInfo, start: datetime, end: datetime) -> list[_Span]:
    """The layer's shifts inside [start, end), cut down to its restriction windows."""
    stop = min(end, layer.end.astimezone(UTC)) if layer.end is not None else end
    shifts = list(_rotation_shifts(layer, zone, start, stop))
    if not layer.restrictions:
        return shifts
    return _intersect(shifts, _restriction_windows(layer.restrictions, zone, start, stop))


def _rotation_shifts(
    layer: Layer, zone: ZoneInfo, start: datetime, stop: datetime
) -> Iterator[_Span]:
    index = _first_relevant_handoff(layer, zone, start)
    shift_start = _handoff(layer, zone, index)
    while shift_start < stop:
        shift_end = _handoff(layer, zone, index + 1)
        if shift_end > start:
            person = layer.participants[index % len(layer.participants)]
            yield _Span(max(shift_start, start), min(shift_end, stop), person)
        index += 1
        shift_start = shift_end


def _handoff(layer: Layer, zone: ZoneInfo, index: int) -> datetime:
    """The instant of the index-th hand-off (0 is the layer's start)."""
    if layer.rotation is Rotation.HOURS:
        return layer.start.astimezone(UTC) + index * _rotation_length(layer)
    # Daily and weekly hand-offs keep their local wall-clock time, so the shift that spans a
    # DST change is an hour shorter or longer.
    wall = layer.start.astimezone(zone).replace(tzinfo=None)
    return _instant(wall + index * _rotation_length(layer), zone)


def _first_relevant_handoff(layer: Layer, zone: ZoneInfo, moment: datetime) -> int:
    """An index whose shift starts at or before `moment` (or 0), without walking from 0."""
    elapsed = moment - layer.start.astimezone(UTC)
    if elapsed <= timedelta():
        return 0
    rough = elapsed // _rotation_length(layer)
    # Wall-clock rotations drift against UTC by DST offsets, so back off one to be safe.
    return rough if layer.rotation is Rotation.HOURS else max(0, rough - 1)


def _rotation_length(layer: Layer) -> timedelta:
    if layer.rotation is Rotation.DAILY:
        return timedelta(days=1)
    if layer.rotation is Rotation.WEEKLY:
        return timedelta(weeks=1)
    if layer.hours is None or layer.hours < 1:
        raise ScheduleError("an hourly rotation needs hours >= 1", "hours")
    return timedelta(hours=layer.hours)


def _instant(wall: datetime, zone: ZoneInfo) -> datetime:
    """A local wall-clock time as a UTC instant.

    fold=0 picks the first of a repeated time and reads a skipped time with the offset in
    force before the jump, which is where people expect a hand-off to land."""
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def _restriction_windows(
    restrictions: Iterable[Restriction], zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The union of the restrictions' windows, clipped to [start, end), in UTC."""
    windows = []
    # A window that opened the evening before the range can still run into it.
    first_day = start.astimezone(zone).date() - timedelta(days=1)
    last_day = end.astimezone(zone).date()
    for day in _days(first_day, last_day):
        for restriction in restrictions:
            if day.weekday() not in restriction.weekdays:
                continue
            opens = _instant(datetime.combine(day, restriction.start), zone)
            closing_day = day + timedelta(days=1) if restriction.end <= restriction.start else day
            closes = _instant(datetime.combine(closing_day, restriction.end), zone)
            opens, closes = max(opens, start), min(closes, end)
            # A window inside a DST jump can come out empty or even inverted; it covers nothing.
            if opens < closes:
                windows.append((opens, closes))
    return _union(windows)


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _union(intervals: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _intersect(spans: list[_Span], windows: list[tuple[datetime, datetime]]) -> list[_Span]:
    """The parts of sorted, disjoint spans inside sorted, disjoint windows."""
    pieces = []
    first_window = 0
    for span in spans:
        while first_window < len(windows) and windows[first_window][1] <= span.start:
            first_window += 1
        for opens, closes in windows[first_window:]:
            if opens >= span.end:
                break
            piece_start, piece_end = max(span.start, opens), min(span.end, closes)
            if piece_start < piece_end:
                pieces.append(_Span(piece_start, piece_end, span.participant))
    return pieces


def _override_spans(overrides: Iterable[Override], start: datetime, end: datetime) -> list[_Span]:
    spans = []
    for override in overrides:
        piece_start = max(override.start.astimezone(UTC), start)
        piece_end = min(override.end.astimezone(UTC), end)
        if piece_start < piece_end:
            spans.append(_Span(piece_start, piece_end, override.participant))
    return sorted(spans)


# --- priority ----------------------------------------------------------------------------------


def _resolve_priority(
    tiers: list[tuple[str, list[_Span]]], start: datetime, end: datetime
) -> list[Shift]:
    """Sweep every boundary once; between two boundaries the highest covering tier wins.

    Tiers come lowest priority first; each tier's spans are sorted and disjoint."""
    boundaries = {start, end}
    for _, spans in tiers:
        for span in spans:
            boundaries.update((span.start, span.end))
    cursors = [0] * len(tiers)
    timeline: list[Shift] = []
    for piece_start, piece_end in pairwise(sorted(boundaries)):
        winner = _highest_cover(tiers, cursors, piece_start)
        if winner is not None:
            source, person = winner
            _append_merged(timeline, Shift(person, piece_start, piece_end, source))
    return timeline


def _highest_cover(
    tiers: list[tuple[str, list[_Span]]], cursors: list[int], moment: datetime
) -> tuple[str, str] | None:
    # The sweep only moves forward, so each tier's cursor only moves forward too.
    for tier in reversed(range(len(tiers))):
        source, spans = tiers[tier]
        while cursors[tier] < len(spans) and spans[cursors[tier]].end <= moment:
            cursors[tier] += 1
        if cursors[tier] < len(spans) and spans[cursors[tier]].start <= moment:
            return source, spans[cursors[tier]].participant
    return None


def _append_merged(timeline: list[Shift], shift: Shift) -> None:
    last = timeline[-1] if timeline else None
    if (
        last is not None
        and last.end == shift.start
        and (last.participant, last.source) == (shift.participant, shift.source)
    ):
        timeline[-1] = Shift(last.participant, last.start, shift.end, last.source)
    else:
        timeline.append(shift)
