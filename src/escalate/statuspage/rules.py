"""Pure rules of the status page: a service's state from the incidents affecting it, and
the worst state of each day of the history. Times are aware UTC datetimes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum


class ServiceState(StrEnum):
    """Ordered from best to worst."""

    OPERATIONAL = "operational"
    DEGRADED = "degraded"
    OUTAGE = "outage"

    @property
    def rank(self) -> int:
        return list(ServiceState).index(self)


def worst(states: Iterable[ServiceState]) -> ServiceState:
    return max(states, key=lambda s: s.rank, default=ServiceState.OPERATIONAL)


def impact_of(levels: Iterable[str], severity: str) -> ServiceState:
    """An incident's public impact: the worst impact level of its affected accounts, or,
    with none recorded, outage for SEV1 and SEV2 and degraded below."""
    states = [
        ServiceState.OUTAGE if level == "outage" else ServiceState.DEGRADED for level in levels
    ]
    if states:
        return worst(states)
    return ServiceState.OUTAGE if severity in ("SEV1", "SEV2") else ServiceState.DEGRADED


@dataclass(frozen=True)
class Window:
    """When an incident was publicly under way, and how bad it was."""

    start: datetime
    end: datetime | None
    state: ServiceState


def history(
    windows: Iterable[Window], *, today: date, days: int, now: datetime
) -> list[tuple[date, ServiceState]]:
    """The worst state of each of the last `days` days (oldest first, today last)."""
    spans = list(windows)
    result = []
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        day_start = datetime.combine(day, time(), tzinfo=UTC)
        day_end = day_start + timedelta(days=1)
        overlapping = [w.state for w in spans if w.start < day_end and (w.end or now) >= day_start]
        result.append((day, worst(overlapping)))
    return result


def uptime_percent(windows: Iterable[Window], *, since: datetime, now: datetime) -> float:
    """The share of [since, now] not under an outage, in percent to two decimals (as
    public status pages show it; a degradation counts as up). Overlapping outages count
    once."""
    total = (now - since).total_seconds()
    if total <= 0:
        return 100.0
    spans = sorted(
        (max(w.start, since), min(w.end or now, now))
        for w in windows
        if w.state == ServiceState.OUTAGE
    )
    down = 0.0
    covered_until = since
    for start, end in spans:
        start = max(start, covered_until)
        if end > start:
            down += (end - start).total_seconds()
            covered_until = end
    return round(100 * (1 - down / total), 2)
