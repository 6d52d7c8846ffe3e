"""The status page's pure rules, with fixed dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from escalate.incidents.models import UpdateKind
from escalate.incidents.update_schemas import MAX_MESSAGE_CHARS, UpdateCreate
from escalate.incidents.updates import subject_line
from escalate.statuspage.rules import (
    ServiceState,
    Window,
    history,
    impact_of,
    uptime_percent,
    worst,
)

NOW = datetime(2025, 10, 22, 12, 0, tzinfo=UTC)


def test_impact_is_the_worst_level_or_follows_the_severity() -> None:
    assert impact_of(["degraded", "outage"], "SEV4") == ServiceState.OUTAGE
    assert impact_of(["degraded"], "SEV1") == ServiceState.DEGRADED
    assert impact_of([], "SEV2") == ServiceState.OUTAGE
    assert impact_of([], "SEV3") == ServiceState.DEGRADED
    assert worst([]) == ServiceState.OPERATIONAL


def test_history_marks_every_day_a_window_touches_with_its_worst_state() -> None:
    windows = [
        # 20 Oct 23:00 to 21 Oct 01:00: both days.
        Window(
            datetime(2025, 10, 20, 23, tzinfo=UTC),
            datetime(2025, 10, 21, 1, tzinfo=UTC),
            ServiceState.DEGRADED,
        ),
        Window(
            datetime(2025, 10, 21, 9, tzinfo=UTC),
            datetime(2025, 10, 21, 10, tzinfo=UTC),
            ServiceState.OUTAGE,
        ),
        # Still open: up to now.
        Window(datetime(2025, 10, 22, 6, tzinfo=UTC), None, ServiceState.DEGRADED),
    ]
    days = dict(history(windows, today=NOW.date(), days=90, now=NOW))
    assert len(days) == 90
    assert min(days) == NOW.date() - timedelta(days=89)
    assert days[date(2025, 10, 20)] == ServiceState.DEGRADED
    assert days[date(2025, 10, 21)] == ServiceState.OUTAGE
    assert days[date(2025, 10, 22)] == ServiceState.DEGRADED
    assert days[date(2025, 10, 19)] == ServiceState.OPERATIONAL


def test_a_mail_subject_is_one_line_whatever_the_names() -> None:
    assert subject_line(UpdateKind.IDENTIFIED, "Checkout API\r\nBcc: x@example.com") == (
        "[Identified] Checkout API Bcc: x@example.com"
    )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=10_050))
def test_a_message_is_accepted_exactly_when_trimmed_it_has_1_to_10000_characters(
    text: str,
) -> None:
    trimmed = text.strip()
    try:
        data = UpdateCreate(kind="investigating", audience="customers", message=text)
    except ValidationError as exc:
        assert not 1 <= len(trimmed) <= MAX_MESSAGE_CHARS
        assert exc.errors()[0]["loc"] == ("message",)
    else:
        assert 1 <= len(trimmed) <= MAX_MESSAGE_CHARS
        assert data.message == trimmed


def test_uptime_counts_outages_once_and_degradations_as_up() -> None:
    since = NOW - timedelta(days=90)
    six_hours = Window(
        NOW - timedelta(days=3), NOW - timedelta(days=3) + timedelta(hours=6), ServiceState.OUTAGE
    )
    overlapping = Window(six_hours.start + timedelta(hours=2), six_hours.end, ServiceState.OUTAGE)
    slow = Window(NOW - timedelta(days=10), NOW - timedelta(days=9), ServiceState.DEGRADED)
    before = Window(since - timedelta(days=1), since + timedelta(hours=3), ServiceState.OUTAGE)
    assert uptime_percent([], since=since, now=NOW) == 100.0
    assert uptime_percent([six_hours, overlapping, slow], since=since, now=NOW) == 99.72
    # Only the part inside the window counts: 6 + 3 hours of 2,160.
    assert uptime_percent([six_hours, before], since=since, now=NOW) == 99.58
    # Still open: down until now.
    ongoing = Window(NOW - timedelta(hours=12), None, ServiceState.OUTAGE)
    assert uptime_percent([ongoing], since=since, now=NOW) == 99.44
