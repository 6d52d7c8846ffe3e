"""`escalate schedule ...` in-process on both engines, against the same database the API
reads (the CLI runs on the real clock, so every moment is given explicitly)."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi.testclient import TestClient
from schedule_support import RowCounts, weekly_layer
from typer.testing import CliRunner, Result

from escalate.auth.models import User
from escalate.cli.main import app


def _run(db_url: str, *args: str) -> Result:
    env = {"ESCALATE_DATABASE_URL": db_url, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def test_create_from_a_file_then_oncall_gaps_and_an_override(
    db_url: str,
    tmp_path: Path,
    people: list[User],
    client: TestClient,
    admin_headers: dict[str, str],
) -> None:
    office = [{"weekdays": [0, 1, 2, 3, 4], "start": "09:00", "end": "17:00"}]
    spec = {
        "name": "Support",
        "time_zone": "Europe/Berlin",
        "layers": [weekly_layer(people[:2], restrictions=office)],
    }
    path = tmp_path / "schedule.json"
    path.write_text(json.dumps(spec))
    created = _run(db_url, "schedule", "create", "--file", str(path))
    assert created.exit_code == 0, created.output
    schedule_id = int(created.stdout.strip())

    listed = json.loads(_run(db_url, "schedule", "list", "--json").stdout)
    assert [(s["id"], s["name"]) for s in listed["items"]] == [(schedule_id, "Support")]

    who = _run(db_url, "schedule", "oncall", "support", "--at", "2025-10-22T12:00:00Z", "--json")
    assert who.exit_code == 0, who.output
    body = json.loads(who.stdout)
    assert body["user"]["id"] == people[0].id
    assert (body["start"], body["end"]) == ("2025-10-22T07:00:00Z", "2025-10-22T15:00:00Z")
    # The same answer as the API's, in the same shape.
    api = client.get(
        f"/api/v1/schedules/{schedule_id}/oncall",
        params={"at": "2025-10-22T12:00:00Z"},
        headers=admin_headers,
    ).json()
    assert api == body
    text = _run(db_url, "schedule", "oncall", str(schedule_id), "--at", "2025-10-22T12:00Z")
    assert "Ana" in text.stdout and "CEST" in text.stdout
    night = _run(db_url, "schedule", "oncall", "Support", "--at", "2025-10-22T22:00Z")
    assert night.exit_code == 0 and "Nobody is on call" in night.stdout

    gaps = _run(
        db_url,
        "schedule",
        "gaps",
        "Support",
        "--start",
        "2025-10-22T00:00:00Z",
        "--end",
        "2025-10-23T00:00:00Z",
        "--json",
    )
    assert [(g["start"], g["end"]) for g in json.loads(gaps.stdout)["gaps"]] == [
        ("2025-10-22T00:00:00Z", "2025-10-22T07:00:00Z"),
        ("2025-10-22T15:00:00Z", "2025-10-23T00:00:00Z"),
    ]

    added = _run(
        db_url,
        "schedule",
        "override",
        "add",
        "Support",
        "--user",
        people[2].email,
        "--start",
        "2025-10-22T15:00:00Z",
        "--end",
        "2025-10-22T23:00:00Z",
    )
    assert added.exit_code == 0, added.output
    covered = _run(db_url, "schedule", "oncall", "Support", "--at", "2025-10-22T22:00Z", "--json")
    assert json.loads(covered.stdout)["user"]["id"] == people[2].id
    overlapping = _run(
        db_url,
        "schedule",
        "override",
        "add",
        "Support",
        "--user",
        people[1].email,
        "--start",
        "2025-10-22T20:00:00Z",
        "--end",
        "2025-10-23T01:00:00Z",
    )
    assert overlapping.exit_code == 1
    assert "--start" in overlapping.stderr and "overlaps" in overlapping.stderr


def test_create_from_flags_and_the_errors_name_the_option(
    db_url: str, people: list[User], row_counts: RowCounts
) -> None:
    created = _run(
        db_url,
        "schedule",
        "create",
        "--name",
        "Night desk",
        "--time-zone",
        "America/New_York",
        "--participant",
        people[0].email,
        "--participant",
        str(people[1].id),
        "--rotation",
        "hours",
        "--hours",
        "12",
        "--handoff",
        "2025-10-22T07:00:00-04:00",
        "--json",
    )
    assert created.exit_code == 0, created.output
    layer = json.loads(created.stdout)["layers"][0]
    assert layer["rotation_hours"] == 12
    assert [p["id"] for p in layer["participants"]] == [people[0].id, people[1].id]

    before = row_counts()
    bad_zone = _run(
        db_url, "schedule", "create", "--name", "X", "--time-zone", "Nowhere/Land",
        "--participant", people[0].email,
    )  # fmt: skip
    assert bad_zone.exit_code == 1 and "--time-zone" in bad_zone.stderr
    nobody = _run(db_url, "schedule", "create", "--name", "Y", "--time-zone", "UTC")
    assert nobody.exit_code == 1 and "--participant" in nobody.stderr
    duplicate = _run(
        db_url, "schedule", "create", "--name", "NIGHT DESK", "--participant", people[0].email
    )
    assert duplicate.exit_code == 1 and "already exists" in duplicate.stderr
    assert row_counts() == before

    missing = _run(db_url, "schedule", "oncall", "No such schedule")
    assert missing.exit_code == 3
    bad_moment = _run(db_url, "schedule", "oncall", "Night desk", "--at", "soon")
    assert bad_moment.exit_code == 1 and "--at" in bad_moment.stderr
