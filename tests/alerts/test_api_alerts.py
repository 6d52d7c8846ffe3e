"""Integrations, alerts and inbound errors through the JSON API, on both engines."""

from __future__ import annotations

from alerts_support import SAMPLE, load_fixture
from fastapi.testclient import TestClient

from escalate.auth.models import Role


def _service(client: TestClient, headers: dict[str, str], name: str) -> int:
    response = client.post("/api/v1/services", json={"name": name}, headers=headers)
    assert response.status_code == 201, response.text
    service_id: int = response.json()["id"]
    return service_id


def test_create_an_integration_its_key_shown_once_then_rotate_it(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    service_id = _service(client, admin_headers, "Production API")
    created = client.post(
        "/api/v1/integrations",
        json={"name": "Prometheus", "kind": "alertmanager", "default_service_id": service_id},
        headers=admin_headers,
    )
    assert created.status_code == 201, created.text
    integration = created.json()
    key = integration["key"]
    assert key.startswith("esc_int_") and key.startswith(integration["key_prefix"])
    listed = client.get("/api/v1/integrations", headers=admin_headers).json()
    assert listed["total"] == 1 and "key" not in listed["items"][0]
    assert key not in str(listed)

    ingest = client.post(f"/api/v1/ingest/alertmanager/{key}", json=load_fixture(SAMPLE))
    assert ingest.status_code == 202
    by_name = client.get(
        "/api/v1/alerts", params={"service": "production api"}, headers=admin_headers
    ).json()
    by_id = client.get(
        "/api/v1/alerts", params={"service": str(service_id)}, headers=admin_headers
    ).json()
    assert by_name["total"] == by_id["total"] == 1
    assert by_name["items"][0]["service_id"] == service_id

    rotated = client.post(
        f"/api/v1/integrations/{integration['id']}/rotate-key", headers=admin_headers
    )
    assert rotated.status_code == 200
    new_key = rotated.json()["key"]
    assert new_key != key and rotated.json()["key_rotated_at"]
    old = client.post(f"/api/v1/ingest/alertmanager/{key}", json=load_fixture(SAMPLE))
    assert old.status_code == 401
    new = client.post(f"/api/v1/ingest/alertmanager/{new_key}", json=load_fixture(SAMPLE))
    assert new.status_code == 202


def test_names_are_unique_regardless_of_case(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    body = {"name": "Prometheus", "kind": "alertmanager"}
    assert client.post("/api/v1/integrations", json=body, headers=admin_headers).status_code == 201
    again = client.post(
        "/api/v1/integrations", json={**body, "name": "PROMETHEUS"}, headers=admin_headers
    )
    assert again.status_code == 409 and again.json()["field"] == "name"


def test_an_unknown_kind_or_service_is_refused(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    kind = client.post(
        "/api/v1/integrations", json={"name": "X", "kind": "carrier-pigeon"}, headers=admin_headers
    )
    assert kind.status_code == 422 and kind.json()["field"] == "kind"
    service = client.post(
        "/api/v1/integrations",
        json={"name": "X", "kind": "generic", "default_service_id": 999},
        headers=admin_headers,
    )
    assert service.status_code == 404


def test_responders_read_alerts_but_only_managers_manage_integrations(
    client: TestClient, make_token
) -> None:
    responder = make_token(Role.RESPONDER)
    manager = make_token(Role.MANAGER)
    body = {"name": "Prometheus", "kind": "alertmanager"}
    assert client.post("/api/v1/integrations", json=body, headers=responder).status_code == 403
    assert client.post("/api/v1/integrations", json=body, headers=manager).status_code == 201
    assert client.get("/api/v1/alerts", headers=responder).status_code == 200
    assert client.get("/api/v1/integrations", headers=responder).status_code == 200
    assert client.get("/api/v1/inbound-errors", headers=responder).status_code == 403


def test_alert_filters_and_not_found(
    client: TestClient, admin_headers: dict[str, str], make_integration
) -> None:
    integration_id, key = make_integration()
    client.post(f"/api/v1/ingest/alertmanager/{key}", json=load_fixture(SAMPLE))
    get = client.get
    assert (
        get("/api/v1/alerts", params={"status": "triggered"}, headers=admin_headers).json()["total"]
        == 1
    )
    assert (
        get("/api/v1/alerts", params={"status": "resolved"}, headers=admin_headers).json()["total"]
        == 0
    )
    assert (
        get(
            "/api/v1/alerts", params={"integration_id": integration_id}, headers=admin_headers
        ).json()["total"]
        == 1
    )
    assert (
        get("/api/v1/alerts", params={"status": "nope"}, headers=admin_headers).status_code == 422
    )
    unknown = get("/api/v1/alerts", params={"service": "Nowhere"}, headers=admin_headers)
    assert unknown.status_code == 404 and unknown.json()["field"] == "service"
    assert get("/api/v1/alerts/999999", headers=admin_headers).status_code == 404
    assert get(f"/api/v1/alerts/{2**70}", headers=admin_headers).status_code == 404


def test_inbound_errors_are_listed_newest_first(
    client: TestClient, admin_headers: dict[str, str], make_integration
) -> None:
    integration_id, key = make_integration()
    client.post(f"/api/v1/ingest/alertmanager/{key}", content=b"{")
    client.post("/api/v1/ingest/alertmanager/esc_int_unknown", json={})
    listed = client.get("/api/v1/inbound-errors", headers=admin_headers).json()
    assert listed["total"] == 2
    assert [e["status_code"] for e in listed["items"]] == [401, 400]
    mine = client.get(
        "/api/v1/inbound-errors", params={"integration_id": integration_id}, headers=admin_headers
    ).json()
    assert mine["total"] == 1 and mine["items"][0]["reason"].startswith("Malformed JSON")
