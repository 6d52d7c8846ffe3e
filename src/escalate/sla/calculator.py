"""The SLA clocks of one incident for one account, as a pure function of the policy's
targets, the incident's start, its customer-facing updates, its resolution and `now`.

The rules (docs/DEMO-STORY.md, "SLA policy"):
- *acknowledgement*: due `acknowledgement_minutes` after the start; met by the first
  customer-facing update of any kind (an acknowledgement or a substantive one), even one
  sent after resolution: until the customer has heard something it stays open.
- *update*: a sequence. Number 0 is due `first_update_minutes` after the start and is met
  by the first substantive update (not an acknowledgement); each later one starts at the
  update that met the previous one and is due `update_interval_minutes` after it. The
  sequence ends at resolution: an update clock not met by then is *closed*, breached when
  its due time had passed before resolution (late by resolution - due), not breached
  otherwise. Updates after resolution count for nothing here.
- *resolution*: due `resolution_minutes` after the start, met by the resolution.

A clock met after its due time, or open past it at `now`, is breached; lateness is in
whole minutes, rounded up (10 seconds late is 1 minute late: the promise was broken)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from escalate.sla.models import ClockKind


class ClockStatus(StrEnum):
    OPEN = "open"
    MET = "met"
    BREACHED = "breached"
    # Ended by resolution before it was due: nothing more to promise, nothing broken.
    CLOSED = "closed"


@dataclass(frozen=True)
class Targets:
    """One severity's targets, in minutes."""

    acknowledgement_minutes: int
    first_update_minutes: int
    update_interval_minutes: int
    resolution_minutes: int


@dataclass(frozen=True)
class Update:
    """A customer-facing update: when, and whether it only acknowledges."""

    at: datetime
    acknowledgement_only: bool = False


@dataclass(frozen=True)
class ClockValue:
    kind: ClockKind
    sequence: int
    target_minutes: int
    started_at: datetime
    due_at: datetime
    met_at: datetime | None
    # When it stopped without being met (resolution), for update clocks only.
    closed_at: datetime | None
    breached: bool
    late_minutes: int | None

    @property
    def status(self) -> ClockStatus:
        if self.met_at is not None:
            return ClockStatus.BREACHED if self.breached else ClockStatus.MET
        if self.closed_at is not None or self.breached:
            return ClockStatus.BREACHED if self.breached else ClockStatus.CLOSED
        return ClockStatus.OPEN

    @property
    def is_open(self) -> bool:
        return self.met_at is None and self.closed_at is None


def late_minutes(due: datetime, at: datetime) -> int | None:
    """Whole minutes from `due` to `at`, rounded up; None when `at` is not after `due`."""
    if at <= due:
        return None
    return math.ceil((at - due).total_seconds() / 60)


def _clock(
    kind: ClockKind,
    sequence: int,
    target: int,
    started: datetime,
    *,
    met: datetime | None,
    closed: datetime | None,
    now: datetime,
) -> ClockValue:
    due = started + timedelta(minutes=target)
    # Open clocks are measured against now; met ones against when they were met.
    ended = met or closed or now
    late = late_minutes(due, ended)
    return ClockValue(
        kind=kind,
        sequence=sequence,
        target_minutes=target,
        started_at=started,
        due_at=due,
        met_at=met,
        closed_at=closed,
        breached=late is not None,
        late_minutes=late,
    )


def compute(
    *,
    start: datetime,
    targets: Targets,
    updates: Sequence[Update],
    resolved_at: datetime | None,
    now: datetime,
) -> list[ClockValue]:
    """Every clock of one account: acknowledgement, the update sequence, resolution."""
    ordered = sorted(updates, key=lambda u: u.at)
    first_any = ordered[0].at if ordered else None
    clocks = [
        _clock(
            ClockKind.ACKNOWLEDGEMENT,
            0,
            targets.acknowledgement_minutes,
            start,
            met=first_any,
            closed=None,
            now=now,
        )
    ]
    clocks += _update_clocks(start, targets, ordered, resolved_at, now)
    clocks.append(
        _clock(
            ClockKind.RESOLUTION,
            0,
            targets.resolution_minutes,
            start,
            met=resolved_at,
            closed=None,
            now=now,
        )
    )
    return clocks


def _update_clocks(
    start: datetime,
    targets: Targets,
    ordered: Sequence[Update],
    resolved_at: datetime | None,
    now: datetime,
) -> list[ClockValue]:
    substantive = [
        u.at
        for u in ordered
        if not u.acknowledgement_only and (resolved_at is None or u.at <= resolved_at)
    ]
    clocks: list[ClockValue] = []
    started, target = start, targets.first_update_minutes
    for sequence in range(len(substantive) + 1):
        # The first substantive update at or after this clock's start meets it (an update
        # before the incident's start, with a back-dated start, meets number 0).
        met = substantive[sequence] if sequence < len(substantive) else None
        closed = resolved_at if met is None else None
        clocks.append(
            _clock(ClockKind.UPDATE, sequence, target, started, met=met, closed=closed, now=now)
        )
        if met is None or (resolved_at is not None and met >= resolved_at):
            break
        started, target = met, targets.update_interval_minutes
    return clocks
