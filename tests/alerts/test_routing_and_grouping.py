"""Routing, grouping into incidents, silences and the unrouted alarm, through the real
HTTP doors on both engines."""

from __future__ import annotations

import itertools
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from escalate.alerts import alarm
from escalate.alerts.models import Alert, IntegrationKind
from escalate.auth.models import Role, User
from escalate.bootstrap import Container, build_worker
from escalate.clock import FrozenClock
from escalate.jobs.models import Job

AM_URL = "/api/v1/ingest/alertmanager"
_fingerprints = itertools.count(1)


def am_body(status: str = "firing", *, fingerprint: str | None = None, **labels: str) -> dict:
    """An Alertmanager version 4 notification with one alert."""
    labels = {"alertname": "PrimaryDatabaseFailoverFailed", **labels}
    return {
        "version": "4",
        "status": status,
        "receiver": "escalate",
        "groupKey": "{}:{}",
        "alerts": [
            {
                "status": status,
                "labels": labels,
                "annotations": {"summary": f"{labels['alertname']} on {labels.get('instance')}"},
                "startsAt": "2025-10-22T13:01:00Z",
                "fingerprint": fingerprint or f"fp{next(_fingerprints):06d}",
            }
        ],
    }


@pytest.fixture
def make_service(client: TestClient, admin_headers: dict[str, str]) -> Callable[[str], int]:
    def build(name: str) -> int:
        response = client.post("/api/v1/services", headers=admin_headers, json={"name": name})
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    return build


