"""The accounts API end to end over a real database (both engines)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from escalate.auth.models import Role


def test_accounts_list_needs_a_credential(client: TestClient) -> None:
    response = client.get("/api/v1/accounts")
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"


def test_account_lifecycle_through_the_api(
    client: TestClient, admin_headers, make_sla_policy
) -> None:
    policy_id = make_sla_policy("Enterprise")
    created = client.post(
        "/api/v1/accounts",
        headers=admin_headers,
        json={"name": "TechCorp Solutions", "tier": "enterprise", "timezone": "America/New_York"},
    )
    assert created.status_code == 201, created.text
    account_id = created.json()["id"]

    service = client.post(
        "/api/v1/services", headers=admin_headers, json={"name": "Production API"}
    )
    assert service.status_code == 201
    usage = client.post(
        f"/api/v1/accounts/{account_id}/services",
        headers=admin_headers,
        json={"service_id": service.json()["id"], "environment": "production"},
    )
    assert usage.status_code == 201
    contact = client.post(
        f"/api/v1/accounts/{account_id}/contacts",
        headers=admin_headers,
        json={
            "name": "Sarah Mitchell",
            "email": "sarah@techcorp.example",
            "receives_incident_notifications": True,
        },
    )
    assert contact.status_code == 201
    contract = client.post(
        f"/api/v1/accounts/{account_id}/contracts",
        headers=admin_headers,
        json={
            "sla_policy_id": policy_id,
            "term_start": "2025-01-01",
            "term_end": "2025-12-31",
            "renewal_date": "2026-01-01",
            "monthly_fee": "5000",
            "currency": "USD",
        },
    )
    assert contract.status_code == 201
    assert contract.json()["monthly_fee"] == "5000.00"

    listed = client.get("/api/v1/accounts", headers=admin_headers).json()
    assert listed["total"] == 1
    item = listed["items"][0]
    assert item | {"csm": None, "current_contract": None} == {
        "id": account_id,
        "name": "TechCorp Solutions",
        "tier": "enterprise",
        "health": "neutral",
        "timezone": "America/New_York",
        "csm": None,
        "current_contract": None,
    }
    assert item["current_contract"]["monthly_fee"] == "5000.00"
    assert item["current_contract"]["sla_policy_name"] == "Enterprise"

    account = client.get(f"/api/v1/accounts/{account_id}", headers=admin_headers).json()
    assert [c["name"] for c in account["contacts"]] == ["Sarah Mitchell"]
    assert account["services"][0]["service"]["name"] == "Production API"
    assert account["contracts"][0]["sla_policy_name"] == "Enterprise"
    assert account["contracts"][0]["renewal_date"] == "2026-01-01"


def test_health_change_is_kept_in_history_and_audited(
    client: TestClient, admin_headers, make_account, clock
) -> None:
    account_id = make_account("Globex")
    clock.advance(hours=1)
    response = client.post(
        f"/api/v1/accounts/{account_id}/health",
        headers=admin_headers,
        json={"health": "critical", "reason": "six-hour outage"},
    )
    assert response.status_code == 201
    history = client.get(f"/api/v1/accounts/{account_id}", headers=admin_headers).json()[
        "health_history"
    ]
    assert [(h["from_health"], h["to_health"]) for h in history] == [
        ("neutral", "critical"),
        (None, "neutral"),
    ]
    assert history[0]["changed_at"] == "2025-10-22T13:00:00Z"

    audit = client.get(
        "/api/v1/audit",
        headers=admin_headers,
        params={"entity_type": "accounts", "entity_id": str(account_id)},
    ).json()
    update = next(e for e in audit["items"] if e["action"] == "update")
    assert update["before"]["health"] == "neutral"
    assert update["after"]["health"] == "critical"
    assert update["actor_label"].endswith("@example.com")


def test_list_filters_and_pages(client: TestClient, admin_headers, make_account) -> None:
    for name in ("Alpha", "Beta", "Gamma"):
        make_account(name)
    make_account("Delta", tier="standard")
    page = client.get("/api/v1/accounts", headers=admin_headers, params={"limit": 2, "offset": 1})
    assert page.json()["total"] == 4
    assert [a["name"] for a in page.json()["items"]] == ["Beta", "Delta"]
    standard = client.get("/api/v1/accounts", headers=admin_headers, params={"tier": "standard"})
    assert [a["name"] for a in standard.json()["items"]] == ["Delta"]
    search = client.get("/api/v1/accounts", headers=admin_headers, params={"q": "amm"})
    assert [a["name"] for a in search.json()["items"]] == ["Gamma"]


def test_contact_of_another_account_is_not_found(
    client: TestClient, admin_headers, make_account
) -> None:
    first, second = make_account("One"), make_account("Two")
    contact_id = client.get(f"/api/v1/accounts/{first}", headers=admin_headers).json()["contacts"][
        0
    ]["id"]
    response = client.patch(
        f"/api/v1/accounts/{second}/contacts/{contact_id}",
        headers=admin_headers,
        json={"name": "Hijacked"},
    )
    assert response.status_code == 404
    assert response.json()["field"] == "contact_id"


def test_responder_reads_but_may_not_edit_accounts(
    client: TestClient, make_token, make_account
) -> None:
    account_id = make_account("Initech")
    responder = make_token(Role.RESPONDER)
    assert client.get(f"/api/v1/accounts/{account_id}", headers=responder).status_code == 200
    response = client.patch(
        f"/api/v1/accounts/{account_id}", headers=responder, json={"tier": "standard"}
    )
    assert response.status_code == 403
    assert client.get(f"/api/v1/accounts/{account_id}", headers=responder).json()["tier"] == (
        "enterprise"
    )


def test_tokens_shown_once_and_revocable(client: TestClient, make_token, clock) -> None:
    headers = make_token(Role.RESPONDER)
    created = client.post("/api/v1/me/tokens", headers=headers, json={"name": "laptop"})
    assert created.status_code == 201
    secret = created.json()["token"]
    new_headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=new_headers).status_code == 200
    listed = client.get("/api/v1/me/tokens", headers=headers).json()["items"]
    assert all("token" not in t for t in listed)
    laptop = next(t for t in listed if t["name"] == "laptop")
    assert laptop["last_used_at"] == "2025-10-22T12:00:00Z"
    assert secret.startswith(laptop["prefix"])

    revoked = client.post(f"/api/v1/tokens/{laptop['id']}/revoke", headers=headers)
    assert revoked.status_code == 200
    assert client.get("/api/v1/me", headers=new_headers).status_code == 401
