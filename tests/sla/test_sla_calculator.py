"""The clocks' arithmetic as a pure function, with the demo outage's fixed times and with
generated ones."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from escalate.sla.calculator import (
    ClockStatus,
    ClockValue,
    Targets,
    Update,
    compute,
    late_minutes,
)
from escalate.sla.models import ClockKind

SEV1 = Targets(
    acknowledgement_minutes=15,
    first_update_minutes=30,
    update_interval_minutes=30,
    resolution_minutes=240,
)
START = datetime(2025, 10, 22, 13, 0, tzinfo=UTC)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 10, 22, hour, minute, tzinfo=UTC)


def by_key(clocks: list[ClockValue]) -> dict[tuple[ClockKind, int], ClockValue]:
    return {(c.kind, c.sequence): c for c in clocks}


def run(
    updates: list[Update], *, resolved: datetime | None = None, now: datetime
) -> dict[tuple[ClockKind, int], ClockValue]:
    clocks = compute(start=START, targets=SEV1, updates=updates, resolved_at=resolved, now=now)
    return by_key(clocks)


DEMO_UPDATES = [
    Update(at(13, 45), acknowledgement_only=True),
    Update(at(15, 10)),
    Update(at(17, 30)),
    Update(at(19, 20)),  # the resolution notice, after resolution
]


def test_the_demo_outage() -> None:
    clocks = by_key(
        compute(start=START, targets=SEV1, updates=DEMO_UPDATES, resolved_at=at(19), now=at(20))
    )
    expected = {
        (ClockKind.ACKNOWLEDGEMENT, 0): (15, at(13, 15), at(13, 45), 30),
        (ClockKind.UPDATE, 0): (30, at(13, 30), at(15, 10), 100),
        (ClockKind.UPDATE, 1): (30, at(15, 40), at(17, 30), 110),
        (ClockKind.UPDATE, 2): (30, at(18, 0), None, 60),
        (ClockKind.RESOLUTION, 0): (240, at(17, 0), at(19, 0), 120),
    }
    assert set(clocks) == set(expected)
    for key, (target, due, met, late) in expected.items():
        clock = clocks[key]
        assert (clock.target_minutes, clock.due_at, clock.met_at, clock.late_minutes) == (
            target,
            due,
            met,
            late,
        ), key
        assert clock.breached and clock.status == ClockStatus.BREACHED
    assert clocks[(ClockKind.UPDATE, 2)].closed_at == at(19)
    assert clocks[(ClockKind.UPDATE, 2)].started_at == at(17, 30)


def test_before_anything_is_due_every_clock_is_open() -> None:
    clocks = compute(start=START, targets=SEV1, updates=[], resolved_at=None, now=at(13, 10))
    assert [(c.kind, c.sequence, c.status) for c in clocks] == [
        (ClockKind.ACKNOWLEDGEMENT, 0, ClockStatus.OPEN),
        (ClockKind.UPDATE, 0, ClockStatus.OPEN),
        (ClockKind.RESOLUTION, 0, ClockStatus.OPEN),
    ]
    assert all(c.late_minutes is None and not c.breached for c in clocks)


def test_an_open_clock_past_due_is_breached_and_grows_late() -> None:
    ack_early = run([], now=at(13, 20))[(ClockKind.ACKNOWLEDGEMENT, 0)]
    ack_later = run([], now=at(14))[(ClockKind.ACKNOWLEDGEMENT, 0)]
    assert ack_early.is_open and ack_early.breached and ack_early.late_minutes == 5
    assert ack_later.late_minutes == 45


def test_on_time_exactly_is_met_and_a_second_late_is_a_minute_late() -> None:
    on_time = run([Update(at(13, 15))], now=at(14))[(ClockKind.ACKNOWLEDGEMENT, 0)]
    assert on_time.status == ClockStatus.MET and on_time.late_minutes is None
    just_late = at(13, 15) + timedelta(seconds=1)
    late = run([Update(just_late)], now=at(14))[(ClockKind.ACKNOWLEDGEMENT, 0)]
    assert late.status == ClockStatus.BREACHED and late.late_minutes == 1


def test_an_acknowledgement_does_not_meet_or_restart_the_update_clock() -> None:
    clocks = by_key(
        compute(
            start=START,
            targets=SEV1,
            updates=[Update(at(13, 10), acknowledgement_only=True)],
            resolved_at=None,
            now=at(13, 20),
        )
    )
    assert clocks[(ClockKind.ACKNOWLEDGEMENT, 0)].met_at == at(13, 10)
    first = clocks[(ClockKind.UPDATE, 0)]
    assert first.is_open and first.due_at == at(13, 30)
    assert (ClockKind.UPDATE, 1) not in clocks


def test_a_substantive_update_meets_acknowledgement_too() -> None:
    clocks = run([Update(at(13, 5))], now=at(13, 6))
    assert clocks[(ClockKind.ACKNOWLEDGEMENT, 0)].met_at == at(13, 5)
    assert clocks[(ClockKind.UPDATE, 0)].met_at == at(13, 5)
    assert clocks[(ClockKind.UPDATE, 1)].due_at == at(13, 35)


def test_resolution_before_an_update_is_due_closes_it_unbroken() -> None:
    clocks = by_key(
        compute(
            start=START,
            targets=SEV1,
            updates=[Update(at(13, 5))],
            resolved_at=at(13, 20),
            now=at(15),
        )
    )
    last = clocks[(ClockKind.UPDATE, 1)]
    assert last.status == ClockStatus.CLOSED and not last.breached and last.met_at is None
    assert clocks[(ClockKind.RESOLUTION, 0)].status == ClockStatus.MET


def test_an_unacknowledged_incident_stays_open_after_resolution() -> None:
    clocks = run([], resolved=at(13, 5), now=at(14))
    ack = clocks[(ClockKind.ACKNOWLEDGEMENT, 0)]
    assert ack.is_open and ack.late_minutes == 45
    assert clocks[(ClockKind.UPDATE, 0)].status == ClockStatus.CLOSED


def test_late_minutes_round_up() -> None:
    assert late_minutes(at(13), at(13)) is None
    assert late_minutes(at(13), at(12)) is None
    assert late_minutes(at(13), at(13) + timedelta(seconds=59)) == 1
    assert late_minutes(at(13), at(13, 1)) == 1
    assert late_minutes(at(13), at(13, 1) + timedelta(microseconds=1)) == 2


# --- properties ------------------------------------------------------------------------------

minutes = st.integers(min_value=1, max_value=48 * 60)
targets = st.builds(Targets, minutes, minutes, minutes, minutes)
offsets = st.lists(st.integers(min_value=0, max_value=72 * 60 * 60), max_size=12)


@st.composite
def timelines(draw: st.DrawFn) -> tuple[Targets, list[Update], datetime | None, datetime]:
    chosen = draw(targets)
    seconds = draw(offsets)
    updates = [
        Update(START + timedelta(seconds=s), acknowledgement_only=draw(st.booleans()))
        for s in seconds
    ]
    resolved_after = draw(st.none() | st.integers(0, 80 * 3600))
    resolved = None if resolved_after is None else START + timedelta(seconds=resolved_after)
    now = START + timedelta(seconds=draw(st.integers(0, 90 * 3600)))
    if resolved is not None:
        now = max(now, resolved)
    return chosen, updates, resolved, now


@settings(max_examples=300, deadline=None)
@given(timelines())
def test_update_clocks_chain_without_overlap(
    case: tuple[Targets, list[Update], datetime | None, datetime],
) -> None:
    chosen, updates, resolved, now = case
    clocks = compute(start=START, targets=chosen, updates=updates, resolved_at=resolved, now=now)
    chain = [c for c in clocks if c.kind == ClockKind.UPDATE]
    assert [c.sequence for c in chain] == list(range(len(chain)))
    assert chain[0].started_at == START
    assert chain[0].due_at == START + timedelta(minutes=chosen.first_update_minutes)
    for previous, current in itertools.pairwise(chain):
        # Each starts at the update that met the one before, and is due an interval later.
        assert previous.met_at is not None
        assert current.started_at == previous.met_at
        assert current.due_at == previous.met_at + timedelta(minutes=chosen.update_interval_minutes)
        assert current.started_at >= previous.started_at
    # Only the last can be unmet; and there is always exactly one of those unless the last
    # update came at the very moment of resolution.
    assert all(c.met_at is not None for c in chain[:-1])


@settings(max_examples=300, deadline=None)
@given(timelines())
def test_breach_and_lateness_agree(
    case: tuple[Targets, list[Update], datetime | None, datetime],
) -> None:
    chosen, updates, resolved, now = case
    clocks = compute(start=START, targets=chosen, updates=updates, resolved_at=resolved, now=now)
    for clock in clocks:
        ended = clock.met_at or clock.closed_at or now
        assert clock.breached == (ended > clock.due_at)
        assert clock.breached == (clock.late_minutes is not None)
        if clock.late_minutes is not None:
            assert clock.late_minutes >= 1
            assert timedelta(minutes=clock.late_minutes - 1) < ended - clock.due_at
            assert ended - clock.due_at <= timedelta(minutes=clock.late_minutes)


@settings(max_examples=200, deadline=None)
@given(timelines())
def test_update_clocks_end_at_resolution(
    case: tuple[Targets, list[Update], datetime | None, datetime],
) -> None:
    chosen, updates, resolved, now = case
    clocks = compute(start=START, targets=chosen, updates=updates, resolved_at=resolved, now=now)
    chain = [c for c in clocks if c.kind == ClockKind.UPDATE]
    if resolved is None:
        assert chain[-1].is_open
    else:
        assert not any(c.is_open for c in chain)
        assert all(c.met_at is None or c.met_at <= resolved for c in chain)
    resolution = clocks[-1]
    assert resolution.kind == ClockKind.RESOLUTION and resolution.met_at == resolved


@settings(max_examples=200, deadline=None)
@given(timelines(), st.permutations(range(12)))
def test_the_order_updates_are_given_in_does_not_matter(
    case: tuple[Targets, list[Update], datetime | None, datetime], order: list[int]
) -> None:
    chosen, updates, resolved, now = case
    shuffled = [updates[i] for i in order if i < len(updates)]
    assert compute(
        start=START, targets=chosen, updates=updates, resolved_at=resolved, now=now
    ) == compute(start=START, targets=chosen, updates=shuffled, resolved_at=resolved, now=now)