def _rule(client: TestClient, headers: dict[str, str], integration_id: int, **rule: Any) -> dict:
    response = client.post(
        f"/api/v1/integrations/{integration_id}/routing-rules", headers=headers, json=rule
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _alert(client: TestClient, headers: dict[str, str], alert_id: int) -> dict:
    return dict(client.get(f"/api/v1/alerts/{alert_id}", headers=headers).json())


def _incident(client: TestClient, headers: dict[str, str], incident_id: int) -> dict:
    return dict(client.get(f"/api/v1/incidents/{incident_id}", headers=headers).json())


def _send(client: TestClient, key: str, body: dict) -> dict:
    response = client.post(f"{AM_URL}/{key}", json=body)
    assert response.status_code == 202, response.text
    return dict(response.json()["alerts"][0])


def test_a_matching_rule_routes_the_alert_and_opens_an_incident(
    client: TestClient, admin_headers, make_integration, make_service
) -> None:
    api = make_service("Production API")
    integration_id, key = make_integration()
    rule = _rule(
        client,
        admin_headers,
        integration_id,
        name="Database team",
        matchers=[{"name": "team", "op": "=~", "value": "database|dba"}],
        service_id=api,
        escalation_policy="Database on-call",
    )
    sent = _send(client, key, am_body(team="database", severity="critical"))
    alert = _alert(client, admin_headers, sent["alert_id"])
    assert alert["routed"] is True and alert["unrouted_reason"] is None
    assert (alert["routing_rule_id"], alert["service_id"]) == (rule["id"], api)
    assert alert["escalation_policy"] == "Database on-call"
    incident = _incident(client, admin_headers, alert["incident_id"])
    assert incident["number"] == 1
    assert (incident["severity"], incident["status"]) == ("SEV1", "triggered")
    assert incident["title"] == "PrimaryDatabaseFailoverFailed on None"
    assert (incident["service_id"], incident["escalation_policy"]) == (api, "Database on-call")
    listed = client.get("/api/v1/incidents", headers=admin_headers).json()
    assert [i["number"] for i in listed["items"]] == [1]
    assert {"id", "number", "title", "severity", "status"} <= set(listed["items"][0])


def test_alerts_of_one_service_group_into_one_incident_within_the_window(
    client: TestClient, admin_headers, make_integration, clock: FrozenClock
) -> None:
    _, key = make_integration()
    first = _send(client, key, am_body(severity="warning"))
    clock.advance(timedelta(minutes=30))
    second = _send(client, key, am_body(severity="critical", alertname="ApiDown"))
    one, two = (_alert(client, admin_headers, s["alert_id"]) for s in (first, second))
    assert one["incident_id"] == two["incident_id"]
    incident = _incident(client, admin_headers, one["incident_id"])
    # A more severe alert raises the incident's severity.
    assert (incident["alert_count"], incident["severity"]) == (2, "SEV1")
    # An hour after the last alert (the default window), a new alert opens a new incident.
    clock.advance(timedelta(minutes=61))
    third = _alert(client, admin_headers, _send(client, key, am_body())["alert_id"])
    assert third["incident_id"] != one["incident_id"]
    assert _incident(client, admin_headers, third["incident_id"])["number"] == 2
    page = client.get(
        f"/api/v1/incidents/{one['incident_id']}/alerts", headers=admin_headers
    ).json()
    assert sorted(a["id"] for a in page["items"]) == sorted([one["id"], two["id"]])


def test_grouping_labels_split_one_service_into_several_incidents(
    client: TestClient, admin_headers, make_integration
) -> None:
    integration_id, key = make_integration()
    response = client.patch(
        f"/api/v1/integrations/{integration_id}",
        headers=admin_headers,
        json={"grouping_labels": ["cluster"], "severity_map": {"error": "SEV3"}},
    )
    assert response.status_code == 200, response.text
    eu = _alert(client, admin_headers, _send(client, key, am_body(cluster="eu"))["alert_id"])
    us = _alert(client, admin_headers, _send(client, key, am_body(cluster="us"))["alert_id"])
    eu2 = _alert(client, admin_headers, _send(client, key, am_body(cluster="eu"))["alert_id"])
    assert eu["incident_id"] == eu2["incident_id"] != us["incident_id"]
    # No severity label: the alert is "error", which this integration maps to SEV3.
    assert _incident(client, admin_headers, us["incident_id"])["severity"] == "SEV3"


def test_acknowledge_and_resolve_move_the_incident(
    client: TestClient, admin_headers, make_integration
) -> None:
    _, key = make_integration(IntegrationKind.EVENTS_V2)

    def event(action: str, dedup_key: str) -> None:
        body: dict[str, Any] = {"routing_key": key, "event_action": action, "dedup_key": dedup_key}
        if action == "trigger":
            body["payload"] = {"summary": dedup_key, "source": "db-1", "severity": "critical"}
        assert client.post("/v2/enqueue", json=body).status_code == 202

    event("trigger", "a")
    event("trigger", "b")
    [incident] = client.get("/api/v1/incidents", headers=admin_headers).json()["items"]
    event("acknowledge", "a")
    incident = _incident(client, admin_headers, incident["id"])
    assert incident["status"] == "acknowledged" and incident["acknowledged_at"]
    event("resolve", "a")
    assert _incident(client, admin_headers, incident["id"])["status"] == "acknowledged"
    event("resolve", "b")  # the last open alert: the incident resolves with it
    incident = _incident(client, admin_headers, incident["id"])
    assert incident["status"] == "resolved" and incident["resolved_at"]


def test_without_auto_resolve_the_incident_stays_open(
    client: TestClient, admin_headers, make_integration
) -> None:
    integration_id, key = make_integration()
    client.patch(
        f"/api/v1/integrations/{integration_id}",
        headers=admin_headers,
        json={"auto_resolve_incidents": False},
    )
    fired = _send(client, key, am_body(fingerprint="fp-x"))
    _send(client, key, am_body("resolved", fingerprint="fp-x"))
    alert = _alert(client, admin_headers, fired["alert_id"])
    assert alert["status"] == "resolved"
    assert _incident(client, admin_headers, alert["incident_id"])["status"] == "triggered"


def test_a_flapping_alert_reopens_its_resolved_incident(
    client: TestClient, admin_headers, make_integration, clock: FrozenClock
) -> None:
    _, key = make_integration()
    fired = _send(client, key, am_body(fingerprint="fp-flap"))
    _send(client, key, am_body("resolved", fingerprint="fp-flap"))
    incident_id = _alert(client, admin_headers, fired["alert_id"])["incident_id"]
    assert _incident(client, admin_headers, incident_id)["status"] == "resolved"
    clock.advance(timedelta(minutes=3))
    again = _send(client, key, am_body(fingerprint="fp-flap"))
    assert (again["action"], again["alert_id"]) == ("reopen", fired["alert_id"])
    incident = _incident(client, admin_headers, incident_id)
    assert (incident["status"], incident["reopen_count"], incident["resolved_at"]) == (
        "triggered",
        1,
        None,
    )
    assert client.get("/api/v1/incidents", headers=admin_headers).json()["total"] == 1


def test_a_silenced_alert_is_stored_suppressed_and_opens_no_incident(
    client: TestClient, admin_headers, make_integration, make_service, clock: FrozenClock
) -> None:
    api = make_service("Production API")
    _, key = make_integration(service_id=api)
    ends = (clock.now() + timedelta(hours=2)).isoformat()
    silence = client.post(
        "/api/v1/silences",
        headers=admin_headers,
        json={
            "kind": "maintenance",
            "comment": "database upgrade",
            "service_id": api,
            "ends_at": ends,
        },
    )
    assert silence.status_code == 201, silence.text
    sent = _send(client, key, am_body())
    alert = _alert(client, admin_headers, sent["alert_id"])
    assert alert["suppressed"] is True and alert["silence_id"] == silence.json()["id"]
    assert alert["incident_id"] is None
    assert client.get("/api/v1/incidents", headers=admin_headers).json()["total"] == 0
    listed = client.get("/api/v1/alerts", headers=admin_headers, params={"suppressed": True})
    assert [a["id"] for a in listed.json()["items"]] == [alert["id"]]
    # Expired, it no longer suppresses.
    expired = client.post(
        f"/api/v1/silences/{silence.json()['id']}/expire", headers=admin_headers
    ).json()
    assert expired["ends_at"] == clock.now().isoformat().replace("+00:00", "Z")
    later = _alert(client, admin_headers, _send(client, key, am_body())["alert_id"])
    assert later["suppressed"] is False and later["incident_id"] is not None
    states = {
        state: client.get(
            "/api/v1/silences", headers=admin_headers, params={"state": state}
        ).json()["total"]
        for state in ("active", "expired")
    }
    assert states == {"active": 0, "expired": 1}


def test_silences_refuse_what_would_silence_everything_or_nothing(
    client: TestClient, admin_headers, make_token, clock: FrozenClock
) -> None:
    past = (clock.now() - timedelta(hours=1)).isoformat()
    future = (clock.now() + timedelta(hours=1)).isoformat()
    no_scope = client.post(
        "/api/v1/silences", headers=admin_headers, json={"comment": "x", "ends_at": future}
    )
    assert no_scope.status_code == 422 and "matchers" in no_scope.text
    ended = client.post(
        "/api/v1/silences",
        headers=admin_headers,
        json={
            "comment": "x",
            "ends_at": past,
            "matchers": [{"name": "team", "op": "=", "value": "db"}],
        },
    )
    assert ended.status_code == 422 and "ends_at" in ended.text
    bad_regex = client.post(
        "/api/v1/silences",
        headers=admin_headers,
        json={
            "comment": "x",
            "ends_at": future,
            "matchers": [{"name": "team", "op": "=~", "value": "(db"}],
        },
    )
    assert bad_regex.status_code == 422 and "regular expression" in bad_regex.text
    ok = {
        "comment": "noisy disk alert",
        "ends_at": future,
        "matchers": [{"name": "alertname", "op": "=", "value": "DiskFull"}],
    }
    # A responder on call may silence; a viewer may not.
    assert (
        client.post("/api/v1/silences", headers=make_token(Role.RESPONDER), json=ok).status_code
        == 201
    )
    assert (
        client.post("/api/v1/silences", headers=make_token(Role.VIEWER), json=ok).status_code == 403
    )
    assert client.get("/api/v1/silences", headers=admin_headers).json()["total"] == 1


def test_the_catch_all_cannot_be_deleted_or_given_matchers(
    client: TestClient, admin_headers, make_integration
) -> None:
    integration_id, _ = make_integration()
    rules = client.get(
        f"/api/v1/integrations/{integration_id}/routing-rules", headers=admin_headers
    ).json()["items"]
    [catch_all] = rules
    assert catch_all["is_catch_all"] is True and catch_all["matchers"] == []
    deleted = client.delete(f"/api/v1/routing-rules/{catch_all['id']}", headers=admin_headers)
    assert deleted.status_code == 409 and "catch-all" in deleted.json()["detail"]
    narrowed = client.patch(
        f"/api/v1/routing-rules/{catch_all['id']}",
        headers=admin_headers,
        json={"matchers": [{"name": "team", "op": "=", "value": "db"}]},
    )
    assert narrowed.status_code == 422 and narrowed.json()["field"] == "matchers"
    given_policy = client.patch(
        f"/api/v1/routing-rules/{catch_all['id']}",
        headers=admin_headers,
        json={"escalation_policy": "Operations on-call"},
    )
    assert given_policy.status_code == 200
    assert given_policy.json()["escalation_policy"] == "Operations on-call"


def test_rules_can_be_inserted_reordered_and_deleted(
    client: TestClient, admin_headers, make_integration
) -> None:
    integration_id, _ = make_integration()
    url = f"/api/v1/integrations/{integration_id}/routing-rules"
    matchers = [{"name": "team", "op": "=", "value": "db"}]
    a = _rule(client, admin_headers, integration_id, name="A", matchers=matchers)
    b = _rule(client, admin_headers, integration_id, name="B", matchers=matchers)
    c = _rule(client, admin_headers, integration_id, name="C", matchers=matchers, position=0)

    def names() -> list[str]:
        return [r["name"] for r in client.get(url, headers=admin_headers).json()["items"]]

    assert names() == ["C", "A", "B", "Catch-all"]
    reordered = client.put(
        f"{url}/order", headers=admin_headers, json={"rule_ids": [b["id"], a["id"], c["id"]]}
    )
    assert reordered.status_code == 200, reordered.text
    assert names() == ["B", "A", "C", "Catch-all"]
    incomplete = client.put(f"{url}/order", headers=admin_headers, json={"rule_ids": [a["id"]]})
    assert incomplete.status_code == 422
    assert names() == ["B", "A", "C", "Catch-all"]
    assert (
        client.delete(f"/api/v1/routing-rules/{a['id']}", headers=admin_headers).status_code == 204
    )
    assert names() == ["B", "C", "Catch-all"]
    positions = [r["position"] for r in client.get(url, headers=admin_headers).json()["items"]]
    assert positions[:2] == [0, 1]


def test_bad_rules_are_refused_naming_the_field(
    client: TestClient, admin_headers, make_integration, make_token
) -> None:
    integration_id, _ = make_integration()
    url = f"/api/v1/integrations/{integration_id}/routing-rules"
    cases = [
        ({"name": "x", "matchers": []}, "matchers"),
        ({"name": "x", "matchers": [{"name": "te am", "op": "=", "value": "a"}]}, "name"),
        ({"name": "x", "matchers": [{"name": "team", "op": "==", "value": "a"}]}, "op"),
        ({"name": "x", "matchers": [{"name": "team", "op": "=~", "value": "[a"}]}, "value"),
        (
            {
                "name": "x",
                "matchers": [{"name": "team", "op": "=", "value": "a"}],
                "severity_override": "SEV9",
            },
            "severity_override",
        ),
    ]
    for body, field in cases:
        response = client.post(url, headers=admin_headers, json=body)
        assert response.status_code == 422, body
        assert field in response.text, (field, response.text)
    unknown_service = client.post(
        url,
        headers=admin_headers,
        json={"name": "x", "matchers": [{"name": "t", "op": "=", "value": "a"}], "service_id": 999},
    )
    assert unknown_service.status_code == 404
    ok = {"name": "x", "matchers": [{"name": "t", "op": "=", "value": "a"}]}
    assert client.post(url, headers=make_token(Role.RESPONDER), json=ok).status_code == 403
    rules = client.get(url, headers=admin_headers).json()["items"]
    assert [r["name"] for r in rules] == ["Catch-all"]


# --- the unrouted alarm and the route tester ------------------------------------------------


class _Inbox(MessageHandler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Message] = []

    def handle_message(self, message: Message) -> None:
        self.messages.append(message)


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[int, _Inbox]]:
    """A real SMTP server on loopback; yields its port and what it received."""
    inbox = _Inbox()
    with socket.socket() as probe:  # aiosmtpd checks its own port, so it cannot take 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


