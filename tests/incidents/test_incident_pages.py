"""The responder pages: the list's filters and severity definitions, declaring by hand, the
status buttons (only allowed moves shown; a forbidden move answers 409 like the API),
roles, affected accounts with impact edits, and the checklist with overdue items."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from incidents_support import csrf_of, log_in, make_service, row_counts, use_service

from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.clock import FrozenClock


def test_declare_move_and_edit_from_the_pages(
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    make_user,
    make_account,
) -> None:
    ana = make_user(Role.RESPONDER, name="Ana Responder")
    api = make_service(container, "API")
    techcorp = make_account("TechCorp")
    use_service(container, techcorp, api)
    log_in(client, ana.email)

    form = client.get("/incidents/new")
    assert form.status_code == 200 and "Critical" in form.text
    declared = client.post(
        "/incidents/new",
        data={
            "title": "Checkout down",
            "severity": "SEV1",
            "service": str(api),
            "description": "EU shoppers",
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert declared.status_code == 303, declared.text
    path = declared.headers["location"].split("?")[0]
    page = client.get(path)
    assert page.status_code == 200
    assert "TechCorp" in page.text and "EU shoppers" in page.text
    assert 'name="status" value="investigating"' in page.text and "commander assigned" in page.text
    token = csrf_of(page.text)

    clock.advance(timedelta(minutes=20))
    assert "overdue" in client.get(path).text  # the commander is due after 5 minutes
    moved = client.post(
        f"{path}/status", data={"status": "monitoring", "csrf_token": token}, follow_redirects=False
    )
    assert moved.status_code == 303
    shown = client.get(path).text
    assert 'name="status" value="acknowledged"' not in shown
    assert 'name="status" value="identified"' in shown

    roles = client.post(
        f"{path}/roles",
        data={"role": "commander", "user_id": str(ana.id), "csrf_token": token},
        follow_redirects=False,
    )
    assert roles.status_code == 303
    assert "Ana Responder" in client.get(path).text

    before = row_counts(container)
    backwards = client.post(
        f"{path}/accounts/{techcorp}/impact",
        data={
            "impact_start": "2025-10-22T12:00",
            "impact_end": "2025-10-22T11:00",
            "csrf_token": token,
        },
    )
    assert backwards.status_code == 422 and "impact_end" in backwards.text
    assert row_counts(container) == before
    ok = client.post(
        f"{path}/accounts/{techcorp}/impact",
        data={
            "impact_start": "2025-10-22T12:00",
            "impact_end": "2025-10-22T18:00",
            "impact_level": "degraded",
            "affected_users": "40",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303

    client.post(f"{path}/status", data={"status": "resolved", "csrf_token": token})
    refused = client.post(f"{path}/status", data={"status": "investigating", "csrf_token": token})
    assert refused.status_code == 409
    assert "needs a reopen" in refused.text
    forged = client.post(f"{path}/reopen", data={"csrf_token": "forged"})
    assert forged.status_code == 403


def test_the_list_filters_and_severity_definitions(
    client: TestClient, container: Container, make_user
) -> None:
    ana = make_user(Role.RESPONDER, name="Ana")
    log_in(client, ana.email)
    listed = client.get("/incidents", params={"open": "true", "mine": "true", "severity": "SEV2"})
    assert listed.status_code == 200
    assert "Minor" in listed.text and "Declare incident" in listed.text
    assert client.get("/incidents", params={"severity": "SEV9"}).status_code == 422


def test_a_resolved_incident_shows_its_unticked_items_as_missed(
    client: TestClient, make_user, admin_headers: dict[str, str]
) -> None:
    ana = make_user(Role.RESPONDER, name="Ana Responder")
    declared = client.post(
        "/api/v1/incidents", headers=admin_headers, json={"title": "Cache down", "severity": "SEV1"}
    )
    assert declared.status_code == 201, declared.text
    path = f"/incidents/{declared.json()['id']}"
    log_in(client, ana.email)
    assert 'text-alarm">missed<' not in client.get(path).text  # open: not yet missed
    assert client.post(f"/api/v1{path}/resolve", headers=admin_headers).status_code == 200
    assert 'text-alarm">missed<' in client.get(path).text
