"""The schedules API on both engines: the contract (list, oncall, gaps), the questions
(timeline, fairness, my shifts, coverage) and the rules for writing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from schedule_support import MakeSchedule, TokenFor, weekly_layer

from escalate.auth.models import Role, User
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.oncall.models import EscalationPolicy, EscalationStep, EscalationTarget

API = "/api/v1/schedules"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_list_oncall_and_gaps_follow_the_contract(
    client: TestClient,
    admin_headers: dict[str, str],
    people: list[User],
    make_schedule: MakeSchedule,
) -> None:
    created = make_schedule([weekly_layer(people[:2])], name="Support 24/7")
    assert [p["id"] for p in created["layers"][0]["participants"]] == [
        people[0].id,
        people[1].id,
    ]

    listed = client.get(API, headers=admin_headers).json()
    assert listed["total"] == 1
    assert listed["items"][0] == {
        "id": created["id"],
        "name": "Support 24/7",
        "description": None,
        "time_zone": "Europe/Berlin",
    }

    # The clock says Wednesday 22 Oct 2025 12:00Z: Ana's week, which ends an hour late in
    # UTC because Berlin leaves summer time on Sunday 26 Oct.
    now = client.get(f"{API}/{created['id']}/oncall", headers=admin_headers).json()
    assert now["user"]["id"] == people[0].id
    assert at(now["start"]) == datetime(2025, 10, 20, 7, tzinfo=UTC)
    assert at(now["end"]) == datetime(2025, 10, 27, 8, tzinfo=UTC)
    assert now["source"] == "layer:Primary"

    later = client.get(
        f"{API}/{created['id']}/oncall",
        params={"at": "2025-10-27T10:00:00+01:00"},
        headers=admin_headers,
    ).json()
    assert later["user"]["id"] == people[1].id
    assert at(later["start"]) == datetime(2025, 10, 27, 8, tzinfo=UTC)
    assert at(later["end"]) == datetime(2025, 11, 3, 8, tzinfo=UTC)

    before_start = client.get(
        f"{API}/{created['id']}/oncall",
        params={"at": "2025-10-19T12:00:00Z"},
        headers=admin_headers,
    ).json()
    assert before_start["user"] is None and before_start["start"] is None

    gaps = client.get(
        f"{API}/{created['id']}/gaps",
        params={"start": "2025-10-19T00:00:00Z", "end": "2025-10-21T00:00:00Z"},
        headers=admin_headers,
    ).json()
    assert [(at(g["start"]), at(g["end"])) for g in gaps["gaps"]] == [
        (datetime(2025, 10, 19, tzinfo=UTC), datetime(2025, 10, 20, 7, tzinfo=UTC))
    ]


def test_restricted_layer_leaves_the_nights_as_gaps(
    client: TestClient,
    admin_headers: dict[str, str],
    people: list[User],
    make_schedule: MakeSchedule,
) -> None:
    office = weekly_layer(
        people[:1],
        restrictions=[{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}],
    )
    schedule = make_schedule([office])
    gaps = client.get(
        f"{API}/{schedule['id']}/gaps",
        params={"start": "2025-10-22T00:00:00Z", "end": "2025-10-23T00:00:00Z"},
        headers=admin_headers,
    ).json()["gaps"]
    assert [(at(g["start"]), at(g["end"])) for g in gaps] == [
        (datetime(2025, 10, 22, 0, tzinfo=UTC), datetime(2025, 10, 22, 7, tzinfo=UTC)),
        (datetime(2025, 10, 22, 15, tzinfo=UTC), datetime(2025, 10, 23, 0, tzinfo=UTC)),
    ]


def test_daily_hand_off_keeps_berlin_wall_time_across_the_dst_change(
    client: TestClient,
    admin_headers: dict[str, str],
    people: list[User],
    make_schedule: MakeSchedule,
) -> None:
    daily = {
        "name": "Daily",
        "rotation": "daily",
        "start_at": "2025-10-24T09:00:00+02:00",
        "participants": [people[0].id, people[1].id],
    }
    schedule = make_schedule([daily])
    body = client.get(
        f"{API}/{schedule['id']}/timeline",
        params={"start": "2025-10-24T07:00:00Z", "end": "2025-10-27T08:00:00Z"},
        headers=admin_headers,
    ).json()
    shifts = [(s["user"]["id"], at(s["start"]), at(s["end"])) for s in body["shifts"]]
    ana, ben = people[0].id, people[1].id
    assert shifts == [
        (ana, datetime(2025, 10, 24, 7, tzinfo=UTC), datetime(2025, 10, 25, 7, tzinfo=UTC)),
        # 09:00 CEST to 09:00 CET: the night the clocks go back makes this shift 25 hours.
        (ben, datetime(2025, 10, 25, 7, tzinfo=UTC), datetime(2025, 10, 26, 8, tzinfo=UTC)),
        (ana, datetime(2025, 10, 26, 8, tzinfo=UTC), datetime(2025, 10, 27, 8, tzinfo=UTC)),
    ]
    assert body["gaps"] == []
    fairness = client.get(
        f"{API}/{schedule['id']}/fairness",
        params={"start": "2025-10-24T07:00:00Z", "end": "2025-10-27T08:00:00Z"},
        headers=admin_headers,
    ).json()["items"]
    hours = {row["user"]["id"]: (row["hours"], row["off_hours"]) for row in fairness}
    # Ana: Fri 24h (8 of them business hours) + Sun 24h (none): 48h, 40 outside.
    # Ben: all of Saturday and the extra hour: 25h, all outside business hours.
    assert hours == {ana: (48.0, 40.0), ben: (25.0, 25.0)}


def test_new_york_spring_forward_makes_one_daily_shift_23_hours(
    client: TestClient,
    admin_headers: dict[str, str],
    people: list[User],
    make_schedule: MakeSchedule,
) -> None:
    daily = {
        "name": "Daily",
        "rotation": "daily",
        "start_at": "2026-03-06T09:00:00-05:00",
        "participants": [people[0].id, people[1].id],
    }
    schedule = make_schedule([daily], time_zone="America/New_York")
    # Sunday 8 March 2026: clocks jump from 02:00 EST to 03:00 EDT. Ana has the 6th, Ben
    # the 7th (through the jump), Ana again from 09:00 EDT on the 8th.
    answer = client.get(
        f"{API}/{schedule['id']}/oncall",
        params={"at": "2026-03-08T08:00:00-04:00"},
        headers=admin_headers,
    ).json()
    assert answer["user"]["id"] == people[1].id
    assert (at(answer["start"]), at(answer["end"])) == (
        datetime(2026, 3, 7, 14, tzinfo=UTC),  # 09:00 EST
        datetime(2026, 3, 8, 13, tzinfo=UTC),  # 09:00 EDT, 23 hours later
    )
    after = client.get(
        f"{API}/{schedule['id']}/oncall",
        params={"at": "2026-03-08T09:00:00-04:00"},
        headers=admin_headers,
    ).json()
    assert after["user"]["id"] == people[0].id
    assert at(after["end"]) - at(after["start"]) == timedelta(hours=24)


def test_an_override_wins_and_shows_in_timeline_and_my_shifts(
    client: TestClient,
    admin_headers: dict[str, str],
    token_for: TokenFor,
    people: list[User],
    make_schedule: MakeSchedule,
) -> None:
    schedule = make_schedule([weekly_layer(people[:2])])
    override = client.post(
        f"{API}/{schedule['id']}/overrides",
        json={
            "user": people[2].email,
            "start_at": "2025-10-22T20:00:00Z",
            "end_at": "2025-10-23T06:00:00Z",
            "note": "Ana's dentist",
        },
        headers=admin_headers,
    )
    assert override.status_code == 201, override.text
    assert override.json()["user"]["id"] == people[2].id

    timeline = client.get(
        f"{API}/{schedule['id']}/timeline",
        params={"start": "2025-10-22T00:00:00Z", "end": "2025-10-24T00:00:00Z"},
        headers=admin_headers,
    ).json()["shifts"]
    assert [(s["user"]["id"], s["source"]) for s in timeline] == [
        (people[0].id, "layer:Primary"),
        (people[2].id, "override"),
        (people[0].id, "layer:Primary"),
    ]
    covered = client.get(
        f"{API}/{schedule['id']}/oncall",
        params={"at": "2025-10-22T23:00:00Z"},
        headers=admin_headers,
    ).json()
    assert covered["user"]["id"] == people[2].id and covered["source"] == "override"

    # Chloe asks for her own shifts with her own token.
    mine = client.get(
        "/api/v1/me/shifts",
        params={"start": "2025-10-20T00:00:00Z", "end": "2025-11-10T00:00:00Z"},
        headers=token_for(people[2]),
    ).json()
    assert [(i["schedule_id"], i["start"], i["end"]) for i in mine["items"]] == [
        (schedule["id"], "2025-10-22T20:00:00Z", "2025-10-23T06:00:00Z")
    ]

    deleted = client.delete(
        f"{API}/{schedule['id']}/overrides/{override.json()['id']}", headers=admin_headers
    )
    assert deleted.status_code == 204
    again = client.get(
        f"{API}/{schedule['id']}/oncall",
        params={"at": "2025-10-22T23:00:00Z"},
        headers=admin_headers,
    ).json()
    assert again["user"]["id"] == people[0].id


def test_coverage_warns_first_about_schedules_a_policy_pages(
    client: TestClient,
    admin_headers: dict[str, str],
    people: list[User],
    make_schedule: MakeSchedule,
    container: Container,
) -> None:
    office_hours = [{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}]
    unused = make_schedule([weekly_layer(people[:1], restrictions=office_hours)], name="A spare")
    paged = make_schedule([weekly_layer(people[:1], restrictions=office_hours)], name="Support")
    make_schedule([weekly_layer(people[:2])], name="Round the clock")
    now = container.clock.now()
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        policy = EscalationPolicy(name="Support policy", created_at=now, updated_at=now)
        step = EscalationStep(position=0, delay_minutes=5)
        step.targets = [EscalationTarget(schedule_id=paged["id"])]
        policy.steps = [step]
        s.add(policy)

    body = client.get("/api/v1/oncall/coverage", headers=admin_headers).json()
    assert [(w["schedule_name"], w["used_by_policy"]) for w in body["items"]] == [
        ("Support", True),
        ("A spare", False),
    ]
    first_gap = body["items"][0]["gaps"][0]
    # Wednesday 12:00Z is inside office hours; the first hole opens at 17:00 Berlin.
    assert (at(first_gap["start"]), at(first_gap["end"])) == (
        datetime(2025, 10, 22, 15, tzinfo=UTC),
        datetime(2025, 10, 23, 7, tzinfo=UTC),
    )

    refused = client.delete(f"{API}/{paged['id']}", headers=admin_headers)
    assert refused.status_code == 409 and refused.json()["field"] == "schedule_id"
    assert "Support policy" in refused.json()["detail"]
    assert client.delete(f"{API}/{unused['id']}", headers=admin_headers).status_code == 204
    assert client.get(f"{API}/{unused['id']}", headers=admin_headers).status_code == 404


def test_put_replaces_the_layers(
    client: TestClient,
    admin_headers: dict[str, str],
    people: list[User],
    make_schedule: MakeSchedule,
) -> None:
    schedule = make_schedule([weekly_layer(people[:2])], name="Ops")
    body = {
        "name": "Ops EU",
        "time_zone": "Europe/Berlin",
        "layers": [weekly_layer([people[2]], name="Only Chloe")],
    }
    replaced = client.put(f"{API}/{schedule['id']}", json=body, headers=admin_headers)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["name"] == "Ops EU"
    assert [layer["name"] for layer in replaced.json()["layers"]] == ["Only Chloe"]
    now = client.get(f"{API}/{schedule['id']}/oncall", headers=admin_headers).json()
    assert now["user"]["id"] == people[2].id


def test_responders_read_and_only_managers_write(
    client: TestClient, make_token: Any, people: list[User], make_schedule: MakeSchedule
) -> None:
    schedule = make_schedule([weekly_layer(people[:1])])
    responder = make_token(Role.RESPONDER)
    assert client.get(f"{API}/{schedule['id']}", headers=responder).status_code == 200
    body = {"name": "Mine", "time_zone": "UTC", "layers": []}
    assert client.post(API, json=body, headers=responder).status_code == 403
    manager = make_token(Role.MANAGER)
    assert client.post(API, json=body, headers=manager).status_code == 201
    assert client.get(API).status_code == 401