def test_an_unrouted_alert_raises_the_alarm_and_mails_the_admins(
    client: TestClient,
    container: Container,
    admin_headers,
    make_integration,
    make_user,
    smtp_inbox,
) -> None:
    port, inbox = smtp_inbox
    container.settings.smtp_host, container.settings.smtp_port = "127.0.0.1", port
    admin = make_user(Role.ADMIN, email="oncall-admin@escalate.example")
    make_user(Role.RESPONDER, email="not-an-admin@escalate.example")
    integration_id, key = make_integration(name="Production monitoring")
    _rule(
        client,
        admin_headers,
        integration_id,
        name="Retired DBA team",
        matchers=[{"name": "team", "op": "=", "value": "dba-legacy"}],
        escalation_policy="Legacy DBA",
    )
    sent = _send(client, key, am_body(team="database", instance="db-1"))
    other = _send(client, key, am_body(team="database", instance="db-2"))
    alert = _alert(client, admin_headers, sent["alert_id"])
    assert alert["routed"] is False
    assert "catch-all" in alert["unrouted_reason"]
    # Never lost: it is stored, in an incident, and listed among the unrouted.
    assert alert["incident_id"] is not None
    unrouted = client.get("/api/v1/alerts", headers=admin_headers, params={"routed": False})
    assert {a["id"] for a in unrouted.json()["items"]} == {sent["alert_id"], other["alert_id"]}
    other_key = _alert(client, admin_headers, other["alert_id"])["dedup_key"]
    _send(client, key, am_body("resolved", fingerprint=other_key, team="database"))
    still_open = client.get(
        "/api/v1/alerts", headers=admin_headers, params={"routed": False, "open": True}
    )
    assert [a["id"] for a in still_open.json()["items"]] == [sent["alert_id"]]

    with container.session_factory() as session:
        kinds = session.scalars(select(Job.kind).where(Job.kind == alarm.NOTIFY_UNROUTED)).all()
    assert len(kinds) == 2  # one notice per unrouted alert, not per event
    assert build_worker(container).drain() >= 2
    with container.session_factory() as session:
        admins = session.scalars(select(User.email).where(User.role == Role.ADMIN)).all()
    assert admin.email in admins and len(inbox.messages) == 2
    for message in inbox.messages:
        assert sorted(message["To"].split(", ")) == sorted(admins)
    first = inbox.messages[0]
    assert first["Subject"].startswith("[Escalate] Unrouted alert: PrimaryDatabaseFailoverFailed")
    body = first.get_payload()
    assert "landed on the catch-all" in str(body)
    assert f"/integrations/{integration_id}/routing" in str(body)


