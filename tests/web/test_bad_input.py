"""Bad input gets a 4xx problem document naming the field, never a 500, and writes nothing."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from escalate.accounts.models import Account, Contract
from escalate.auth.models import AuditEntry
from escalate.bootstrap import Container


def _counts(container: Container) -> tuple[int, int, int]:
    with container.session_factory() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Account, Contract, AuditEntry)
        )


def _assert_problem(response, status: int, field: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["field"] == field, body
    assert body["detail"]


def test_malformed_json(client: TestClient, container: Container, admin_headers) -> None:
    before = _counts(container)
    response = client.post(
        "/api/v1/accounts",
        headers={**admin_headers, "content-type": "application/json"},
        content=b'{"name": "TechCorp", "tier": ',
    )
    _assert_problem(response, 400, "body")
    assert "not valid JSON" in response.json()["detail"]
    assert _counts(container) == before


def test_wrong_type_unknown_tier_and_bad_timezone(client: TestClient, admin_headers) -> None:
    wrong_type = client.post(
        "/api/v1/accounts", headers=admin_headers, json={"name": 5, "tier": "enterprise"}
    )
    _assert_problem(wrong_type, 422, "name")
    unknown_tier = client.post(
        "/api/v1/accounts", headers=admin_headers, json={"name": "A", "tier": "gold"}
    )
    _assert_problem(unknown_tier, 422, "tier")
    bad_zone = client.post(
        "/api/v1/accounts",
        headers=admin_headers,
        json={"name": "A", "tier": "business", "timezone": "Mars/Base"},
    )
    _assert_problem(bad_zone, 422, "timezone")
    assert "Mars/Base" in bad_zone.json()["detail"]
    bad_query = client.get("/api/v1/accounts", headers=admin_headers, params={"limit": "many"})
    _assert_problem(bad_query, 422, "limit")


def test_negative_fee_and_reversed_term(
    client: TestClient, container: Container, admin_headers, make_account, make_sla_policy
) -> None:
    account_id = make_account("Feeful")
    policy_id = make_sla_policy()
    before = _counts(container)
    contract = {
        "sla_policy_id": policy_id,
        "term_start": "2025-01-01",
        "term_end": "2025-12-31",
        "monthly_fee": "-5000",
    }
    negative = client.post(
        f"/api/v1/accounts/{account_id}/contracts", headers=admin_headers, json=contract
    )
    _assert_problem(negative, 422, "monthly_fee")
    reversed_term = client.post(
        f"/api/v1/accounts/{account_id}/contracts",
        headers=admin_headers,
        json={**contract, "monthly_fee": "10", "term_end": "2024-12-31"},
    )
    _assert_problem(reversed_term, 422, "term_end")
    unknown_policy = client.post(
        f"/api/v1/accounts/{account_id}/contracts",
        headers=admin_headers,
        json={**contract, "monthly_fee": "10", "sla_policy_id": 9999},
    )
    _assert_problem(unknown_policy, 404, "sla_policy_id")
    assert _counts(container) == before


def test_duplicate_account_name_conflicts(
    client: TestClient, container: Container, admin_headers
) -> None:
    body = {"name": "TechCorp Solutions", "tier": "enterprise"}
    assert client.post("/api/v1/accounts", headers=admin_headers, json=body).status_code == 201
    before = _counts(container)
    again = client.post(
        "/api/v1/accounts", headers=admin_headers, json={**body, "name": "techcorp solutions"}
    )
    _assert_problem(again, 409, "name")
    assert _counts(container) == before


def test_body_over_one_mebibyte(client: TestClient, container: Container, admin_headers) -> None:
    before = _counts(container)
    big = json.dumps({"name": "A", "tier": "enterprise", "pad": "x" * (1024 * 1024)}).encode()
    declared = client.post(
        "/api/v1/accounts",
        headers={**admin_headers, "content-type": "application/json"},
        content=big,
    )
    _assert_problem(declared, 413, "body")

    def chunks():
        for _ in range(20):
            yield b"x" * 65536

    streamed = client.post(
        "/api/v1/accounts",
        headers={**admin_headers, "content-type": "application/json"},
        content=chunks(),
    )
    _assert_problem(streamed, 413, "body")
    assert _counts(container) == before


def test_unknown_field_is_named(client: TestClient, admin_headers) -> None:
    response = client.post(
        "/api/v1/accounts",
        headers=admin_headers,
        json={"name": "A", "tier": "business", "colour": "red"},
    )
    _assert_problem(response, 422, "colour")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
account_like = st.fixed_dictionaries(
    {},
    optional={
        "name": json_values | st.text(max_size=300),
        "tier": json_values | st.sampled_from(["enterprise", "business", "standard", "gold"]),
        "timezone": json_values | st.sampled_from(["UTC", "America/New_York", "Nowhere/City"]),
        "health": json_values | st.sampled_from(["critical", "at_risk", "neutral", "healthy"]),
        "csm_user_id": json_values,
    },
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=account_like | json_values)
def test_arbitrary_bodies_never_cause_a_server_error(
    client: TestClient, admin_headers, body
) -> None:
    response = client.post("/api/v1/accounts", headers=admin_headers, json=body)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert response.json()["detail"]


def test_absurd_ids_and_offsets_are_4xx(client: TestClient, admin_headers) -> None:
    huge = 10**23
    assert client.get(f"/api/v1/accounts/{huge}", headers=admin_headers).status_code == 404
    assert client.get(f"/api/v1/sla-policies/{huge}", headers=admin_headers).status_code == 404
    assert client.get("/api/v1/accounts/-1", headers=admin_headers).status_code == 404
    offset = client.get("/api/v1/accounts", headers=admin_headers, params={"offset": huge})
    _assert_problem(offset, 422, "offset")
    csm = client.post(
        "/api/v1/accounts",
        headers=admin_headers,
        json={"name": "Huge", "tier": "business", "csm_user_id": huge},
    )
    _assert_problem(csm, 422, "csm_user_id")


def test_null_in_a_patch_is_refused_for_required_fields(
    client: TestClient, container: Container, admin_headers, make_account
) -> None:
    account_id = make_account("Nullable")
    before = _counts(container)
    for field in ("name", "tier", "timezone"):
        response = client.patch(
            f"/api/v1/accounts/{account_id}", headers=admin_headers, json={field: None}
        )
        _assert_problem(response, 422, field)
    contact_id = client.get(f"/api/v1/accounts/{account_id}", headers=admin_headers).json()[
        "contacts"
    ][0]["id"]
    contact = client.patch(
        f"/api/v1/accounts/{account_id}/contacts/{contact_id}",
        headers=admin_headers,
        json={"receives_incident_notifications": None},
    )
    _assert_problem(contact, 422, "receives_incident_notifications")
    assert _counts(container) == before
    cleared = client.patch(
        f"/api/v1/accounts/{account_id}", headers=admin_headers, json={"csm_user_id": None}
    )
    assert cleared.status_code == 200
