"""Affected accounts are derived from the accounts using the incident's services; people
add and exclude accounts (an exclusion survives re-derivation) and edit each one's impact;
a bad impact window is refused with nothing written. The ingest path derives through a job."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from incidents_support import declare, make_service, row_counts, use_service

from escalate.bootstrap import Container, build_worker
from escalate.clock import FrozenClock


def _names(body: dict) -> list[str]:
    return [a["name"] for a in body["affected_accounts"]]


def test_accounts_come_from_service_usage_and_exclusions_survive(
    client: TestClient, container: Container, admin_headers: dict[str, str], make_account
) -> None:
    api, db = make_service(container, "API"), make_service(container, "Database")
    techcorp, globex, initech = (
        make_account("TechCorp"),
        make_account("Globex"),
        make_account("Initech"),
    )
    make_account("Bystander")
    use_service(container, techcorp, api)
    use_service(container, globex, api)
    use_service(container, initech, db)

    incident = declare(client, admin_headers, service="API")
    assert _names(incident) == ["Globex", "TechCorp"]
    first = incident["affected_accounts"][0]
    assert first["impact_start"] == incident["started_at"]
    assert first["impact_level"] == "outage" and first["impact_end"] is None
    url = f"/api/v1/incidents/{incident['id']}"

    excluded = client.post(f"{url}/accounts/{globex}/exclude", headers=admin_headers)
    assert excluded.status_code == 200 and _names(excluded.json()) == ["TechCorp"]
    added = client.post(f"{url}/services", json={"service": "Database"}, headers=admin_headers)
    assert added.status_code == 200, added.text
    assert _names(added.json()) == ["Initech", "TechCorp"]  # Globex stays excluded
    assert sorted(added.json()["service_ids"]) == sorted([api, db])

    removed = client.delete(f"{url}/services/{db}", headers=admin_headers)
    assert _names(removed.json()) == ["TechCorp"]
    by_hand = client.post(f"{url}/accounts", json={"account": "Initech"}, headers=admin_headers)
    assert _names(by_hand.json()) == ["Initech", "TechCorp"]
    back = client.post(f"{url}/accounts", json={"account": str(globex)}, headers=admin_headers)
    assert _names(back.json()) == ["Globex", "Initech", "TechCorp"]
    unknown = client.post(f"{url}/accounts", json={"account": "Nobody"}, headers=admin_headers)
    assert unknown.status_code == 404


def test_impact_edits_and_their_validation(
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    admin_headers: dict[str, str],
    make_account,
) -> None:
    api = make_service(container, "API")
    techcorp = make_account("TechCorp")
    use_service(container, techcorp, api)
    incident = declare(client, admin_headers, service="API")
    url = f"/api/v1/incidents/{incident['id']}/accounts/{techcorp}"
    start = clock.now()

    before = row_counts(container)
    backwards = client.patch(
        url, json={"impact_end": (start - timedelta(minutes=1)).isoformat()}, headers=admin_headers
    )
    assert backwards.status_code == 422
    assert backwards.json()["field"] == "impact_end"
    for bad in (
        {"affected_users": -1},
        {"business_impact": "x" * 10_001},
        {"impact_level": "apocalypse"},
    ):
        refused = client.patch(url, json=bad, headers=admin_headers)
        assert refused.status_code == 422, bad
    assert row_counts(container) == before

    edited = client.patch(
        url,
        json={
            "impact_end": (start + timedelta(hours=6)).isoformat(),
            "impact_level": "degraded",
            "affected_users": 1200,
            "business_impact": "Checkout down for EU shoppers",
        },
        headers=admin_headers,
    )
    assert edited.status_code == 200, edited.text
    account = edited.json()["affected_accounts"][0]
    assert account["impact_level"] == "degraded" and account["affected_users"] == 1200
    assert account["business_impact"] == "Checkout down for EU shoppers"
    missing = client.patch(
        f"/api/v1/incidents/{incident['id']}/accounts/999999",
        json={"affected_users": 1},
        headers=admin_headers,
    )
    assert missing.status_code == 404


def test_the_ingest_path_derives_accounts_and_checklist_by_a_job(
    client: TestClient, container: Container, admin_headers: dict[str, str], make_account
) -> None:
    api = make_service(container, "API")
    techcorp = make_account("TechCorp")
    use_service(container, techcorp, api)
    created = client.post(
        "/api/v1/integrations",
        headers=admin_headers,
        json={"name": "Mon", "kind": "events_v2", "default_service_id": api},
    )
    assert created.status_code == 201, created.text
    event = {
        "routing_key": created.json()["key"],
        "event_action": "trigger",
        "payload": {"summary": "db down", "source": "db1", "severity": "critical"},
    }
    assert client.post("/v2/enqueue", json=event).status_code == 202
    incident = client.get("/api/v1/incidents", headers=admin_headers).json()["items"][0]
    assert incident["started_at"] == incident["opened_at"] == incident["detected_at"]
    url = f"/api/v1/incidents/{incident['id']}"
    # The ingest path only queued the derivation.
    assert client.get(url, headers=admin_headers).json()["affected_accounts"] == []
    build_worker(container, worker_id="life-test").drain()
    shown = client.get(url, headers=admin_headers).json()
    assert [a["account_id"] for a in shown["affected_accounts"]] == [techcorp]
    assert shown["service_ids"] == [api]
    assert client.get(f"{url}/checklist", headers=admin_headers).json()["total"] > 0


def test_impact_windows_end_at_resolution_and_go_on_when_it_reopens(
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    admin_headers: dict[str, str],
    make_account,
) -> None:
    api = make_service(container, "API")
    techcorp, globex = make_account("TechCorp"), make_account("Globex")
    for account in (techcorp, globex):
        use_service(container, account, api)
    incident = declare(client, admin_headers, service="API")
    path = f"/api/v1/incidents/{incident['id']}"
    own_end = clock.now() + timedelta(minutes=20)
    edited = client.patch(
        f"{path}/accounts/{globex}", json={"impact_end": own_end.isoformat()}, headers=admin_headers
    )
    assert edited.status_code == 200, edited.text

    def ends() -> dict[str, str | None]:
        body = client.get(path, headers=admin_headers).json()
        return {a["name"]: a["impact_end"] for a in body["affected_accounts"]}

    clock.advance(timedelta(hours=1))
    resolved = client.post(f"{path}/resolve", headers=admin_headers)
    assert resolved.status_code == 200
    resolved_at = resolved.json()["resolved_at"]
    assert ends() == {"Globex": own_end.isoformat().replace("+00:00", "Z"), "TechCorp": resolved_at}

    clock.advance(timedelta(minutes=10))
    assert client.post(f"{path}/reopen", headers=admin_headers, json={}).status_code == 200
    assert ends()["TechCorp"] is None  # the impact goes on
    assert ends()["Globex"] is not None  # an end set by hand stays
