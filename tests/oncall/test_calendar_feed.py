"""The iCalendar feeds: created through the API, fetched without a login at the secret
URL, parsed back with icalendar; rotating a URL kills the old one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from icalendar import Calendar
from schedule_support import MakeSchedule, RowCounts, TokenFor, weekly_layer
from sqlalchemy import select

from escalate import keys
from escalate.auth.models import User
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.oncall.models import CalendarFeed


def _fetch(client: TestClient, url: str) -> Calendar:
    response = client.get(url.removeprefix("http://testserver"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    return Calendar.from_ical(response.content)


def _events(calendar: Calendar) -> list[tuple[str, str, datetime, datetime]]:
    return [
        (str(e["UID"]), str(e["SUMMARY"]), e.decoded("DTSTART"), e.decoded("DTEND"))
        for e in calendar.walk("VEVENT")
    ]


def test_schedule_feed_lists_every_shift_in_utc_with_stable_uids(
    client: TestClient,
    admin_headers: dict[str, str],
    people: list[User],
    make_schedule: MakeSchedule,
    container: Container,
    clock: FrozenClock,
) -> None:
    schedule = make_schedule([weekly_layer(people[:2])], name="Support")
    created = client.post(
        f"/api/v1/schedules/{schedule['id']}/calendar-feed", headers=admin_headers
    )
    assert created.status_code == 201, created.text
    url, token = created.json()["url"], created.json()["token"]
    assert url == f"http://testserver/calendar/{token}.ics"
    with container.session_factory() as session:
        stored = session.scalars(select(CalendarFeed.token_hash)).all()
    assert stored == [keys.digest(token)]  # the secret itself is nowhere

    calendar = _fetch(client, url)
    assert str(calendar["VERSION"]) == "2.0"
    events = _events(calendar)
    # The layer starts on Mon 20 Oct, so nothing comes before Ana's first week.
    first_uid, summary, start, end = events[0]
    assert summary == "On call: Ana"
    assert (start, end) == (
        datetime(2025, 10, 20, 7, tzinfo=UTC),
        datetime(2025, 10, 27, 8, tzinfo=UTC),
    )
    assert start.utcoffset() == timedelta(0)
    assert events[1][1:] == (
        "On call: Ben",
        datetime(2025, 10, 27, 8, tzinfo=UTC),
        datetime(2025, 11, 3, 8, tzinfo=UTC),
    )
    assert len({uid for uid, *_ in events}) == len(events)
    assert events[-1][2] < clock.now() + timedelta(days=60) <= events[-1][3]
    # DTSTART is written in UTC (the Z form), not in a floating or zoned time.
    assert b"DTSTART:20251020T070000Z" in client.get(url.removeprefix("http://testserver")).content

    # Ten days later the window opens mid-way through Ana's week; her shift keeps its real
    # start and its UID, so calendar apps update in place rather than duplicate.
    clock.advance(days=10)
    later = dict((uid, (s, e)) for uid, _, s, e in _events(_fetch(client, url)))
    assert later[first_uid] == (start, end)
    assert later[events[1][0]] == events[1][2:]

    rotated = client.post(
        f"/api/v1/schedules/{schedule['id']}/calendar-feed", headers=admin_headers
    ).json()
    assert rotated["token"] != token
    old = client.get(url.removeprefix("http://testserver"))
    assert old.status_code == 401 and old.json()["field"] == "token"
    assert client.get(rotated["url"].removeprefix("http://testserver")).status_code == 200


def test_personal_feed_carries_only_my_shifts_across_schedules(
    client: TestClient,
    token_for: TokenFor,
    people: list[User],
    make_schedule: MakeSchedule,
) -> None:
    make_schedule([weekly_layer(people[:2])], name="Support")
    make_schedule([weekly_layer([people[1], people[2]])], name="Database")
    ben = token_for(people[1])
    created = client.post("/api/v1/me/calendar-feed", headers=ben)
    assert created.status_code == 201, created.text
    events = _events(_fetch(client, created.json()["url"]))
    summaries = {summary for _, summary, _, _ in events}
    assert summaries == {"On call: Support", "On call: Database"}
    # Ben is first in Database (from 20 Oct) and second in Support (from 27 Oct).
    starts = {(summary, start) for _, summary, start, _ in events}
    assert ("On call: Database", datetime(2025, 10, 20, 7, tzinfo=UTC)) in starts
    assert ("On call: Support", datetime(2025, 10, 27, 8, tzinfo=UTC)) in starts
    assert ("On call: Support", datetime(2025, 10, 20, 7, tzinfo=UTC)) not in starts


def test_unknown_tokens_open_nothing(client: TestClient, row_counts: RowCounts) -> None:
    for token in ("esc_cal_nothing", "x" * 5000):
        response = client.get(f"/calendar/{token}.ics")
        assert response.status_code == 401
    assert row_counts()["calendar_feeds"] == 0