def test_the_route_tester_answers_what_ingestion_then_does(
    client: TestClient, container: Container, admin_headers, make_integration, make_service
) -> None:
    api = make_service("Production API")
    integration_id, key = make_integration(name="Prometheus")
    rule = _rule(
        client,
        admin_headers,
        integration_id,
        name="Database",
        matchers=[{"name": "team", "op": "=", "value": "database"}],
        service_id=api,
        escalation_policy="Database on-call",
        severity_override="SEV1",
    )
    body = am_body(team="database", severity="warning")
    tested = client.post(
        "/api/v1/routing/test",
        headers=admin_headers,
        json={"integration": "Prometheus", "payload": body},
    )
    assert tested.status_code == 200, tested.text
    answer = tested.json()
    assert answer["rule"] == {"id": rule["id"], "name": "Database"}
    assert answer["service"] == {"id": api, "name": "Production API"}
    assert (answer["routed"], answer["escalation_policy"]) == (True, "Database on-call")
    assert (answer["incident_severity"], answer["would_join_incident"]) == ("SEV1", None)
    with container.session_factory() as session:
        assert session.scalar(select(Alert.id)) is None  # the tester wrote nothing

    alert = _alert(client, admin_headers, _send(client, key, body)["alert_id"])
    assert (alert["routing_rule_id"], alert["service_id"]) == (rule["id"], api)
    incident = _incident(client, admin_headers, alert["incident_id"])
    assert incident["severity"] == answer["incident_severity"]

    # Now an alert of the same group would join that incident; an unmatched one would not.
    again = client.post(
        "/api/v1/routing/test",
        headers=admin_headers,
        json={"integration": str(integration_id), "alert": {"labels": {"team": "database"}}},
    ).json()
    assert again["would_join_incident"] == incident["number"]
    stray = client.post(
        "/api/v1/routing/test",
        headers=admin_headers,
        json={"integration": "Prometheus", "alert": {"labels": {"team": "web"}}},
    ).json()
    assert (stray["routed"], stray["catch_all"]) == (False, True)
    assert "catch-all" in stray["unrouted_reason"]


