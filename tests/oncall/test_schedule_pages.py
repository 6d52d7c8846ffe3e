"""The on-call pages through the test client: the list, a schedule's timeline with gaps and
overrides, its forms (with CSRF, errors by field, nothing half-written), the calendar
link shown once, my shifts, and the dashboard's on-call panel and coverage warnings."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape

from fastapi.testclient import TestClient
from httpx2 import Response
from schedule_support import MakeSchedule, RowCounts, weekly_layer

from escalate.auth.models import Role, User

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
OFFICE = [{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}]


def csrf_of(response: Response) -> str:
    match = CSRF_RE.search(response.text)
    assert match, "no CSRF field on the page"
    return unescape(match.group(1))


def log_in(client: TestClient, user: User) -> None:
    form = client.get("/login")
    data = {"email": user.email, "password": PASSWORD, "csrf_token": csrf_of(form)}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303


def text_of(response: Response) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.text)))


def schedule_form(csrf: str, people: list[User], **changes: str) -> dict[str, str]:
    form = {
        "csrf_token": csrf,
        "slots": "2",
        "name": "Support desk",
        "time_zone": "Europe/Berlin",
        "description": "",
        "layers-0-name": "Office",
        "layers-0-rotation": "weekly",
        "layers-0-rotation_hours": "",
        "layers-0-handoff": "2025-10-20T09:00",
        "layers-0-participants": f"{people[0].email}\n{people[1].email}",
        "layers-0-restrictions": "Mon-Fri 09:00-17:00",
        # A weekend layer: the restriction's comma is part of it, not a separator.
        "layers-1-name": "Weekend",
        "layers-1-rotation": "daily",
        "layers-1-handoff": "2025-10-18T09:00",
        "layers-1-participants": people[2].email,
        "layers-1-restrictions": "Sat,Sun 10:00-14:00",
    }
    form.update(changes)
    return form


def test_pages_need_a_login(client: TestClient) -> None:
    for path in ("/schedules", "/schedules/1", "/my-shifts"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_create_through_the_form_then_see_the_timeline_with_gaps(
    client: TestClient,
    make_user: Callable[..., User],
    people: list[User],
    row_counts: RowCounts,
) -> None:
    log_in(client, make_user(Role.MANAGER))
    page = client.get("/schedules")
    assert page.status_code == 200 and "New schedule" in page.text
    csrf = csrf_of(page)

    before = row_counts()
    bad = client.post(
        "/schedules",
        data=schedule_form(csrf, people, **{"layers-0-restrictions": "weekdays 9 to 5"}),
        follow_redirects=False,
    )
    assert bad.status_code == 422
    assert 'id="schedule-layers-0-restrictions-error"' in bad.text
    assert "Mon-Fri 09:00-17:00" in text_of(bad)
    unknown = client.post(
        "/schedules",
        data=schedule_form(csrf, people, **{"layers-0-participants": "ghost@example.com"}),
        follow_redirects=False,
    )
    assert unknown.status_code == 422
    assert 'id="schedule-layers-0-participants-error"' in unknown.text
    zone = client.post(
        "/schedules",
        data=schedule_form(csrf, people, time_zone="Moon/Base"),
        follow_redirects=False,
    )
    assert zone.status_code == 422 and 'id="schedule-time_zone-error"' in zone.text
    assert row_counts() == before

    created = client.post("/schedules", data=schedule_form(csrf, people), follow_redirects=False)
    assert created.status_code == 303, created.text
    location = created.headers["location"]
    assert re.fullmatch(r"/schedules/\d+\?saved=created", location)

    # The clock: Wednesday 22 Oct 2025, 14:00 in Berlin; Ana's office week.
    detail = client.get(location)
    assert detail.status_code == 200
    text = text_of(detail)
    assert "Schedule created." in text
    assert "On call now" in text and "Ana" in text
    # Office hours only: each weekday has two gaps (before 09:00 and after 17:00).
    assert detail.text.count("oncall-bar oncall-gap") >= 7
    assert "Nobody on call from" in text
    assert "Mon,Tue,Wed,Thu,Fri 09:00-17:00" in text
    assert "Sat,Sun 10:00-14:00" in text
    assert client.get("/schedules").text.count("Support desk") == 1


def test_override_form_calendar_link_and_my_shifts(
    client: TestClient,
    make_user: Callable[..., User],
    people: list[User],
    make_schedule: MakeSchedule,
    row_counts: RowCounts,
) -> None:
    schedule = make_schedule([weekly_layer(people[:2], restrictions=OFFICE)], name="Payments")
    log_in(client, make_user(Role.MANAGER))
    url = f"/schedules/{schedule['id']}"
    csrf = csrf_of(client.get(url))

    override = {
        "csrf_token": csrf,
        "user": people[2].email,
        "start_at": "2025-10-22T18:00",
        "end_at": "2025-10-23T02:00",
        "note": "Launch night",
    }
    added = client.post(f"{url}/overrides", data=override, follow_redirects=False)
    assert added.status_code == 303, added.text
    page = client.get(url)
    assert "oncall-bar oncall-override" in page.text
    assert "Launch night" in page.text
    # 18:00 Berlin is 16:00Z: the override's bar says so in the schedule's own time.
    assert "Chloe (override): 18:00 to 00:00" in unescape(page.text)

    before = row_counts()
    overlapping = client.post(f"{url}/overrides", data={**override, "start_at": "2025-10-22T20:00"})
    assert overlapping.status_code == 422 and 'id="override-start_at-error"' in overlapping.text
    no_csrf = client.post(f"{url}/overrides", data={**override, "csrf_token": "forged"})
    assert no_csrf.status_code == 403
    assert row_counts() == before

    feed = client.post(f"{url}/calendar-feed", data={"csrf_token": csrf})
    assert feed.status_code == 200
    match = re.search(r'id="feed-url">http://testserver(/calendar/[^<]+\.ics)<', feed.text)
    assert match, "the new calendar address is shown"
    assert client.get(match.group(1)).headers["content-type"].startswith("text/calendar")
    assert match.group(1) not in client.get(url).text  # shown once, never again

    client.cookies.clear()
    log_in(client, people[2])
    mine = client.get("/my-shifts")
    assert mine.status_code == 200
    assert "Payments" in mine.text and "Override" in text_of(mine)


def test_dashboard_shows_who_is_on_call_and_the_gaps(
    client: TestClient,
    make_user: Callable[..., User],
    people: list[User],
    make_schedule: MakeSchedule,
) -> None:
    make_schedule([weekly_layer(people[:2])], name="Round the clock")
    make_schedule([weekly_layer(people[2:], restrictions=OFFICE)], name="Office only")
    log_in(client, make_user(Role.VIEWER))
    page = client.get("/")
    assert page.status_code == 200
    text = text_of(page)
    assert "On call now" in text
    assert re.search(r"Round the clock Ana .*Ben, from", text)
    assert "Office only has nobody on call from 22 Oct 2025, 17:00 CEST" in text
    assert "Round the clock has nobody" not in text


def test_a_viewer_sees_no_forms_and_cannot_post(
    client: TestClient,
    make_user: Callable[..., User],
    people: list[User],
    make_schedule: MakeSchedule,
    row_counts: RowCounts,
) -> None:
    schedule = make_schedule([weekly_layer(people[:1])])
    log_in(client, make_user(Role.VIEWER))
    page = client.get(f"/schedules/{schedule['id']}")
    assert page.status_code == 200
    assert "Add an override" not in page.text and "Edit schedule" not in page.text
    csrf = csrf_of(page)  # the logout form's
    before = row_counts()
    refused = client.post("/schedules", data=schedule_form(csrf, people))
    assert refused.status_code == 403 and "may not" in text_of(refused)
    override = {
        "csrf_token": csrf,
        "user": people[1].email,
        "start_at": "2025-10-22T18:00",
        "end_at": "2025-10-23T02:00",
    }
    assert client.post(f"/schedules/{schedule['id']}/overrides", data=override).status_code == 403
    assert row_counts() == before
