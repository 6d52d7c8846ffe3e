"""The clocks through the API contract point and the live page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sla_support import (
    add_account_without_contract,
    affect,
    at,
    declare,
    log_in,
    post_update,
    seed_techcorp,
)

from escalate.auth.models import Role, User
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.incidents.models import UpdateKind


@pytest.fixture
def two_accounts(container: Container, clock: FrozenClock) -> tuple[int, int, int]:
    """A SEV1 incident from 13:00 affecting two accounts; (incident, first, second)."""
    clock.set(at(13))
    first = seed_techcorp(container)
    second = seed_techcorp(container, name="Acme Corp")
    incident_id = declare(container)
    affect(container, incident_id, first.account_id)
    affect(container, incident_id, second.account_id)
    return incident_id, first.account_id, second.account_id


def test_the_list_is_paged_and_filtered_by_account(
    client: TestClient, admin_headers: dict[str, str], two_accounts: tuple[int, int, int]
) -> None:
    incident_id, techcorp, acme = two_accounts
    url = f"/api/v1/incidents/{incident_id}/sla"
    everything = client.get(url, headers=admin_headers).json()
    assert everything["total"] == 6
    # By account name (Acme before TechCorp), then acknowledgement, updates, resolution.
    assert [(c["account_id"], c["kind"]) for c in everything["items"]] == [
        (acme, "acknowledgement"),
        (acme, "update"),
        (acme, "resolution"),
        (techcorp, "acknowledgement"),
        (techcorp, "update"),
        (techcorp, "resolution"),
    ]
    page = client.get(url, headers=admin_headers, params={"limit": 2, "offset": 3}).json()
    assert page["total"] == 6 and page["items"] == everything["items"][3:5]
    mine = client.get(url, headers=admin_headers, params={"account_id": techcorp}).json()
    assert mine["total"] == 3 and {c["account_id"] for c in mine["items"]} == {techcorp}
    first = mine["items"][0]
    assert set(first) >= {
        "account_id",
        "kind",
        "target_minutes",
        "due_at",
        "met_at",
        "breached",
        "late_minutes",
        "account_name",
        "sequence",
        "started_at",
        "status",
        "minutes_left",
    }


def test_unknown_incidents_and_bad_filters_are_refused(
    client: TestClient, make_token: Callable[..., dict[str, str]]
) -> None:
    viewer = make_token(Role.VIEWER)
    missing = client.get("/api/v1/incidents/999999/sla", headers=viewer)
    assert missing.status_code == 404 and missing.json()["field"] == "incident_id"
    assert client.get("/api/v1/incidents/1/sla").status_code == 401
    bad = client.get("/api/v1/incidents/1/sla", headers=viewer, params={"account_id": 0})
    assert bad.status_code in (400, 422)


def test_the_page_shows_each_accounts_clocks_live(
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    make_user: Callable[..., User],
    two_accounts: tuple[int, int, int],
) -> None:
    incident_id, _, _ = two_accounts
    clock.set(at(13, 20))
    post_update(container, incident_id, UpdateKind.INVESTIGATING)
    log_in(client, make_user(Role.VIEWER))
    page = client.get(f"/incidents/{incident_id}/sla")
    assert page.status_code == 200
    text = page.text
    assert "TechCorp Solutions" in text and "Acme Corp" in text
    assert 'data-live-refresh data-fragment-url="/incidents/' in text
    # Met 5 minutes late (due 13:15) for both accounts; the next update is open.
    assert (
        text.count(
            'data-sla-kind="acknowledgement" data-sla-sequence="0" data-sla-status="breached"'
        )
        == 2
    )
    assert text.count('data-sla-kind="update" data-sla-sequence="1" data-sla-status="open"') == 2
    fragment = client.get(f"/incidents/{incident_id}/sla", params={"fragment": "1"})
    assert fragment.status_code == 200
    assert fragment.headers["X-Escalate-Fragment"] == "incidents/_sla_clocks.html"
    assert "<html" not in fragment.text and "TechCorp Solutions" in fragment.text
    assert client.get("/incidents/999999/sla").status_code == 404


def test_the_page_names_affected_accounts_without_clocks(
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    make_user: Callable[..., User],
) -> None:
    clock.set(at(13))
    incident_id = declare(container)
    affect(container, incident_id, add_account_without_contract(container, "Contractless Inc"))
    log_in(client, make_user(Role.VIEWER))
    text = client.get(f"/incidents/{incident_id}/sla").text
    assert "Contractless Inc</a>: no SLA clocks (no contract in force at the incident" in text
