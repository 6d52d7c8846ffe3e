"""The incidents list's filters: open, mine (a role held or a page received), severity,
service and account (each by name or id)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from incidents_support import declare, make_service, me, use_service

from escalate.auth.models import Role
from escalate.bootstrap import Container, build_worker


def _numbers(client: TestClient, headers: dict[str, str], **params: str) -> list[int]:
    response = client.get("/api/v1/incidents", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return sorted(i["number"] for i in response.json()["items"])


def test_list_filters(
    client: TestClient,
    container: Container,
    admin_headers: dict[str, str],
    make_token,
    make_account,
) -> None:
    api, db = make_service(container, "API"), make_service(container, "Database")
    techcorp = make_account("TechCorp")
    use_service(container, techcorp, api)
    responder = make_token(Role.RESPONDER)
    responder_id = me(client, responder)

    one = declare(client, admin_headers, service="API", severity="SEV1")["number"]
    two = declare(client, admin_headers, service="Database", severity="SEV2")["number"]
    three = declare(client, admin_headers, severity="SEV3")
    client.post(f"/api/v1/incidents/{three['id']}/resolve", headers=admin_headers)
    client.put(
        f"/api/v1/incidents/{three['id']}/roles/scribe",
        json={"user": str(responder_id)},
        headers=admin_headers,
    )

    assert _numbers(client, admin_headers, open="true") == [one, two]
    assert _numbers(client, admin_headers, open="false") == [three["number"]]
    assert _numbers(client, admin_headers, severity="SEV2") == [two]
    assert _numbers(client, admin_headers, service="API") == [one]
    assert _numbers(client, admin_headers, service=str(db)) == [two]
    assert _numbers(client, admin_headers, account="TechCorp") == [one]
    assert _numbers(client, admin_headers, account=str(techcorp)) == [one]
    assert _numbers(client, responder, mine="true") == [three["number"]]
    assert _numbers(client, admin_headers, mine="true") == []
    refused = client.get("/api/v1/incidents", params={"severity": "SEV7"}, headers=admin_headers)
    assert refused.status_code == 422
    unknown = client.get("/api/v1/incidents", params={"account": "Nobody"}, headers=admin_headers)
    assert unknown.status_code == 404


def test_mine_includes_incidents_i_was_paged_for(
    client: TestClient, container: Container, admin_headers: dict[str, str], make_token
) -> None:
    responder = make_token(Role.RESPONDER)
    responder_id = me(client, responder)
    policy = {"name": "Direct", "steps": [{"delay_minutes": 5, "users": [responder_id]}]}
    created = client.post("/api/v1/escalation-policies", json=policy, headers=admin_headers)
    assert created.status_code == 201, created.text
    paged = declare(client, admin_headers, escalation_policy="Direct")["number"]
    declare(client, admin_headers)
    build_worker(container, worker_id="filters-test").drain()
    assert _numbers(client, responder, mine="true") == [paged]
