"""Escalation policies through the API and the CLI, on both engines: targets by e-mail,
id and schedule name; bad input answers 4xx naming the field and writes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.cli.main import app
from escalate.oncall.models import EscalationPolicy, EscalationStep, EscalationTarget

URL = "/api/v1/escalation-policies"


def _run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(
        app, list(args), env={"ESCALATE_DATABASE_URL": db_url, "COLUMNS": "200"}
    )


def _counts(container: Container) -> tuple[int, int, int]:
    with container.session_factory() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (EscalationPolicy, EscalationStep, EscalationTarget)
        )


def test_create_read_update_delete(
    client: TestClient, container: Container, make_user, add_schedule, admin_headers
) -> None:
    james = make_user(Role.RESPONDER, name="James Wilson", email="james@example.com")
    schedule = add_schedule([james.id], name="Support 24/7")
    body = {
        "name": "Support",
        "description": "The support team, then James",
        "repeat_count": 2,
        "steps": [
            {"delay_minutes": 5, "schedules": ["support 24/7"]},
            {"delay_minutes": 15, "users": ["JAMES@example.com"], "notify_account_csm": True},
        ],
    }
    created = client.post(URL, headers=admin_headers, json=body)
    assert created.status_code == 201, created.text
    policy = created.json()
    assert policy["repeat_count"] == 2
    assert policy["steps"][0]["targets"] == [
        {"type": "schedule", "id": schedule, "name": "Support 24/7"}
    ]
    assert policy["steps"][1]["targets"] == [
        {"type": "user", "id": james.id, "name": "James Wilson"}
    ]
    assert policy["steps"][1]["notify_account_csm"] is True

    listed = client.get(URL, headers=admin_headers).json()
    assert [p["name"] for p in listed["items"]] == ["Support"]

    changed = client.patch(
        f"{URL}/{policy['id']}",
        headers=admin_headers,
        json={"name": "Support team", "steps": [{"delay_minutes": 3, "users": [james.id]}]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Support team"
    assert [s["delay_minutes"] for s in changed.json()["steps"]] == [3]
    assert _counts(container) == (1, 1, 1)

    assert client.delete(f"{URL}/{policy['id']}", headers=admin_headers).status_code == 204
    assert client.get(f"{URL}/{policy['id']}", headers=admin_headers).status_code == 404
    assert _counts(container) == (0, 0, 0)


@pytest.mark.parametrize(
    ("step", "repeat", "field"),
    [
        ({"delay_minutes": 5}, 0, "steps[0]"),
        ({"delay_minutes": 0, "users": ["a@example.com"]}, 0, "steps[0].delay_minutes"),
        ({"delay_minutes": -5, "users": ["a@example.com"]}, 0, "steps[0].delay_minutes"),
        ({"delay_minutes": 5, "users": ["nobody@example.com"]}, 0, "steps[0].users[0]"),
        ({"delay_minutes": 5, "schedules": ["No such rota"]}, 0, "steps[0].schedules[0]"),
        ({"delay_minutes": 5, "users": ["a@example.com"]}, 10, "repeat_count"),
        ({"delay_minutes": 5, "users": ["a@example.com"]}, -1, "repeat_count"),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(
    client: TestClient,
    container: Container,
    make_user,
    admin_headers,
    step: dict[str, Any],
    repeat: int,
    field: str,
) -> None:
    make_user(email="a@example.com")
    good = {"delay_minutes": 5, "users": ["a@example.com"]}
    # A good step besides the bad one: nothing of it may be left behind either.
    body = {"name": "Broken", "repeat_count": repeat, "steps": [step, good]}
    response = client.post(URL, headers=admin_headers, json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"].startswith(field), response.json()
    assert _counts(container) == (0, 0, 0)


def test_duplicate_names_and_empty_policies_are_refused(
    client: TestClient, container: Container, make_user, admin_headers
) -> None:
    make_user(email="b@example.com")
    body = {"name": "Ops", "steps": [{"delay_minutes": 5, "users": ["b@example.com"]}]}
    assert client.post(URL, headers=admin_headers, json=body).status_code == 201
    twice = client.post(URL, headers=admin_headers, json={**body, "name": "OPS"})
    assert twice.status_code == 409 and twice.json()["field"] == "name"
    empty = client.post(URL, headers=admin_headers, json={"name": "Empty", "steps": []})
    assert empty.status_code == 422 and empty.json()["field"] == "steps"
    assert _counts(container) == (1, 1, 1)


def test_a_policy_a_route_names_cannot_be_deleted_or_renamed(
    client: TestClient, make_user, make_policy, make_events_integration, make_route, admin_headers
) -> None:
    user = make_user()
    policy_id = make_policy("Routed", steps=[{"delay_minutes": 5, "users": [user.id]}])
    integration_id, _ = make_events_integration()
    make_route(integration_id, "routed")
    refused = client.delete(f"{URL}/{policy_id}", headers=admin_headers)
    assert refused.status_code == 409 and "point them elsewhere" in refused.json()["detail"]
    renamed = client.patch(f"{URL}/{policy_id}", headers=admin_headers, json={"name": "Other"})
    assert renamed.status_code == 409
    # A change of case keeps the route working: allowed.
    recased = client.patch(f"{URL}/{policy_id}", headers=admin_headers, json={"name": "ROUTED"})
    assert recased.status_code == 200


def test_a_viewer_reads_but_does_not_write(
    client: TestClient, make_token, make_policy, make_user
) -> None:
    make_policy("Readable", steps=[{"delay_minutes": 5, "users": [make_user().id]}])
    viewer = make_token(Role.VIEWER)
    assert client.get(URL, headers=viewer).json()["total"] == 1
    # Responders answer pages; who gets paged is for admins and managers.
    responder = make_token(Role.RESPONDER)
    body = {"name": "Mine", "steps": [{"delay_minutes": 5, "notify_account_csm": True}]}
    assert client.post(URL, headers=responder, json=body).status_code == 403


def test_cli_create_show_list(db_url: str, tmp_path: Path, container: Container, make_user) -> None:
    make_user(email="c@example.com", name="Cora")
    file = tmp_path / "policy.json"
    file.write_text(
        json.dumps({"name": "Night", "steps": [{"delay_minutes": 7, "users": ["c@example.com"]}]})
    )
    created = _run(db_url, "policy", "create", "--file", str(file))
    assert created.exit_code == 0, created.output
    shown = _run(db_url, "policy", "show", "night", "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["steps"][0]["targets"][0]["name"] == "Cora"
    listed = _run(db_url, "policy", "list")
    assert "Night" in listed.stdout and "Cora (user)" in listed.stdout

    file.write_text(json.dumps({"name": "Bad", "steps": [{"delay_minutes": 0, "users": ["x"]}]}))
    bad = _run(db_url, "policy", "create", "--file", str(file))
    assert bad.exit_code == 1 and "delay_minutes" in bad.stderr
    assert _run(db_url, "policy", "show", "nope").exit_code == 3
