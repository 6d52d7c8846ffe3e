"""Every list in the API answers {"items": [...], "total": N} and takes limit and offset.
Read from the OpenAPI document, so lists added by later issues are held to it too."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient


def _schema(doc: dict[str, Any], ref_or_schema: dict[str, Any]) -> dict[str, Any]:
    ref = ref_or_schema.get("$ref")
    if ref:
        return doc["components"]["schemas"][ref.rsplit("/", 1)[1]]
    return ref_or_schema


def _get_operations(doc: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    found = []
    for path, operations in doc["paths"].items():
        get = operations.get("get")
        if get is None:
            continue
        content = get.get("responses", {}).get("200", {}).get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if schema is not None:
            found.append((path, get, _schema(doc, schema)))
    return found


def test_no_get_endpoint_answers_a_bare_array(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    arrays = [path for path, _, schema in _get_operations(doc) if schema.get("type") == "array"]
    assert arrays == []


def test_every_page_takes_limit_and_offset(client: TestClient, admin_headers, make_account) -> None:
    me = client.get("/api/v1/me", headers=admin_headers).json()
    ids = {
        "account_id": make_account("Paged"),
        "user_id": me["id"],
        **_integration_with_an_incident(client, admin_headers),
    }
    doc = client.get("/api/v1/openapi.json").json()
    pages = [
        (path, operation)
        for path, operation, schema in _get_operations(doc)
        if {"items", "total"} <= set(schema.get("properties", {}))
    ]
    assert len(pages) >= 7
    for path, operation in pages:
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert {"limit", "offset"} <= names, path
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)
        response = client.get(url, headers=admin_headers, params={"limit": 1, "offset": 0})
        assert response.status_code == 200, (path, response.text)
        body = response.json()
        assert set(body) >= {"items", "total"}
        assert len(body["items"]) <= 1
        assert isinstance(body["total"], int)


def _integration_with_an_incident(client: TestClient, headers: dict[str, str]) -> dict[str, int]:
    created = client.post(
        "/api/v1/integrations", headers=headers, json={"name": "Paged", "kind": "events_v2"}
    ).json()
    event = {
        "routing_key": created["key"],
        "event_action": "trigger",
        "payload": {"summary": "paged", "source": "test", "severity": "error"},
    }
    assert client.post("/v2/enqueue", json=event).status_code == 202
    incident = client.get("/api/v1/incidents", headers=headers).json()["items"][0]
    return {"integration_id": created["id"], "incident_id": incident["id"]}