def test_the_route_tester_refuses_bad_samples(
    client: TestClient, admin_headers, make_integration
) -> None:
    make_integration(name="Prometheus")
    cases = [
        ({"integration": "Prometheus"}, 422),
        ({"integration": "Nope", "alert": {}}, 404),
        ({"integration": "Prometheus", "payload": {"version": "3"}}, 422),
    ]
    for body, status in cases:
        response = client.post("/api/v1/routing/test", headers=admin_headers, json=body)
        assert response.status_code == status, (body, response.text)


def test_the_route_tester_reads_a_generic_body_through_the_integrations_mapping(
    client: TestClient, admin_headers, make_integration
) -> None:
    integration_id, key = make_integration(IntegrationKind.GENERIC, name="Webhook")
    _rule(
        client,
        admin_headers,
        integration_id,
        name="Database",
        matchers=[{"name": "team", "op": "=", "value": "database"}],
        escalation_policy="Database on-call",
    )
    body = {"title": "Replication lag", "severity": "warning", "labels": {"team": "database"}}
    answer = client.post(
        "/api/v1/routing/test",
        headers=admin_headers,
        json={"integration": "Webhook", "payload": body},
    ).json()
    assert (answer["rule"]["name"], answer["routed"], answer["incident_severity"]) == (
        "Database",
        True,
        "SEV3",
    )
    sent = client.post(f"/api/v1/ingest/generic/{key}", json=body)
    assert sent.status_code == 202, sent.text
    alert = _alert(client, admin_headers, sent.json()["alerts"][0]["alert_id"])
    assert alert["routed"] is True and alert["escalation_policy"] == "Database on-call"
    untitled = client.post(
        "/api/v1/routing/test",
        headers=admin_headers,
        json={"integration": "Webhook", "payload": {"labels": {"team": "database"}}},
    )
    assert untitled.status_code == 422 and untitled.json()["field"].startswith("payload")


