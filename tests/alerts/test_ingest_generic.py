"""The generic JSON webhook over HTTP, on both engines, with the mapping routes: the default
and custom mappings, lists, dedup, resolve, the preview that writes nothing, and every kind
of bad input refused with a 4xx, logged, and nothing half-written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from escalate.alerts.models import Alert, AlertEvent, InboundError, Integration, IntegrationKind
from escalate.auth.models import AuditEntry, Role
from escalate.bootstrap import Container

URL = "/api/v1/ingest/generic"

# A body in the shape of a tool we have no adapter for: nothing where the default looks.
CUSTOM_BODY: dict[str, Any] = {
    "alert": {"name": "Checkout latency high", "level": "SEV2", "id": "chk-latency"},
    "tags": ["env:prod", "team=payments"],
    "alerts": [{"labels": {"region": "eu-west-1"}}],
    "state": "alerting",
}
CUSTOM_MAPPING: dict[str, Any] = {
    "title": "alert.name",
    "severity": "alert.level",
    "dedup_key": "alert.id",
    "status": "state",
    "labels": "$.alerts[0].labels",
    "source": "tags.0",
    "severity_map": {"sev2": "warning"},
    "status_map": {"ended": "resolve"},
}


def _alerts(container: Container) -> list[Alert]:
    with container.session_factory() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def _count(container: Container, model: type[Any]) -> int:
    with container.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _errors(container: Container) -> list[InboundError]:
    with container.session_factory() as session:
        return list(session.scalars(select(InboundError).order_by(InboundError.id)))


def test_the_default_mapping_needs_no_configuration(
    client: TestClient, container: Container, make_integration, clock
) -> None:
    _, key = make_integration(IntegrationKind.GENERIC)
    body = {
        "title": "Replica lag over 30 s",
        "severity": "warning",
        "status": "firing",
        "dedup_key": "db-2/lag",
        "labels": {"host": "db-2", "env": "prod"},
        "source": "db-2",
        "details": {"lag_seconds": 42},
    }
    first = client.post(f"{URL}/{key}", json=body)
    assert first.status_code == 202, first.text
    assert first.json() == {
        "status": "success",
        "message": "Event processed",
        "alerts": [
            {
                "dedup_key": "db-2/lag",
                "alert_id": first.json()["alerts"][0]["alert_id"],
                "action": "trigger",
                "applied": True,
            }
        ],
    }
    clock.advance(minutes=5)
    again = client.post(URL, json=body, headers={"Authorization": f"Bearer {key}"})
    assert again.json()["alerts"][0]["action"] == "repeat"
    [alert] = _alerts(container)
    assert (alert.summary, alert.severity, alert.status, alert.count) == (
        "Replica lag over 30 s",
        "warning",
        "triggered",
        2,
    )
    assert alert.labels == {"host": "db-2", "env": "prod"}
    assert (alert.source, alert.details) == ("db-2", {"lag_seconds": 42})
    assert alert.last_seen_at > alert.first_seen_at

    resolved = client.post(f"{URL}/{key}", json={**body, "status": "resolved"})
    assert resolved.json()["alerts"][0]["action"] == "resolve"
    [alert] = _alerts(container)
    assert (alert.status, alert.open_key) == ("resolved", None)
    with container.session_factory() as session:
        sources = set(session.scalars(select(AlertEvent.source)))
    assert sources == {"generic"}


def test_a_custom_mapping_reads_dotted_paths_and_jsonpath(
    client: TestClient, container: Container, make_integration, admin_headers
) -> None:
    integration_id, key = make_integration(IntegrationKind.GENERIC)
    put = client.put(
        f"/api/v1/integrations/{integration_id}/mapping", json=CUSTOM_MAPPING, headers=admin_headers
    )
    assert put.status_code == 200, put.text
    assert put.json()["customized"] is True
    assert put.json()["mapping"]["title"] == ["alert.name"]
    assert put.json()["mapping"]["severity_map"] == {"sev2": "warning"}

    assert client.post(f"{URL}/{key}", json=CUSTOM_BODY).status_code == 202
    assert client.post(f"{URL}/{key}", json=CUSTOM_BODY).status_code == 202
    [alert] = _alerts(container)
    assert (alert.summary, alert.severity, alert.dedup_key, alert.count) == (
        "Checkout latency high",
        "warning",
        "chk-latency",
        2,
    )
    assert alert.labels == {"region": "eu-west-1"}
    assert alert.source == "env:prod"
    assert alert.payload == CUSTOM_BODY

    ended = client.post(f"{URL}/{key}", json={**CUSTOM_BODY, "state": "ENDED"})
    assert ended.json()["alerts"][0] == {
        "dedup_key": "chk-latency",
        "alert_id": alert.id,
        "action": "resolve",
        "applied": True,
    }
    [alert] = _alerts(container)
    assert alert.status == "resolved"


def test_the_mapping_change_is_audited_and_readable(
    client: TestClient, container: Container, make_integration, admin_headers
) -> None:
    integration_id, _ = make_integration(IntegrationKind.GENERIC)
    url = f"/api/v1/integrations/{integration_id}/mapping"
    before = client.get(url, headers=admin_headers).json()
    assert before["customized"] is False
    assert before["mapping"]["title"] == ["title", "summary", "message"]
    client.put(url, json={"title": "alert.name"}, headers=admin_headers)
    after = client.get(url, headers=admin_headers).json()
    assert (after["customized"], after["mapping"]["title"]) == (True, ["alert.name"])
    audit = client.get(
        "/api/v1/audit",
        headers=admin_headers,
        params={"entity_type": "integrations", "entity_id": str(integration_id)},
    ).json()
    update = next(e for e in audit["items"] if e["action"] == "update")
    assert update["before"] == {"generic_mapping": None}
    assert update["after"]["generic_mapping"]["title"] == ["alert.name"]
    assert update["actor_label"].endswith("@example.com")


def test_a_list_body_is_several_events_in_one_transaction(
    client: TestClient, container: Container, make_integration
) -> None:
    _, key = make_integration(IntegrationKind.GENERIC)
    body = [
        {"title": "Disk full", "dedup_key": "disk", "severity": "critical"},
        {"title": "CPU hot", "labels": {"host": "web-1"}},
        {"title": "Disk full", "dedup_key": "disk"},
    ]
    response = client.post(f"{URL}/{key}", json=body)
    assert response.status_code == 202, response.text
    actions = [a["action"] for a in response.json()["alerts"]]
    assert actions == ["trigger", "trigger", "repeat"]
    disk, cpu = _alerts(container)
    assert (disk.dedup_key, disk.count, disk.severity) == ("disk", 2, "error")
    assert (cpu.severity, len(cpu.dedup_key)) == ("error", 32)

    # Without a dedup key, the same title and labels find the same alert to resolve.
    resolve = {"title": "CPU hot", "labels": {"host": "web-1"}, "status": "ok"}
    answer = client.post(f"{URL}/{key}", json=resolve).json()["alerts"][0]
    assert (answer["dedup_key"], answer["action"], answer["alert_id"]) == (
        cpu.dedup_key,
        "resolve",
        cpu.id,
    )


def test_acknowledge_through_the_status_words(
    client: TestClient, container: Container, make_integration
) -> None:
    _, key = make_integration(IntegrationKind.GENERIC)
    client.post(f"{URL}/{key}", json={"title": "Queue stuck", "dedup_key": "q"})
    client.post(f"{URL}/{key}", json={"title": "Queue stuck", "dedup_key": "q", "status": "ACK"})
    [alert] = _alerts(container)
    assert (alert.status, alert.acknowledged_at is not None) == ("acknowledged", True)


def test_the_preview_shows_each_event_and_writes_nothing(
    client: TestClient, container: Container, make_integration, admin_headers
) -> None:
    integration_id, _ = make_integration(IntegrationKind.GENERIC)
    url = f"/api/v1/integrations/{integration_id}/mapping/preview"
    audited = _count(container, AuditEntry)
    sample = [CUSTOM_BODY, {**CUSTOM_BODY, "alert": {"level": "SEV2"}}]
    response = client.post(
        url, json={"sample": sample, "mapping": CUSTOM_MAPPING}, headers=admin_headers
    )
    assert response.status_code == 200, response.text
    preview = response.json()
    first, second = preview["events"]
    assert first == {
        "index": 0,
        "title": "Checkout latency high",
        "severity": "warning",
        "dedup_key": "chk-latency",
        "action": "trigger",
        "source": "env:prod",
        "labels": {"region": "eu-west-1"},
        "details": {},
        "errors": [],
    }
    assert second["title"] is None
    assert second["errors"] == [{"field": "[1].title", "message": "no title at `alert.name`"}]
    assert preview["errors"] == second["errors"]
    assert preview["mapping"]["dedup_key"] == ["alert.id"]

    # Without a candidate, the integration's own mapping (here the default) is used.
    own = client.post(url, json={"sample": CUSTOM_BODY}, headers=admin_headers).json()
    assert own["events"][0]["errors"][0]["field"] == "title"
    assert own["mapping"]["title"] == ["title", "summary", "message"]

    assert _count(container, Alert) == 0
    assert _count(container, AlertEvent) == 0
    assert _count(container, InboundError) == 0
    assert _count(container, AuditEntry) == audited
    with container.session_factory() as session:
        assert session.get(Integration, integration_id).generic_mapping is None


@pytest.mark.parametrize(
    ("mapping", "field", "named"),
    [
        ({"title": "$.alerts["}, "title", "not valid JSONPath"),
        ({"labels": "alerts[0].labels"}, "labels", "JSONPath starts with `$`"),
        ({"dedup_key": ["id", "a..b"]}, "dedup_key", "path 2"),
        ({"severity_map": {"sev9": "apocalyptic"}}, "severity_map.sev9", "critical"),
        ({"title": 5}, "title", "a path or a list of paths"),
        ({"colour": "red"}, "colour", "Extra inputs"),
    ],
)
def test_a_bad_mapping_is_422_naming_the_field_and_changes_nothing(
    client: TestClient,
    container: Container,
    make_integration,
    admin_headers,
    mapping: dict[str, Any],
    field: str,
    named: str,
) -> None:
    integration_id, _ = make_integration(IntegrationKind.GENERIC)
    audited = _count(container, AuditEntry)
    response = client.put(
        f"/api/v1/integrations/{integration_id}/mapping", json=mapping, headers=admin_headers
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["field"] == field
    assert named in response.json()["detail"]
    preview = client.post(
        f"/api/v1/integrations/{integration_id}/mapping/preview",
        json={"sample": {}, "mapping": mapping},
        headers=admin_headers,
    )
    assert preview.status_code == 422
    assert preview.json()["field"] == f"mapping.{field}"
    assert _count(container, AuditEntry) == audited


def test_mapping_routes_refuse_other_kinds_unknown_ids_and_responders(
    client: TestClient, make_integration, admin_headers, make_token
) -> None:
    alertmanager_id, _ = make_integration(IntegrationKind.ALERTMANAGER)
    email_id, _ = make_integration(IntegrationKind.EMAIL)
    fixed = client.put(
        f"/api/v1/integrations/{alertmanager_id}/mapping", json={}, headers=admin_headers
    )
    assert fixed.status_code == 422 and "fixed format" in fixed.json()["detail"]
    email_preview = client.post(
        f"/api/v1/integrations/{email_id}/mapping/preview",
        json={"sample": {}},
        headers=admin_headers,
    )
    assert email_preview.status_code == 422
    assert email_preview.json()["field"] == "integration_id"
    missing = client.put("/api/v1/integrations/999/mapping", json={}, headers=admin_headers)
    assert missing.status_code == 404
    responder = client.put(
        f"/api/v1/integrations/{email_id}/mapping", json={}, headers=make_token(Role.RESPONDER)
    )
    assert responder.status_code == 403


def test_an_email_integration_takes_its_rules_through_the_same_route(
    client: TestClient, make_integration, admin_headers
) -> None:
    integration_id, _ = make_integration(IntegrationKind.EMAIL)
    url = f"/api/v1/integrations/{integration_id}/mapping"
    assert client.get(url, headers=admin_headers).json()["mapping"]["dedup"] == "subject"
    bad = client.put(url, json={"dedup": "regex", "dedup_regex": "no group"}, headers=admin_headers)
    assert bad.status_code == 422 and bad.json()["field"] == "dedup_regex"
    good = client.put(
        url, json={"dedup": "regex", "dedup_regex": r"ticket #(\d+)"}, headers=admin_headers
    )
    assert good.status_code == 200
    assert good.json()["mapping"]["dedup_regex"] == r"ticket #(\d+)"


def _big_body() -> bytes:
    return json.dumps({"title": "big", "details": {"pad": "x" * (512 * 1024)}}).encode()


@pytest.mark.parametrize(
    ("body", "status", "field", "named"),
    [
        (b'{"title": "half', 400, "body", "not valid JSON"),
        (b"", 400, "body", "not valid JSON"),
        (b'{"severity": "critical"}', 422, "title", "no title at"),
        (b'{"title": ["a", "list"]}', 422, "title", "expected text, found a list"),
        (b'{"title": "x", "labels": 3}', 422, "labels", "found a number"),
        (b'[{"title": "fine"}, {"title": {}}]', 422, "[1].title", "found an object"),
        (b"[]", 422, "body", "empty list"),
        (b'"just text"', 422, "body", "expected an object or a list"),
        (b"[" * 100 + b"]" * 100, 422, "body", "nested deeper than 64"),
        (_big_body(), 413, "body", "exceeds 524288 bytes"),
    ],
    ids=[
        "malformed",
        "empty",
        "no-title",
        "title-list",
        "labels-number",
        "half-bad-list",
        "empty-list",
        "string",
        "deep",
        "big",
    ],
)
def test_bad_bodies_are_refused_logged_and_nothing_is_written(
    client: TestClient,
    container: Container,
    make_integration,
    body: bytes,
    status: int,
    field: str,
    named: str,
) -> None:
    integration_id, key = make_integration(IntegrationKind.GENERIC)
    response = client.post(
        f"{URL}/{key}", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == status, response.text
    problem = response.json()
    assert problem["field"] == field
    assert named in problem["detail"], problem
    assert _count(container, Alert) == 0
    assert _count(container, AlertEvent) == 0
    [error] = _errors(container)
    assert (error.status_code, error.endpoint) == (status, URL)
    assert named in error.reason
    if status != 413:
        assert error.integration_id == integration_id
    assert key not in (error.body_excerpt or "")
    assert len(error.body_excerpt or "") <= 2048


@pytest.mark.parametrize("how", ["path", "bearer", "none"])
def test_an_unknown_or_missing_key_is_401_and_logged(
    client: TestClient, container: Container, how: str
) -> None:
    body = {"title": "x"}
    if how == "path":
        response = client.post(f"{URL}/esc_int_nope", json=body)
    elif how == "bearer":
        response = client.post(URL, json=body, headers={"Authorization": "Bearer esc_int_nope"})
    else:
        response = client.post(URL, json=body)
    assert response.status_code == 401
    assert response.json()["field"] == "key"
    [error] = _errors(container)
    assert (error.status_code, error.endpoint, error.integration_id) == (401, URL, None)
    assert _count(container, Alert) == 0


def test_a_key_of_another_kind_or_a_staff_token_is_403(
    client: TestClient, container: Container, make_integration, make_token
) -> None:
    integration_id, key = make_integration(IntegrationKind.ALERTMANAGER)
    other = client.post(f"{URL}/{key}", json={"title": "x"})
    assert other.status_code == 403 and "alertmanager" in other.json()["detail"]
    staff = client.post(URL, json={"title": "x"}, headers=make_token(Role.ADMIN))
    assert staff.status_code == 403 and "integration's key" in staff.json()["detail"]
    assert [e.integration_id for e in _errors(container)] == [integration_id, None]
    assert _count(container, Alert) == 0


def test_nul_and_odd_text_are_stored_on_both_engines(
    client: TestClient, container: Container, make_integration
) -> None:
    _, key = make_integration(IntegrationKind.GENERIC)
    body = {"title": "naïve \u0000 ✓", "labels": {"k": "\u0000"}, "details": {"raw": "\u0000"}}
    response = client.post(f"{URL}/{key}", json=body)
    assert response.status_code == 202, response.text
    [alert] = _alerts(container)
    assert alert.summary == "naïve  ✓"
    assert alert.labels == {"k": ""}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=15,
)
event_like = st.fixed_dictionaries(
    {},
    optional={
        name: json_values | st.text(max_size=40)
        for name in ("title", "severity", "status", "dedup_key", "labels", "source", "details")
    },
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=event_like | st.lists(event_like, max_size=3) | json_values)
def test_arbitrary_bodies_are_202_or_a_named_4xx_never_a_server_error(
    client: TestClient, container: Container, make_integration, body: Any
) -> None:
    _, key = make_integration(IntegrationKind.GENERIC)
    before = _count(container, Alert)
    # As bytes: httpx sends no body at all for json=None.
    response = client.post(
        f"{URL}/{key}", content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (202, 422), response.text
    if response.status_code == 422:
        assert response.json()["field"] and response.json()["detail"]
        assert _count(container, Alert) == before
    else:
        assert all(a["alert_id"] for a in response.json()["alerts"] if a["action"] != "resolve")
