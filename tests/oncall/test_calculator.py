"""Who is on call when: fixed-date examples, then properties over random schedules."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalate.oncall.calculator import (
    Layer,
    Override,
    Restriction,
    Rotation,
    Schedule,
    ScheduleError,
    Shift,
    final_timeline,
    gaps,
    hours_by_participant,
    off_hours_by_participant,
    on_call_at,
    validate,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
WEEKDAYS = frozenset(range(5))
HOUR = timedelta(hours=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def local(zone: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=zone)  # type: ignore[misc]


def layer(
    participants: tuple[str, ...],
    rotation: Rotation,
    start: datetime,
    *,
    name: str = "primary",
    hours: int | None = None,
    end: datetime | None = None,
    restrictions: tuple[Restriction, ...] = (),
) -> Layer:
    return Layer(name, participants, rotation, start, hours, end, restrictions)


def who(timeline: list[Shift]) -> list[str]:
    return [shift.participant for shift in timeline]


# --- rotations -------------------------------------------------------------------------------


def test_weekly_rotation_of_three_people_takes_turns() -> None:
    start = utc(2025, 1, 6, 9)
    schedule = Schedule("UTC", (layer(("ana", "ben", "chi"), Rotation.WEEKLY, start),))

    timeline = final_timeline(schedule, start, start + timedelta(weeks=4))

    assert who(timeline) == ["ana", "ben", "chi", "ana"]
    assert [shift.start for shift in timeline] == [start + timedelta(weeks=k) for k in range(4)]
    assert all(shift.end - shift.start == timedelta(weeks=1) for shift in timeline)
    assert {shift.source for shift in timeline} == {"layer:primary"}


@pytest.mark.parametrize(
    ("zone", "day_before_change", "long_or_short"),
    [
        (BERLIN, (2025, 3, 29), 23),
        (BERLIN, (2025, 10, 25), 25),
        (NEW_YORK, (2025, 3, 8), 23),
        (NEW_YORK, (2025, 11, 1), 25),
    ],
)
def test_daily_handoff_keeps_its_local_time_across_dst(
    zone: ZoneInfo, day_before_change: tuple[int, int, int], long_or_short: int
) -> None:
    first = local(zone, *day_before_change, 9) - timedelta(days=2)
    schedule = Schedule(str(zone), (layer(("ana", "ben"), Rotation.DAILY, first),))

    timeline = final_timeline(schedule, first, first + timedelta(days=5))

    assert who(timeline) == ["ana", "ben", "ana", "ben", "ana"]
    assert all(shift.start.astimezone(zone).time() == time(9) for shift in timeline)
    lengths = [(shift.end - shift.start) / HOUR for shift in timeline]
    assert lengths == [24, 24, long_or_short, 24, 24]


def test_hourly_rotation_stays_twelve_hours_across_dst() -> None:
    first = local(BERLIN, 2025, 3, 29, 9)
    schedule = Schedule("Europe/Berlin", (layer(("ana", "ben"), Rotation.HOURS, first, hours=12),))

    timeline = final_timeline(schedule, first, first.astimezone(UTC) + 72 * HOUR)

    assert all(shift.end - shift.start == 12 * HOUR for shift in timeline)
    assert len(timeline) == 6
    # Absolute twelve hours means the local hand-off moves from 09:00/21:00 to 10:00/22:00.
    assert timeline[-1].start.astimezone(BERLIN) == local(BERLIN, 2025, 3, 31, 22)


def test_layer_end_stops_coverage_and_leaves_a_gap() -> None:
    start = utc(2025, 1, 6)
    end_of_layer = start + timedelta(days=2, hours=6)
    schedule = Schedule("UTC", (layer(("ana", "ben"), Rotation.DAILY, start, end=end_of_layer),))

    timeline = final_timeline(schedule, start, start + timedelta(days=4))

    assert timeline[-1] == Shift("ana", start + timedelta(days=2), end_of_layer, "layer:primary")
    assert gaps(schedule, start, start + timedelta(days=4)) == [
        (end_of_layer, start + timedelta(days=4))
    ]


def test_nobody_is_on_call_before_a_layer_starts() -> None:
    start = utc(2025, 1, 6)
    schedule = Schedule("UTC", (layer(("ana",), Rotation.DAILY, start),))

    assert final_timeline(schedule, start - timedelta(days=1), start + HOUR) == [
        Shift("ana", start, start + HOUR, "layer:primary")
    ]


# --- restrictions ----------------------------------------------------------------------------


def test_business_hours_restriction_leaves_nights_and_weekends_as_gaps() -> None:
    monday = local(BERLIN, 2025, 6, 2)
    office = Restriction(WEEKDAYS, time(9), time(17))
    schedule = Schedule(
        "Europe/Berlin",
        (layer(("ana", "ben"), Rotation.WEEKLY, monday, restrictions=(office,)),),
    )
    week = (monday, monday + timedelta(days=7))

    timeline = final_timeline(schedule, *week)

    assert [shift.start.astimezone(BERLIN) for shift in timeline] == [
        monday + timedelta(days=day, hours=9) for day in range(5)
    ]
    assert all(shift.end - shift.start == 8 * HOUR for shift in timeline)
    holes = gaps(schedule, *week)
    assert holes[0] == (monday.astimezone(UTC), (monday + 9 * HOUR).astimezone(UTC))
    assert holes[-1] == ((monday + timedelta(days=4, hours=17)).astimezone(UTC), week[1])
    assert len(holes) == 6


def test_restriction_running_past_midnight_covers_the_next_morning() -> None:
    monday = utc(2025, 6, 2)
    friday_nights = Restriction(frozenset({4}), time(22), time(6))
    schedule = Schedule(
        "UTC", (layer(("ana",), Rotation.WEEKLY, monday, restrictions=(friday_nights,)),)
    )

    timeline = final_timeline(schedule, monday, monday + timedelta(days=14))

    assert [(shift.start, shift.end) for shift in timeline] == [
        (utc(2025, 6, 6, 22), utc(2025, 6, 7, 6)),
        (utc(2025, 6, 13, 22), utc(2025, 6, 14, 6)),
    ]


def test_a_night_window_open_before_the_range_still_counts() -> None:
    nights = Restriction(frozenset(range(7)), time(22), time(6))
    schedule = Schedule(
        "UTC", (layer(("ana",), Rotation.DAILY, utc(2025, 1, 1), restrictions=(nights,)),)
    )

    assert final_timeline(schedule, utc(2025, 6, 3, 2), utc(2025, 6, 3, 8)) == [
        Shift("ana", utc(2025, 6, 3, 2), utc(2025, 6, 3, 6), "layer:primary")
    ]


# --- priority --------------------------------------------------------------------------------


def two_layers() -> Schedule:
    monday = utc(2025, 6, 2)
    evenings = Restriction(frozenset(range(7)), time(18), time(22))
    return Schedule(
        "UTC",
        (
            layer(("ana", "ben"), Rotation.WEEKLY, monday, name="base"),
            layer(("chi",), Rotation.DAILY, monday, name="evenings", restrictions=(evenings,)),
        ),
    )


def test_the_later_layer_wins_where_both_cover() -> None:
    timeline = final_timeline(two_layers(), utc(2025, 6, 2), utc(2025, 6, 3))

    assert [(shift.participant, shift.source, shift.start.hour) for shift in timeline] == [
        ("ana", "layer:base", 0),
        ("chi", "layer:evenings", 18),
        ("ana", "layer:base", 22),
    ]


def test_an_override_wins_over_every_layer_for_exactly_its_interval() -> None:
    override = Override("dev", utc(2025, 6, 2, 17), utc(2025, 6, 2, 19))
    schedule = replace(two_layers(), overrides=(override,))

    timeline = final_timeline(schedule, utc(2025, 6, 2), utc(2025, 6, 3))

    assert timeline == [
        Shift("ana", utc(2025, 6, 2), utc(2025, 6, 2, 17), "layer:base"),
        Shift("dev", utc(2025, 6, 2, 17), utc(2025, 6, 2, 19), "override"),
        Shift("chi", utc(2025, 6, 2, 19), utc(2025, 6, 2, 22), "layer:evenings"),
        Shift("ana", utc(2025, 6, 2, 22), utc(2025, 6, 3), "layer:base"),
    ]


def test_an_override_fills_a_gap() -> None:
    override = Override("dev", utc(2025, 6, 1), utc(2025, 6, 2, 1))
    schedule = replace(two_layers(), overrides=(override,))

    assert who(final_timeline(schedule, utc(2025, 6, 1), utc(2025, 6, 2, 2))) == ["dev", "ana"]
    assert gaps(schedule, utc(2025, 6, 1), utc(2025, 6, 2, 2)) == []


# --- lookups and reports ---------------------------------------------------------------------


def test_on_call_at_returns_the_whole_shift_not_the_instant() -> None:
    start = utc(2025, 1, 6, 9)
    schedule = Schedule("UTC", (layer(("ana", "ben", "chi"), Rotation.WEEKLY, start),))

    assert on_call_at(schedule, utc(2025, 1, 15, 3)) == Shift(
        "ben", utc(2025, 1, 13, 9), utc(2025, 1, 20, 9), "layer:primary"
    )
    assert on_call_at(schedule, start - HOUR) is None


def test_gaps_are_where_no_layer_covers() -> None:
    evenings_only = replace(two_layers(), layers=two_layers().layers[1:])

    holes = gaps(evenings_only, utc(2025, 6, 1), utc(2025, 6, 3, 20))

    assert holes == [
        (utc(2025, 6, 1), utc(2025, 6, 2, 18)),
        (utc(2025, 6, 2, 22), utc(2025, 6, 3, 18)),
    ]


def test_fairness_hours_add_up_to_the_covered_hours() -> None:
    schedule = two_layers()
    start, end = utc(2025, 6, 2), utc(2025, 6, 16)

    hours = hours_by_participant(schedule, start, end)

    assert hours == {"ana": 7 * 20, "ben": 7 * 20, "chi": 14 * 4}
    covered = sum(
        (shift.end - shift.start) / HOUR for shift in final_timeline(schedule, start, end)
    )
    assert sum(hours.values()) == covered == 14 * 24


def test_everyone_in_the_schedule_appears_in_the_fairness_report() -> None:
    schedule = two_layers()

    assert hours_by_participant(schedule, utc(2025, 6, 2), utc(2025, 6, 2, 12)) == {
        "ana": 12.0,
        "ben": 0.0,
        "chi": 0.0,
    }


def test_off_hours_leave_out_business_hours_in_the_schedule_zone() -> None:
    monday = local(BERLIN, 2025, 6, 2)
    schedule = Schedule("Europe/Berlin", (layer(("ana",), Rotation.WEEKLY, monday),))

    off_hours = off_hours_by_participant(schedule, monday, monday + timedelta(days=7))

    assert off_hours == {"ana": 7 * 24 - 5 * 8}


# --- random schedules ------------------------------------------------------------------------

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
DST_CHANGES_2025 = [
    utc(2025, 3, 9, 7),
    utc(2025, 3, 30, 1),
    utc(2025, 4, 5, 16),
    utc(2025, 10, 4, 16),
    utc(2025, 10, 26, 1),
    utc(2025, 11, 2, 6),
]
PEOPLE = ["ana", "ben", "chi", "dev"]
# Strategies built once: rebuilding them inside every draw was most of the suite's run time.
ZONE_NAMES = st.sampled_from(ZONES)
ROTATIONS = st.sampled_from(Rotation)
QUARTER_HOURS = st.integers(0, 95).map(lambda q: time(q // 4, q % 4 * 15))
WEEKDAY_SETS = st.frozensets(st.integers(0, 6), min_size=1)
TEAMS = st.permutations(PEOPLE).flatmap(lambda order: st.integers(1, 4).map(lambda n: order[:n]))
OVERRIDE_PEOPLE = st.sampled_from([*PEOPLE, "zed"])


def minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


RESTRICTIONS = st.builds(Restriction, WEEKDAY_SETS, QUARTER_HOURS, QUARTER_HOURS).filter(
    lambda restriction: restriction.start != restriction.end
)


@st.composite
def layers(draw: st.DrawFn, around: datetime, name: str) -> Layer:
    rotation = draw(ROTATIONS)
    start = around + minutes(15 * draw(st.integers(-30 * 96, 20 * 96)))
    start = start.astimezone(ZoneInfo(draw(ZONE_NAMES)))
    length = draw(st.none() | st.integers(1, 40 * 96))
    return Layer(
        name=name,
        participants=tuple(draw(TEAMS)),
        rotation=rotation,
        start=start,
        hours=draw(st.integers(1, 48)) if rotation is Rotation.HOURS else None,
        end=None if length is None else start + minutes(15 * length),
        restrictions=tuple(draw(st.lists(RESTRICTIONS, max_size=2))),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Schedule, datetime, datetime]:
    """A valid schedule and a range of up to 60 days around a 2025 DST change."""
    start = draw(st.sampled_from(DST_CHANGES_2025)) + minutes(draw(st.integers(-30 * 1440, 1440)))
    end = start + minutes(draw(st.integers(1, 60 * 1440)))
    count = draw(st.integers(1, 3))
    drawn = tuple(draw(layers(start, f"l{index}")) for index in range(count))
    # Distinct sorted instants taken in pairs give overrides that never overlap; they start up
    # to a day before the range and end up to a day after it, so clipping gets exercised.
    span = int((end - start) / minutes(1)) + 2 * 1440
    cuts = sorted(draw(st.lists(st.integers(0, span), max_size=6, unique=True)))
    overrides = tuple(
        Override(draw(OVERRIDE_PEOPLE), start + minutes(first - 1440), start + minutes(last - 1440))
        for first, last in zip(cuts[0::2], cuts[1::2], strict=False)
    )
    return Schedule(draw(ZONE_NAMES), drawn, overrides), start, end


PROPERTY = settings(max_examples=100, deadline=None)


@PROPERTY
@given(scenarios())
def test_timeline_is_sorted_and_never_overlaps(
    scenario: tuple[Schedule, datetime, datetime],
) -> None:
    schedule, start, end = scenario
    timeline = final_timeline(schedule, start, end)

    assert all(shift.start < shift.end for shift in timeline)
    assert all(before.end <= after.start for before, after in pairwise(timeline))
    assert all(start <= shift.start and shift.end <= end for shift in timeline)
    # Merging is complete: touching neighbours always differ in person or source.
    assert not any(
        before.end == after.start
        and (before.participant, before.source) == (after.participant, after.source)
        for before, after in pairwise(timeline)
    )


@PROPERTY
@given(scenarios())
def test_gaps_and_shifts_tile_the_range(scenario: tuple[Schedule, datetime, datetime]) -> None:
    schedule, start, end = scenario
    pieces = sorted(
        [(shift.start, shift.end) for shift in final_timeline(schedule, start, end)]
        + gaps(schedule, start, end)
    )

    assert pieces[0][0] == start
    assert pieces[-1][1] == end
    assert all(before[1] == after[0] for before, after in pairwise(pieces))


@PROPERTY
@given(scenarios())
def test_overrides_are_covered_exactly_by_their_person(
    scenario: tuple[Schedule, datetime, datetime],
) -> None:
    schedule, start, end = scenario
    timeline = final_timeline(schedule, start, end)
    clipped = [
        (override.participant, max(override.start, start), min(override.end, end))
        for override in schedule.overrides
        if override.start < end and override.end > start
    ]

    for person, first, last in clipped:
        assert any(
            shift.source == "override"
            and shift.participant == person
            and shift.start <= first
            and last <= shift.end
            for shift in timeline
        )
    overridden = sum((s.end - s.start for s in timeline if s.source == "override"), timedelta())
    assert overridden == sum((last - first for _, first, last in clipped), timedelta())


@PROPERTY
@given(scenarios(), st.floats(0, 1, exclude_max=True))
def test_on_call_at_agrees_with_the_timeline(
    scenario: tuple[Schedule, datetime, datetime], fraction: float
) -> None:
    schedule, start, end = scenario
    # Multiplying a timedelta rounds to the microsecond, which can land on `end` itself.
    at = min(start + (end - start) * fraction, end - timedelta(microseconds=1))
    timeline = final_timeline(schedule, start, end)
    expected = next((shift for shift in timeline if shift.start <= at < shift.end), None)

    found = on_call_at(schedule, at)

    if expected is None:
        assert found is None
        return
    assert found is not None
    assert (found.participant, found.source) == (expected.participant, expected.source)
    assert found.start <= at < found.end
    # A bound strictly inside both rendered ranges is a real hand-off, so the two must agree.
    window = (at - timedelta(weeks=8), at + timedelta(weeks=8))
    if expected.start > start and found.start > window[0]:
        assert found.start == expected.start
    if expected.end < end and found.end < window[1]:
        assert found.end == expected.end


def naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None)


def first_layer(schedule: Schedule, **changes: object) -> Schedule:
    return replace(schedule, layers=(replace(schedule.layers[0], **changes), *schedule.layers[1:]))


def with_restriction(schedule: Schedule, restriction: Restriction) -> Schedule:
    return first_layer(schedule, restrictions=(restriction,))


def some_override(schedule: Schedule, **changes: object) -> Schedule:
    start = schedule.layers[0].start
    return replace(schedule, overrides=(replace(Override("zed", start, start + HOUR), **changes),))


BREAKAGES: dict[str, tuple[Callable[[Schedule], Schedule], str]] = {
    "unknown zone": (lambda s: replace(s, time_zone="Mars/Olympus"), "time_zone"),
    "empty zone name": (lambda s: replace(s, time_zone=""), "time_zone"),
    "no participants": (lambda s: first_layer(s, participants=()), "layers[0].participants"),
    "zero hours": (lambda s: first_layer(s, rotation=Rotation.HOURS, hours=0), "layers[0].hours"),
    "missing hours": (
        lambda s: first_layer(s, rotation=Rotation.HOURS, hours=None),
        "layers[0].hours",
    ),
    "layer ends at start": (lambda s: first_layer(s, end=s.layers[0].start), "layers[0].end"),
    "layer ends before start": (
        lambda s: first_layer(s, end=s.layers[0].start - HOUR),
        "layers[0].end",
    ),
    "override ends at start": (
        lambda s: some_override(s, end=s.layers[0].start),
        "overrides[0].end",
    ),
    "overlapping overrides": (
        lambda s: replace(
            s,
            overrides=(
                Override("ana", s.layers[0].start, s.layers[0].start + 2 * HOUR),
                Override("ben", s.layers[0].start + HOUR, s.layers[0].start + 3 * HOUR),
            ),
        ),
        "overrides[1]",
    ),
    "naive layer start": (
        lambda s: first_layer(s, start=naive(s.layers[0].start), end=None),
        "layers[0].start",
    ),
    "naive layer end": (
        lambda s: first_layer(s, end=naive(s.layers[0].start + HOUR)),
        "layers[0].end",
    ),
    "naive override": (
        lambda s: some_override(s, start=naive(s.layers[0].start)),
        "overrides[0].start",
    ),
    "no weekdays": (
        lambda s: with_restriction(s, Restriction(frozenset(), time(9), time(17))),
        "layers[0].restrictions[0].weekdays",
    ),
    "weekday out of range": (
        lambda s: with_restriction(s, Restriction(frozenset({0, 7}), time(9), time(17))),
        "layers[0].restrictions[0].weekdays",
    ),
    "restriction of no length": (
        lambda s: with_restriction(s, Restriction(WEEKDAYS, time(9), time(9))),
        "layers[0].restrictions[0].end",
    ),
}


@PROPERTY
@given(scenarios(), st.sampled_from(sorted(BREAKAGES)))
def test_validate_rejects_each_kind_of_bad_input(
    scenario: tuple[Schedule, datetime, datetime], breakage: str
) -> None:
    schedule, start, end = scenario
    validate(schedule)
    breaking, field = BREAKAGES[breakage]

    with pytest.raises(ScheduleError) as raised:
        validate(breaking(schedule))

    assert raised.value.field == field
    with pytest.raises(ScheduleError):
        final_timeline(breaking(schedule), start, end)


def test_a_naive_range_is_refused() -> None:
    with pytest.raises(ScheduleError) as raised:
        final_timeline(two_layers(), datetime(2025, 6, 2), utc(2025, 6, 3))

    assert raised.value.field == "start"


def test_touching_overrides_are_allowed() -> None:
    schedule = replace(
        two_layers(),
        overrides=(
            Override("dev", utc(2025, 6, 2, 1), utc(2025, 6, 2, 2)),
            Override("dev", utc(2025, 6, 2, 2), utc(2025, 6, 2, 3)),
        ),
    )

    validate(schedule)
    assert Shift("dev", utc(2025, 6, 2, 1), utc(2025, 6, 2, 3), "override") in final_timeline(
        schedule, utc(2025, 6, 2), utc(2025, 6, 3)
    )