def test_the_default_service_and_the_catch_alls_service_are_one_setting(
    client: TestClient, admin_headers, make_integration, make_service
) -> None:
    first, second = make_service("Production API"), make_service("Billing")
    integration_id, key = make_integration()
    changed = client.patch(
        f"/api/v1/integrations/{integration_id}",
        headers=admin_headers,
        json={"default_service_id": first},
    )
    assert changed.status_code == 200, changed.text
    rules_url = f"/api/v1/integrations/{integration_id}/routing-rules"
    [catch_all] = client.get(rules_url, headers=admin_headers).json()["items"]
    assert catch_all["service_id"] == first
    alert = _alert(client, admin_headers, _send(client, key, am_body())["alert_id"])
    assert alert["service_id"] == first
    client.patch(
        f"/api/v1/routing-rules/{catch_all['id']}",
        headers=admin_headers,
        json={"service_id": second},
    )
    integration = client.get(f"/api/v1/integrations/{integration_id}", headers=admin_headers)
    assert integration.json()["default_service_id"] == second


def test_a_flapping_alert_is_placed_again_when_its_silence_has_ended(
    client: TestClient, admin_headers, make_integration, clock: FrozenClock
) -> None:
    _, key = make_integration()
    silence = {
        "comment": "failover drill",
        "matchers": [{"name": "team", "op": "=", "value": "db"}],
        "ends_at": (clock.now() + timedelta(minutes=5)).isoformat(),
    }
    assert client.post("/api/v1/silences", headers=admin_headers, json=silence).status_code == 201
    fired = _send(client, key, am_body(fingerprint="fp-drill", team="db"))
    assert _alert(client, admin_headers, fired["alert_id"])["suppressed"] is True
    clock.advance(timedelta(minutes=3))
    _send(client, key, am_body("resolved", fingerprint="fp-drill", team="db"))
    clock.advance(timedelta(minutes=4))  # the silence is over, the flap window is not
    again = _send(client, key, am_body(fingerprint="fp-drill", team="db"))
    assert (again["action"], again["alert_id"]) == ("reopen", fired["alert_id"])
    alert = _alert(client, admin_headers, fired["alert_id"])
    assert (alert["suppressed"], alert["silence_id"]) == (False, None)
    assert alert["incident_id"] is not None
    incident = _incident(client, admin_headers, alert["incident_id"])
    assert incident["status"] == "triggered"


