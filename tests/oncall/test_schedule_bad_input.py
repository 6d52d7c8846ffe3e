"""Refused schedule input on both engines: a 4xx that names the field, and not one row
written (the tables are counted before and after)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from schedule_support import MakeSchedule, RowCounts, weekly_layer

from escalate.auth.models import User

API = "/api/v1/schedules"

LayerChange = Callable[[list[User]], dict[str, Any]]

BAD_LAYERS: list[tuple[str, LayerChange, str]] = [
    ("no participants", lambda p: weekly_layer([]), "layers[0].participants"),
    (
        "hourly without hours",
        lambda p: weekly_layer(p, rotation="hours"),
        "layers[0].rotation_hours",
    ),
    (
        "zero hours",
        lambda p: weekly_layer(p, rotation="hours", rotation_hours=0),
        "layers[0].rotation_hours",
    ),
    (
        "end before start",
        lambda p: weekly_layer(p, end_at="2025-10-01T00:00:00Z"),
        "layers[0].end_at",
    ),
    (
        "naive start",
        lambda p: weekly_layer(p, start_at="2025-10-20T09:00:00"),
        "layers[0].start_at",
    ),
    (
        "unknown user by e-mail",
        lambda p: weekly_layer(p, participants=[p[0].email, "nobody@example.com"]),
        "layers[0].participants[1]",
    ),
    (
        "unknown user by id",
        lambda p: weekly_layer(p, participants=[999_999]),
        "layers[0].participants[0]",
    ),
    (
        "restriction on no weekday",
        lambda p: weekly_layer(
            p, restrictions=[{"weekdays": [], "start": "09:00", "end": "17:00"}]
        ),
        "layers[0].restrictions[0].weekdays",
    ),
    (
        "restriction on day 7",
        lambda p: weekly_layer(
            p, restrictions=[{"weekdays": [7], "start": "09:00", "end": "17:00"}]
        ),
        "layers[0].restrictions[0].weekdays[0]",
    ),
    (
        "restriction of no length",
        lambda p: weekly_layer(
            p, restrictions=[{"weekdays": [1], "start": "09:00", "end": "09:00"}]
        ),
        "layers[0].restrictions[0].end",
    ),
    (
        "unknown rotation",
        lambda p: weekly_layer(p, rotation="fortnightly"),
        "layers[0].rotation",
    ),
]


@pytest.mark.parametrize(
    ("change", "field"),
    [pytest.param(change, field, id=name) for name, change, field in BAD_LAYERS],
)
def test_a_bad_layer_names_its_field_and_writes_nothing(
    client: TestClient,
    admin_headers: dict[str, str],
    people: list[User],
    row_counts: RowCounts,
    change: LayerChange,
    field: str,
) -> None:
    before = row_counts()
    # The first layer is fine: a refusal must not leave it behind either.
    body = {
        "name": "Broken",
        "time_zone": "Europe/Berlin",
        "layers": [change(people), weekly_layer(people)],
    }
    response = client.post(API, json=body, headers=admin_headers)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field
    assert row_counts() == before


def test_unknown_time_zone_and_inactive_user_are_refused(
    client: TestClient,
    admin_headers: dict[str, str],
    people: list[User],
    row_counts: RowCounts,
    deactivate: Callable[[User], None],
) -> None:
    before = row_counts()
    body = {"name": "Mars", "time_zone": "Mars/Olympus_Mons", "layers": [weekly_layer(people)]}
    response = client.post(API, json=body, headers=admin_headers)
    assert response.status_code == 422 and response.json()["field"] == "time_zone"

    deactivate(people[1])
    body = {"name": "Gone", "time_zone": "UTC", "layers": [weekly_layer(people)]}
    response = client.post(API, json=body, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["field"] == "layers[0].participants[1]"
    assert "deactivated" in response.json()["detail"]
    assert row_counts() == before


def test_names_are_unique_regardless_of_case(
    client: TestClient,
    admin_headers: dict[str, str],
    people: list[User],
    make_schedule: MakeSchedule,
    row_counts: RowCounts,
) -> None:
    make_schedule([weekly_layer(people)], name="Support")
    before = row_counts()
    body = {"name": "SUPPORT", "time_zone": "UTC", "layers": [weekly_layer(people)]}
    response = client.post(API, json=body, headers=admin_headers)
    assert response.status_code == 409 and response.json()["field"] == "name"
    assert row_counts() == before


def test_a_bad_replacement_keeps_the_old_schedule_whole(
    client: TestClient,
    admin_headers: dict[str, str],
    people: list[User],
    make_schedule: MakeSchedule,
    row_counts: RowCounts,
) -> None:
    schedule = make_schedule([weekly_layer(people)], name="Keep me")
    before = row_counts()
    body = {"name": "Changed", "time_zone": "UTC", "layers": [weekly_layer([])]}
    response = client.put(f"{API}/{schedule['id']}", json=body, headers=admin_headers)
    assert response.status_code == 422
    assert response.json()["field"] == "layers[0].participants"
    assert row_counts() == before
    kept = client.get(f"{API}/{schedule['id']}", headers=admin_headers).json()
    assert kept["name"] == "Keep me" and len(kept["layers"][0]["participants"]) == 3


def test_overlapping_overrides_are_refused(
    client: TestClient,
    admin_headers: dict[str, str],
    people: list[User],
    make_schedule: MakeSchedule,
    row_counts: RowCounts,
) -> None:
    schedule = make_schedule([weekly_layer(people)])
    url = f"{API}/{schedule['id']}/overrides"
    first = {"user": people[1].id, "start_at": "2025-10-23T08:00Z", "end_at": "2025-10-23T12:00Z"}
    assert client.post(url, json=first, headers=admin_headers).status_code == 201
    before = row_counts()

    cases = [
        ({**first, "start_at": "2025-10-23T11:00Z", "end_at": "2025-10-23T13:00Z"}, "start_at"),
        ({**first, "end_at": "2025-10-23T07:00Z"}, "end_at"),
        ({**first, "user": "nobody@example.com"}, "user"),
        ({**first, "start_at": "2025-10-23T08:00:00"}, "start_at"),
    ]
    for body, field in cases:
        response = client.post(url, json=body, headers=admin_headers)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["field"] == field, body
    assert row_counts() == before
    # Touching end to start is not an overlap.
    touching = {**first, "start_at": "2025-10-23T12:00Z", "end_at": "2025-10-23T13:00Z"}
    assert client.post(url, json=touching, headers=admin_headers).status_code == 201


def test_bad_query_parameters(
    client: TestClient,
    admin_headers: dict[str, str],
    people: list[User],
    make_schedule: MakeSchedule,
) -> None:
    schedule = make_schedule([weekly_layer(people)])
    base = f"{API}/{schedule['id']}"
    naive = client.get(
        f"{base}/oncall", params={"at": "2025-10-22T12:00:00"}, headers=admin_headers
    )
    assert naive.status_code == 422 and naive.json()["field"] == "at"
    garbage = client.get(f"{base}/oncall", params={"at": "tomorrow"}, headers=admin_headers)
    assert garbage.status_code == 422 and garbage.json()["field"] == "at"

    too_long = {"start": "2025-01-01T00:00:00Z", "end": "2025-06-01T00:00:00Z"}
    backwards = {"start": "2025-02-01T00:00:00Z", "end": "2025-01-01T00:00:00Z"}
    for path in ("gaps", "timeline", "fairness"):
        for params in (too_long, backwards):
            response = client.get(f"{base}/{path}", params=params, headers=admin_headers)
            assert response.status_code == 422 and response.json()["field"] == "end", path
        missing = client.get(f"{base}/{path}", headers=admin_headers)
        assert missing.status_code == 422 and missing.json()["field"] == "start"

    assert client.get(f"{API}/999999/oncall", headers=admin_headers).status_code == 404
    assert client.get(f"{API}/0/gaps", headers=admin_headers).status_code in (404, 422)