def test_two_last_alerts_resolving_at_once_resolve_their_incident(
    container: Container, make_integration, make_service, db_url: str
) -> None:
    """Two integrations feed one service's incident; each resolves its alert in its own
    transaction at the same moment. Neither may count the other as still open."""
    from escalate.alerts import service as alert_service
    from escalate.alerts.mapping import InboundEvent
    from escalate.alerts.models import AlertAction, Integration
    from escalate.db import transaction
    from escalate.incidents.models import Incident

    payments = make_service("Payments")
    first, _ = make_integration(service_id=payments)
    second, _ = make_integration(service_id=payments)

    def ingest(session, integration_id: int, action: AlertAction, key: str) -> None:
        integration = session.get(Integration, integration_id)
        event = InboundEvent(action=action, dedup_key=key, summary=key)
        alert_service.ingest_events(
            session, container.clock, integration=integration, events=[event]
        )

    for integration_id, key in ((first, "x"), (second, "y")):
        with transaction(container.session_factory, clock=container.clock) as session:
            ingest(session, integration_id, AlertAction.TRIGGER, key)
    # The first resolve holds its transaction open while the second one starts.
    holding = container.session_factory()
    holding.begin()
    ingest(holding, first, AlertAction.RESOLVE, "x")
    errors: list[BaseException] = []

    def resolve_second() -> None:
        try:
            with transaction(container.session_factory, clock=container.clock) as session:
                ingest(session, second, AlertAction.RESOLVE, "y")
        except BaseException as exc:
            errors.append(exc)

    other = threading.Thread(target=resolve_second)
    if db_url.startswith("postgresql"):
        other.start()
        _wait_for_a_lock_wait(container)  # the second resolve waits for the first
        holding.commit()
    else:
        holding.commit()  # SQLite has one writer: the two cannot overlap at all
        other.start()
    holding.close()
    other.join(timeout=30)
    assert not other.is_alive() and errors == []
    with container.session_factory() as session:
        [incident] = session.scalars(select(Incident)).all()
        assert (incident.alert_count, incident.status) == (2, "resolved")


def _wait_for_a_lock_wait(container: Container) -> None:
    """Until another connection waits for a lock (PostgreSQL's view of it), or 30 s."""
    waiting = text("SELECT count(*) FROM pg_locks WHERE NOT granted")
    with container.engine.connect() as conn:
        for _ in range(3000):
            if conn.execute(waiting).scalar_one():
                return
            conn.rollback()
            threading.Event().wait(0.01)
    pytest.fail("the second resolve never waited for the first")
