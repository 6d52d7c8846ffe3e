"""The alert pages over real HTTP, signed in: integrations and their keys, routing rules and
the route tester, alerts (and their live fragment), silences, incidents, the dashboard's
unrouted alarm. Every write is checked for its role, its CSRF token and its field errors."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select
from test_pages import csrf_of, logged_in, text_of

from escalate.accounts import service as account_service
from escalate.accounts.schemas import ServiceCreate
from escalate.alerts import rules as rule_service
from escalate.alerts import service as alert_service
from escalate.alerts import silences as silence_service
from escalate.alerts.models import Alert, Integration, IntegrationKind, RoutingRule, Silence
from escalate.alerts.schemas import IntegrationCreate, RoutingRuleCreate, SilenceCreate
from escalate.auth.models import Role
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.incidents.models import Incident
from escalate.smtp import inbound

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "alertmanager"
AMTOOL = "/usr/bin/amtool"
KEY_RE = re.compile(r"esc_int_[A-Za-z0-9_-]{20,}")


# --- builders and helpers ---------------------------------------------------------------


def make_service(container: Container, name: str) -> int:
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        return account_service.create_service(s, actor=SYSTEM, data=ServiceCreate(name=name)).id


def make_integration(
    container: Container,
    name: str,
    kind: IntegrationKind = IntegrationKind.EVENTS_V2,
    service_id: int | None = None,
) -> tuple[int, str]:
    data = IntegrationCreate(name=name, kind=kind, default_service_id=service_id)
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        integration, key = alert_service.create_integration(
            s, container.clock, actor=SYSTEM, data=data
        )
        return integration.id, key


def add_rule(container: Container, integration_id: int, **fields: Any) -> int:
    data = RoutingRuleCreate.model_validate(fields)
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        return rule_service.create_rule(
            s, actor=SYSTEM, integration_id=integration_id, data=data
        ).id


def enqueue(client: TestClient, key: str, dedup_key: str, **payload: Any) -> Response:
    body = {
        "summary": "Disk full on db-1",
        "source": "db-1",
        "severity": "critical",
        **payload,
    }
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": body,
    }
    response = client.post("/v2/enqueue", json=event)
    assert response.status_code == 202, response.text
    return response


def stored_alert(container: Container, dedup_key: str) -> Alert:
    with container.session_factory() as s:
        alert = s.scalars(select(Alert).where(Alert.dedup_key == dedup_key)).one()
        s.expunge(alert)
        return alert


def count(container: Container, model: type) -> int:
    with container.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def rules_of(container: Container, integration_id: int) -> list[tuple[str, bool]]:
    with container.session_factory() as s:
        return [(r.name, r.is_catch_all) for r in alert_service.rules_of(s, integration_id)]


def post_form(client: TestClient, page: str, action: str, data: dict[str, Any]) -> Response:
    """Open `page`, then post its form at `action` with the page's CSRF token."""
    token = csrf_of(client.get(page))
    return client.post(action, data={**data, "csrf_token": token}, follow_redirects=False)


def error_of(response: Response, field_id: str) -> str:
    match = re.search(rf'id="{re.escape(field_id)}-error">([^<]*)<', response.text)
    assert match, f"no error shown for {field_id}"
    return html.unescape(match.group(1))


# --- every new page wants a login ---------------------------------------------------------

PAGES = [
    "/integrations",
    "/integrations/1",
    "/integrations/1/routing",
    "/routing/test",
    "/alerts",
    "/alerts?fragment=1",
    "/alerts/1",
    "/silences",
    "/incidents",
    "/incidents/1",
]


@pytest.mark.parametrize("path", PAGES)
def test_alert_pages_send_a_visitor_to_the_login_form(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/")


# --- integrations -------------------------------------------------------------------------


def test_creating_an_alertmanager_integration_shows_its_key_once_with_working_setup(
    client: TestClient, container: Container, make_user
) -> None:
    service_id = make_service(container, "Production API")
    logged_in(client, make_user, Role.MANAGER)
    response = post_form(
        client,
        "/integrations",
        "/integrations",
        {"kind": "alertmanager", "name": "Prometheus", "default_service_id": str(service_id)},
    )
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    page = text_of(response)
    [key] = set(KEY_RE.findall(page))
    assert "shown only this once" in page
    url = "http://testserver/api/v1/ingest/alertmanager"
    assert f'value="{url}"' in response.text
    assert f"url: {url}\n" in html.unescape(response.text)
    assert f"credentials: {key}" in page
    assert f"url: {url}/{key}" in page
    assert "<integration key>" not in page

    # What the page says to paste works, both ways.
    payload = json.loads((FIXTURES / "alertmanager_webhook_sample.json").read_text())
    by_header = client.post(url, json=payload, headers={"Authorization": f"Bearer {key}"})
    assert by_header.status_code == 202, by_header.text
    assert client.post(f"{url}/{key}", json=payload).status_code == 202

    # Afterwards the key is gone from the pages; the snippets carry the placeholder.
    with container.session_factory() as s:
        integration = s.scalars(select(Integration)).one()
        assert integration.default_service_id == service_id
    detail = client.get(f"/integrations/{integration.id}")
    shown = text_of(detail)
    assert key not in shown
    assert "credentials: <integration key>" in shown
    assert f"url: {url}/<integration key>" in shown
    assert integration.key_prefix in shown
    listed = text_of(client.get("/integrations"))
    assert "Prometheus" in listed and "Prometheus Alertmanager" in listed
    assert integration.key_prefix in listed and "Production API" in listed and key not in listed


def test_an_events_v2_integration_shows_a_curl_example_that_works(
    client: TestClient, container: Container, make_user
) -> None:
    logged_in(client, make_user, Role.ADMIN)
    response = post_form(
        client, "/integrations", "/integrations", {"kind": "events_v2", "name": "Datadog"}
    )
    assert response.status_code == 201
    page = html.unescape(response.text)
    assert "curl -X POST http://testserver/v2/enqueue" in page
    body = re.search(r"-d '(\{.*?\})'", page)
    assert body, "no JSON body in the example"
    event = json.loads(body.group(1))
    assert KEY_RE.fullmatch(event["routing_key"])
    answer = client.post("/v2/enqueue", json=event)
    assert answer.status_code == 202, answer.text
    assert stored_alert(container, event["dedup_key"]).summary == "Disk full on db-1"


def test_a_generic_integration_shows_a_curl_example_that_works(
    client: TestClient, container: Container, make_user
) -> None:
    logged_in(client, make_user, Role.MANAGER)
    response = post_form(
        client, "/integrations", "/integrations", {"kind": "generic", "name": "Cron jobs"}
    )
    assert response.status_code == 201
    page = html.unescape(response.text)
    [key] = set(KEY_RE.findall(page))
    assert "curl -X POST http://testserver/api/v1/ingest/generic \\" in page
    assert f"-H 'Authorization: Bearer {key}'" in page
    body = re.search(r"-d '(\{.*?\})'", page)
    assert body, "no JSON body in the example"
    event = json.loads(body.group(1))
    url = "http://testserver/api/v1/ingest/generic"
    answer = client.post(url, json=event, headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 202, answer.text
    assert stored_alert(container, event["dedup_key"]).summary == event["title"]


def test_an_email_integration_shows_the_address_to_send_to(
    client: TestClient, container: Container, make_user
) -> None:
    logged_in(client, make_user, Role.MANAGER)
    response = post_form(
        client, "/integrations", "/integrations", {"kind": "email", "name": "Legacy NMS"}
    )
    assert response.status_code == 201
    [key] = set(KEY_RE.findall(response.text))
    address = f"{key}@testserver"
    assert f'value="{address}"' in response.text
    assert inbound.recipient_key(address) == (key, "testserver")  # what the listener reads
    assert "run escalate serve with ESCALATE_SMTP_INBOUND_PORT set" in text_of(response)

    container.settings.smtp_inbound_port = 2525
    container.settings.smtp_inbound_domain = "alerts.example.com"
    with container.session_factory() as s:
        integration_id = s.scalars(select(Integration.id)).one()
    detail = client.get(f"/integrations/{integration_id}")
    assert 'value="<integration key>@alerts.example.com"' in html.unescape(detail.text)
    assert "takes alert mail at 127.0.0.1:2525" in text_of(detail)
    assert key not in detail.text


@pytest.mark.alertmanager
def test_the_alertmanager_snippet_is_a_valid_configuration(
    client: TestClient, container: Container, make_user, tmp_path: Path
) -> None:
    if not os.path.exists(AMTOOL):
        pytest.skip(f"amtool not found at {AMTOOL}: apt-get install -y prometheus-alertmanager")
    logged_in(client, make_user, Role.MANAGER)
    response = post_form(
        client, "/integrations", "/integrations", {"kind": "alertmanager", "name": "Prom"}
    )
    snippets = re.findall(r"<pre class=\"code\"><code>(.*?)</code></pre>", response.text, re.S)
    assert len(snippets) == 2
    for number, snippet in enumerate(snippets):
        config = tmp_path / f"alertmanager-{number}.yml"
        config.write_text("route:\n  receiver: escalate\n" + html.unescape(snippet) + "\n")
        checked = subprocess.run(
            [AMTOOL, "check-config", str(config)], capture_output=True, text=True, timeout=60
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr


@pytest.mark.parametrize(
    ("data", "status", "field", "message"),
    [
        ({"kind": "alertmanager", "name": "  "}, 422, "create-name", "This field is required."),
        ({"kind": "carrier-pigeon", "name": "X"}, 422, "create-kind", "Choose one of the options."),
        ({"kind": "alertmanager", "name": "prometheus"}, 409, "create-name", "already exists"),
        (
            {"kind": "alertmanager", "name": "X", "default_service_id": "abc"},
            422,
            "create-default_service_id",
            "valid integer",
        ),
    ],
)
def test_integration_form_errors_show_by_their_field_and_write_nothing(
    client: TestClient,
    container: Container,
    make_user,
    data: dict[str, str],
    status: int,
    field: str,
    message: str,
) -> None:
    make_integration(container, "Prometheus", IntegrationKind.ALERTMANAGER)
    logged_in(client, make_user, Role.MANAGER)
    before = count(container, Integration)
    response = post_form(client, "/integrations", "/integrations", data)
    assert response.status_code == status
    assert message in error_of(response, field)
    assert not KEY_RE.search(response.text)
    assert count(container, Integration) == before


def test_settings_are_saved_and_bad_values_are_refused_by_their_field(
    client: TestClient, container: Container, make_user
) -> None:
    service_id = make_service(container, "Payments")
    integration_id, _ = make_integration(container, "Prometheus", IntegrationKind.ALERTMANAGER)
    logged_in(client, make_user, Role.MANAGER)
    page = f"/integrations/{integration_id}"
    settings = {
        "name": "Prometheus EU",
        "default_service_id": str(service_id),
        "grouping_labels": "alertname, cluster",
        "grouping_window_minutes": "30",
        "flap_window_minutes": "0",
        "severity_map.critical": "SEV2",
        "severity_map.info": "",
        "is_active": "on",
    }
    saved = post_form(client, page, page, settings)
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{page}?saved=settings#settings"
    with container.session_factory() as s:
        integration = s.get(Integration, integration_id)
        assert integration is not None
        assert integration.name == "Prometheus EU"
        assert integration.default_service_id == service_id
        assert integration.grouping_labels == ["alertname", "cluster"]
        assert (integration.grouping_window_minutes, integration.flap_window_minutes) == (30, 0)
        assert integration.severity_map == {"critical": "SEV2"}
        assert integration.auto_resolve_incidents is False  # unchecked
        assert integration.is_active is True
    shown = client.get(saved.headers["location"])
    assert "Settings saved." in shown.text
    assert 'value="alertname, cluster"' in shown.text

    for field, value, message in [
        ("grouping_window_minutes", "soon", "valid integer"),
        ("grouping_window_minutes", "0", "greater than or equal to 1"),
        ("grouping_labels", "alertname, no-dashes", "'no-dashes' is not a label name"),
        ("name", "", "This field is required."),
    ]:
        refused = post_form(client, page, page, {**settings, field: value})
        assert refused.status_code == 422, (field, value)
        assert message in error_of(refused, f"settings-{field}"), (field, value)
        assert f'value="{value}"' in refused.text  # what was typed stays
    with container.session_factory() as s:
        integration = s.get(Integration, integration_id)
        assert integration is not None
        assert (integration.name, integration.grouping_window_minutes) == ("Prometheus EU", 30)


def test_rotating_the_key_shows_the_new_one_once_and_the_old_one_stops(
    client: TestClient, container: Container, make_user
) -> None:
    integration_id, old_key = make_integration(container, "Datadog")
    logged_in(client, make_user, Role.ADMIN)
    page = f"/integrations/{integration_id}"
    rotated = post_form(client, page, f"{page}/rotate-key", {})
    assert rotated.status_code == 200
    [new_key] = set(KEY_RE.findall(rotated.text))
    assert new_key != old_key
    assert "old key stopped working" in rotated.text
    assert f'"routing_key": "{new_key}"' in html.unescape(rotated.text)
    assert client.post("/v2/enqueue", json={"routing_key": old_key}).status_code == 400
    enqueue(client, new_key, "after-rotation")
    assert new_key not in client.get(page).text


def test_refused_events_are_listed_on_the_integration_for_managers_only(
    client: TestClient, container: Container, make_user
) -> None:
    integration_id, key = make_integration(container, "Datadog")
    bad = {"routing_key": key, "event_action": "trigger", "payload": {"summary": "x"}}
    assert client.post("/v2/enqueue", json=bad).status_code == 400
    logged_in(client, make_user, Role.MANAGER)
    page = text_of(client.get(f"/integrations/{integration_id}"))
    assert "Refused events" in page
    assert "payload.source" in page and "/v2/enqueue" in page
    assert key not in page  # the excerpt has the key blanked

    viewer = TestClient(client.app)
    logged_in(viewer, make_user, Role.VIEWER)
    seen = text_of(viewer.get(f"/integrations/{integration_id}"))
    assert "Refused events" not in seen and "Save settings" not in seen
    assert "Rotate key" not in seen


# --- who may change what ------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RESPONDER])
def test_roles_without_the_right_are_refused_every_integration_write(
    client: TestClient, container: Container, make_user, role: Role
) -> None:
    integration_id, _ = make_integration(container, "Datadog")
    catch_all_id = _catch_all(container, integration_id)
    logged_in(client, make_user, role)
    listing = client.get("/integrations")
    assert listing.status_code == 200 and "Create integration" not in listing.text
    routing = client.get(f"/integrations/{integration_id}/routing")
    assert routing.status_code == 200 and "Add rule" not in routing.text
    token = csrf_of(routing)
    base = f"/integrations/{integration_id}"
    writes = [
        ("/integrations", {"kind": "events_v2", "name": "Sneaky"}),
        (base, {"name": "Renamed", "grouping_window_minutes": "5", "flap_window_minutes": "1"}),
        (f"{base}/rotate-key", {}),
        (f"{base}/routing/rules", {"name": "R", "matchers": "team=db"}),
        (f"{base}/routing/rules/{catch_all_id}", {"escalation_policy": "P"}),
        (f"{base}/routing/rules/{catch_all_id}/delete", {}),
        (f"{base}/routing/rules/{catch_all_id}/move", {"direction": "up"}),
    ]
    before = (count(container, Integration), count(container, RoutingRule))
    for action, data in writes:
        response = client.post(action, data={**data, "csrf_token": token})
        assert response.status_code == 403, (action, response.status_code)
        assert "Not allowed" in response.text
    assert (count(container, Integration), count(container, RoutingRule)) == before
    with container.session_factory() as s:
        integration = s.get(Integration, integration_id)
        assert integration is not None and integration.name == "Datadog"
        rule = s.get(RoutingRule, catch_all_id)
        assert rule is not None and rule.escalation_policy is None


def test_viewers_read_silences_but_cannot_create_or_expire_them(
    client: TestClient, container: Container, make_user
) -> None:
    responder = TestClient(client.app)
    logged_in(responder, make_user, Role.RESPONDER)
    created = post_form(
        responder,
        "/silences",
        "/silences",
        {
            "kind": "silence",
            "comment": "Known noise",
            "matchers": "team=db",
            "ends_at": "2025-10-22T18:00",
        },
    )
    assert created.status_code == 303  # responders may silence: they carry the pager
    with container.session_factory() as s:
        silence_id = s.scalars(select(Silence.id)).one()

    logged_in(client, make_user, Role.VIEWER)
    page = client.get("/silences")
    assert "Known noise" in page.text
    assert 'action="/silences"' not in page.text and '/expire"' not in page.text
    token = csrf_of(page)
    refused = client.post(
        "/silences",
        data={
            "comment": "x",
            "matchers": "a=b",
            "ends_at": "2025-10-22T18:00",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 403
    assert (
        client.post(f"/silences/{silence_id}/expire", data={"csrf_token": token}).status_code == 403
    )
    assert count(container, Silence) == 1
    assert "Known noise" in client.get("/silences?state=active").text


def test_writes_without_the_csrf_token_are_refused(
    client: TestClient, container: Container, make_user
) -> None:
    integration_id, _ = make_integration(container, "Datadog")
    logged_in(client, make_user, Role.ADMIN)
    for action, data in [
        ("/integrations", {"kind": "events_v2", "name": "Forged"}),
        (f"/integrations/{integration_id}/rotate-key", {}),
        (f"/integrations/{integration_id}/routing/rules", {"name": "R", "matchers": "a=b"}),
        ("/silences", {"comment": "x", "matchers": "a=b", "ends_at": "2025-10-22T18:00"}),
        ("/routing/test", {"integration_id": str(integration_id)}),
    ]:
        response = client.post(action, data={**data, "csrf_token": "forged"})
        assert response.status_code == 403, action
        assert "security token" in response.text
    assert count(container, Integration) == 1
    assert count(container, Silence) == 0
    assert len(rules_of(container, integration_id)) == 1


def _catch_all(container: Container, integration_id: int) -> int:
    with container.session_factory() as s:
        return int(
            s.scalar(
                select(RoutingRule.id).where(
                    RoutingRule.integration_id == integration_id, RoutingRule.is_catch_all
                )
            )
            or 0
        )


# --- routing rules and the route tester -------------------------------------------------


def _test_route(client: TestClient, integration: int, **fields: str) -> Response:
    data = {"integration_id": str(integration), "summary": "Disk full", "severity": "error"}
    return post_form(client, "/routing/test", "/routing/test", {**data, **fields})


def test_a_rule_added_through_the_form_changes_what_the_tester_answers(
    client: TestClient, container: Container, make_user
) -> None:
    service_id = make_service(container, "Database")
    integration_id, key = make_integration(container, "Datadog")
    logged_in(client, make_user, Role.MANAGER)

    before = _test_route(client, integration_id, labels="component=db-primary\nenv=prod")
    assert before.status_code == 200
    shown = text_of(before)
    assert "UNROUTED" in shown and "Matched no routing rule" in shown
    assert "Catch-all (no rule matched)" in shown
    assert "would open a new incident" in shown

    page = f"/integrations/{integration_id}/routing"
    added = post_form(
        client,
        page,
        f"{page}/rules",
        {
            "name": "Database team",
            "matchers": 'component=~"db-.*|dba"\nevent.severity!="info"',
            "service_id": str(service_id),
            "escalation_policy": "DB on-call",
            "severity_override": "SEV1",
        },
    )
    assert added.status_code == 303, added.text
    assert added.headers["location"] == f"{page}?saved=added#rules"
    editor = text_of(client.get(added.headers["location"]))
    assert "Rule added." in editor
    assert 'component=~"db-.*|dba"' in editor and 'event.severity!="info"' in editor
    assert "DB on-call" in editor and "Database" in editor
    assert rules_of(container, integration_id) == [("Database team", False), ("Catch-all", True)]

    after = text_of(_test_route(client, integration_id, labels="component=db-primary\nenv=prod"))
    assert "Routed: escalation policy DB on-call" in after
    assert "UNROUTED" not in after
    assert "First matching rule Database team" in after
    assert "Incident severity SEV1" in after
    elsewhere = text_of(_test_route(client, integration_id, labels="component=web"))
    assert "UNROUTED" in elsewhere

    # Ingestion takes the same decision.
    enqueue(client, key, "db-disk", component="db-primary")
    alert = stored_alert(container, "db-disk")
    assert (alert.routed, alert.escalation_policy, alert.service_id) == (
        True,
        "DB on-call",
        service_id,
    )


def test_the_tester_opens_prefilled_from_an_alert_and_says_which_incident_it_joins(
    client: TestClient, container: Container, make_user
) -> None:
    integration_id, key = make_integration(container, "Datadog")
    enqueue(client, key, "disk-1", component="db", summary="Disk full")
    alert = stored_alert(container, "disk-1")
    logged_in(client, make_user, Role.VIEWER)  # testing writes nothing: viewers may
    form = client.get(f"/routing/test?alert={alert.id}")
    assert form.status_code == 200
    assert f'<option value="{integration_id}" selected>' in form.text
    assert 'value="Disk full"' in form.text and ">component=db</textarea>" in form.text
    result = _test_route(client, integration_id, labels="component=db", severity="critical")
    shown = text_of(result)
    with container.session_factory() as s:
        incident = s.scalars(select(Incident)).one()
    assert f"would join incident #{incident.number}" in shown
    assert f'href="/incidents/{incident.id}"' in result.text
    assert count(container, Alert) == 1


def test_the_tester_takes_a_raw_payload_and_shows_errors_by_their_field(
    client: TestClient, container: Container, make_user
) -> None:
    am_id, _ = make_integration(container, "Prometheus", IntegrationKind.ALERTMANAGER)
    add_rule(
        container,
        am_id,
        name="Disk alerts",
        matchers=[{"name": "alertname", "op": "=", "value": "DiskFull"}],
        escalation_policy="Storage",
    )
    logged_in(client, make_user, Role.RESPONDER)
    payload = (FIXTURES / "alertmanager_webhook_sample.json").read_text()
    routed = text_of(_test_route(client, am_id, payload=payload))
    assert "Routed: escalation policy Storage" in routed and "Disk alerts" in routed

    for fields, field, message in [
        ({"payload": "{not json"}, "test-payload", "Not valid JSON"),
        ({"payload": "[1, 2]"}, "test-payload", "A JSON object is needed"),
        ({"payload": '{"version": "4"}'}, "test-payload", "not a valid alertmanager body"),
        (
            {"labels": "team=db\nno equals sign"},
            "test-labels",
            "Line 2: write a label as name=value",
        ),
        ({"labels": "team=db\nteam=dba"}, "test-labels", "Line 2: label 'team' is given twice"),
        ({"severity": "apocalyptic"}, "test-severity", "Choose one of the options."),
        ({"integration_id": ""}, "test-integration_id", "Choose an integration."),
    ]:
        response = _test_route(client, am_id, **fields)
        assert response.status_code == 422, fields
        assert message in error_of(response, field), fields
        assert "Result" not in text_of(response)


@pytest.mark.parametrize(
    ("matchers", "message"),
    [
        ("team db", "Line 1: 'team db' is not a matcher: write name=value, name!=value,"),
        ('team="db"\nenv=~"(prod"', "Line 2: not a valid regular expression"),
        ('team="db" env="prod"', "a quoted value ends at its closing quote"),
        ('team="db', "Line 1: 'team=\"db': a quoted value ends at its closing quote"),
        ("my-label=x", "Line 1: 'my-label=x' is not a matcher"),
        ("a=b\nevent.colour=red", "Line 2: 'event.colour' is neither a label name"),
        ("  \n ", "Give at least one matcher"),
    ],
)
def test_bad_matchers_are_refused_beside_the_field_naming_the_line(
    client: TestClient, container: Container, make_user, matchers: str, message: str
) -> None:
    integration_id, _ = make_integration(container, "Datadog")
    logged_in(client, make_user, Role.MANAGER)
    page = f"/integrations/{integration_id}/routing"
    response = post_form(client, page, f"{page}/rules", {"name": "Team", "matchers": matchers})
    assert response.status_code == 422
    assert message in error_of(response, "add-matchers")
    assert f">{matchers.strip()}</textarea>" in html.unescape(response.text)  # kept as typed
    assert len(rules_of(container, integration_id)) == 1


def test_the_catch_all_cannot_be_deleted_and_has_no_delete_button(
    client: TestClient, container: Container, make_user
) -> None:
    integration_id, _ = make_integration(container, "Datadog")
    catch_all_id = _catch_all(container, integration_id)
    logged_in(client, make_user, Role.ADMIN)
    page = f"/integrations/{integration_id}/routing"
    editor = client.get(page)
    assert f"/rules/{catch_all_id}/delete" not in editor.text
    response = post_form(client, page, f"{page}/rules/{catch_all_id}/delete", {})
    assert response.status_code == 409
    assert "catch-all rule cannot be deleted" in text_of(response)
    assert rules_of(container, integration_id) == [("Catch-all", True)]


def test_rules_are_edited_moved_and_deleted(
    client: TestClient, container: Container, make_user
) -> None:
    integration_id, _ = make_integration(container, "Datadog")
    first = add_rule(
        container, integration_id, name="First", matchers=[{"name": "a", "op": "=", "value": "1"}]
    )
    second = add_rule(
        container, integration_id, name="Second", matchers=[{"name": "b", "op": "=", "value": "2"}]
    )
    catch_all_id = _catch_all(container, integration_id)
    logged_in(client, make_user, Role.MANAGER)
    page = f"/integrations/{integration_id}/routing"

    moved = post_form(client, page, f"{page}/rules/{second}/move", {"direction": "up"})
    assert moved.status_code == 303
    assert [n for n, _ in rules_of(container, integration_id)] == ["Second", "First", "Catch-all"]

    edited = post_form(
        client,
        page,
        f"{page}/rules/{first}",
        {"name": "First, renamed", "matchers": 'a=~"1|one"', "continue_matching": "on"},
    )
    assert edited.status_code == 303
    with container.session_factory() as s:
        rule = s.get(RoutingRule, first)
        assert rule is not None
        assert rule.name == "First, renamed" and rule.continue_matching
        assert rule.matchers == [{"name": "a", "op": "=~", "value": "1|one"}]
    # The edit form reads back what is stored, in the same notation.
    assert '>a=~"1|one"</textarea>' in html.unescape(client.get(page).text)

    refused = post_form(client, page, f"{page}/rules/{first}", {"name": "", "matchers": "a=1"})
    assert refused.status_code == 422
    assert error_of(refused, f"rule-{first}-name") == "This field is required."

    catch_all = post_form(
        client, page, f"{page}/rules/{catch_all_id}", {"escalation_policy": "Everyone"}
    )
    assert catch_all.status_code == 303
    with container.session_factory() as s:
        rule = s.get(RoutingRule, catch_all_id)
        assert rule is not None and rule.escalation_policy == "Everyone"

    deleted = post_form(client, page, f"{page}/rules/{second}/delete", {})
    assert deleted.status_code == 303
    assert [n for n, _ in rules_of(container, integration_id)] == ["First, renamed", "Catch-all"]
    assert "Rule deleted." in client.get(deleted.headers["location"]).text


def test_a_rule_of_another_integration_is_not_found_here(
    client: TestClient, container: Container, make_user
) -> None:
    one, _ = make_integration(container, "One")
    other, _ = make_integration(container, "Other")
    foreign = _catch_all(container, other)
    logged_in(client, make_user, Role.ADMIN)
    page = f"/integrations/{one}/routing"
    response = post_form(client, page, f"{page}/rules/{foreign}", {"escalation_policy": "X"})
    assert response.status_code == 404
    for path in ("/integrations/999999/routing", "/integrations/abc", "/alerts/0", "/incidents/x"):
        assert client.get(path).status_code == 404, path


# --- silences -------------------------------------------------------------------------------


def test_a_silence_created_through_the_form_suppresses_the_next_alert(
    client: TestClient, container: Container, make_user
) -> None:
    integration_id, key = make_integration(container, "Datadog")
    logged_in(client, make_user, Role.RESPONDER)
    form = client.get("/silences")
    assert "Starts (UTC)" in form.text and "Ends (UTC)" in form.text
    assert 'value="2025-10-22T14:00"' in form.text  # now + 2 h, in UTC
    created = post_form(
        client,
        "/silences",
        "/silences",
        {
            "kind": "maintenance",
            "comment": "Database upgrade",
            "matchers": 'component="db"\nevent.source=~"db-.*"',
            "ends_at": "2025-10-22T16:30",
        },
    )
    assert created.status_code == 303, created.text
    assert created.headers["location"] == "/silences?state=active&saved=created"
    listed = text_of(client.get(created.headers["location"]))
    assert "Silence created." in listed and "Database upgrade" in listed
    assert "Maintenance window" in listed and 'component="db"' in listed
    assert "22 Oct 2025, 16:30 UTC" in listed

    enqueue(client, key, "db-disk", component="db")
    enqueue(client, key, "web-down", component="web", source="web-1")
    silenced, loud = stored_alert(container, "db-disk"), stored_alert(container, "web-down")
    assert silenced.suppressed and silenced.incident_id is None
    assert not loud.suppressed and loud.incident_id is not None

    suppressed = text_of(client.get("/alerts?suppressed=yes"))
    assert "1 alert matches the filters." in suppressed and "suppressed" in suppressed
    detail = text_of(client.get(f"/alerts/{silenced.id}"))
    assert "Database upgrade" in detail and "but suppressed" in detail
    assert integration_id


def test_a_silence_is_expired_and_listed_as_such(
    client: TestClient, container: Container, make_user
) -> None:
    logged_in(client, make_user, Role.MANAGER)
    created = post_form(
        client,
        "/silences",
        "/silences",
        {
            "kind": "silence",
            "comment": "Pending one",
            "matchers": "a=b",
            "starts_at": "2025-10-23T00:00",
            "ends_at": "2025-10-23T02:00",
        },
    )
    assert created.headers["location"] == "/silences?state=pending&saved=created"
    assert "Pending one" in client.get("/silences?state=pending").text
    assert "Pending one" not in client.get("/silences").text
    with container.session_factory() as s:
        silence_id = s.scalars(select(Silence.id)).one()
    expired = post_form(client, "/silences?state=pending", f"/silences/{silence_id}/expire", {})
    assert expired.status_code == 303
    page = text_of(client.get(expired.headers["location"]))
    assert "Silence expired." in page and "Pending one" in page
    assert "Pending one" not in client.get("/silences?state=pending").text
    assert client.get("/silences?state=forever").status_code == 400


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"matchers": ""}, "silence-matchers", "Give at least one matcher or a service id."),
        ({"comment": " "}, "silence-comment", "This field is required."),
        ({"ends_at": ""}, "silence-ends_at", "This field is required."),
        ({"ends_at": "tomorrow"}, "silence-ends_at", "Give a date and time in UTC"),
        ({"ends_at": "2025-10-22T11:00"}, "silence-ends_at", "Is in the past"),
        (
            {"starts_at": "2025-10-22T15:00", "ends_at": "2025-10-22T14:00"},
            "silence-ends_at",
            "Must be after starts at.",
        ),
        ({"matchers": "team"}, "silence-matchers", "Line 1"),
    ],
)
def test_silence_form_errors_show_by_their_field_and_write_nothing(
    client: TestClient,
    container: Container,
    make_user,
    data: dict[str, str],
    field: str,
    message: str,
) -> None:
    logged_in(client, make_user, Role.RESPONDER)
    base = {
        "kind": "silence",
        "comment": "Noise",
        "matchers": "team=db",
        "ends_at": "2025-10-22T18:00",
    }
    response = post_form(client, "/silences", "/silences", {**base, **data})
    assert response.status_code == 422
    assert message in error_of(response, field)
    assert '<details class="disclosure disclosure-top" id="create" open>' in response.text
    assert count(container, Silence) == 0


# --- alerts -------------------------------------------------------------------------------


def test_the_alerts_list_shows_each_alert_and_filters(
    client: TestClient, container: Container, make_user, clock
) -> None:
    db_id = make_service(container, "Database")
    integration_id, key = make_integration(container, "Datadog", service_id=db_id)
    other_id, other_key = make_integration(container, "Other")
    add_rule(
        container,
        integration_id,
        name="Database team",
        matchers=[{"name": "component", "op": "=", "value": "db"}],
        service_id=db_id,
        escalation_policy="DB on-call",
    )
    enqueue(client, key, "db-disk", component="db", summary="Disk full on db-1")
    enqueue(client, key, "db-disk", component="db", summary="Disk full on db-1")
    enqueue(client, other_key, "web-down", summary="Web is down", severity="warning")
    client.post(
        "/v2/enqueue",
        json={"routing_key": other_key, "event_action": "resolve", "dedup_key": "web-down"},
    )
    logged_in(client, make_user, Role.VIEWER)

    response = client.get("/alerts")
    assert response.status_code == 200
    page = text_of(response)
    assert "2 alerts." in page
    rows = re.findall(r'<tr data-alert-id="\d+".*?</tr>', response.text, re.S)
    assert len(rows) == 2
    web, db = (text_of_html(row) for row in rows)  # most recently seen first
    assert "Resolved" in web and "Warning" in web and "Web is down" in web
    assert "UNROUTED matched no routing rule: it landed on the catch-all" in web
    assert "Triggered" in db and "Critical" in db and " 2 " in db
    assert "Database" in db and "UNROUTED" not in db
    with container.session_factory() as s:
        incident = s.get(Incident, stored_alert(container, "db-disk").incident_id)
        assert incident is not None
    assert f"#{incident.number}" in db

    def listed(query: str) -> str:
        return text_of(client.get("/alerts?" + query))

    assert "Web is down" not in listed("status=triggered")
    assert "Disk full" not in listed(f"integration={other_id}")
    assert "Web is down" not in listed(f"service={db_id}")
    assert "Web is down" in listed("unrouted=1") and "Disk full" not in listed("unrouted=1")
    assert "Disk full" in listed("dedup_key=db-disk") and "Web is down" not in listed(
        "dedup_key=db-disk"
    )
    assert "No alert matches these filters." in listed("suppressed=yes")
    for bad in ("status=sleeping", "service=abc", "integration=-1", "suppressed=maybe"):
        assert client.get("/alerts?" + bad).status_code == 400, bad
    assert client.get("/alerts?service=999999").status_code == 404

    first = client.get("/alerts?limit=1")
    assert "1\N{EN DASH}1 of 2" in text_of(first)
    assert 'href="/alerts?limit=1&amp;offset=1"' in first.text
    assert integration_id


def text_of_html(fragment: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment)))


def test_the_live_fragment_is_the_list_alone_and_keeps_the_filters(
    client: TestClient, container: Container, make_user
) -> None:
    _, key = make_integration(container, "Datadog")
    logged_in(client, make_user, Role.VIEWER)
    page = client.get("/alerts?unrouted=1&refresh=2")
    assert 'data-refresh-seconds="2"' in page.text
    assert 'data-fragment-url="/alerts?unrouted=1&amp;refresh=2&amp;fragment=1"' in page.text
    assert "Pause" in page.text
    assert 'data-refresh-seconds="300"' in client.get("/alerts?refresh=99999").text

    enqueue(client, key, "late", summary="Arrived while the page was open")
    fragment = client.get("/alerts?unrouted=1&refresh=2&fragment=1")
    assert fragment.status_code == 200
    assert fragment.headers["x-escalate-fragment"] == "alerts/_results.html"
    assert "<html" not in fragment.text and "<nav" not in fragment.text.split("pager")[0]
    assert "Arrived while the page was open" in fragment.text
    assert 'href="/alerts/' in fragment.text

    # Signed out, the fragment is a redirect the script recognises by the missing header.
    anonymous = TestClient(client.app)
    gone = anonymous.get("/alerts?fragment=1", follow_redirects=False)
    assert gone.status_code == 303 and "x-escalate-fragment" not in gone.headers


def test_the_alert_page_shows_its_route_payload_and_history_escaped(
    client: TestClient, container: Container, make_user
) -> None:
    _, key = make_integration(container, "Datadog")
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": "xss",
        "payload": {
            "summary": "<script>alert(1)</script> disk",
            "source": "db-1",
            "severity": "error",
            "component": "db",
            "custom_details": {"free_gb": 1, "note": "<b>bold</b>"},
        },
        "links": [
            {"href": "https://grafana.example/d/1", "text": "Dashboard"},
            {"href": "javascript:alert(2)", "text": "Sneaky"},
        ],
    }
    assert client.post("/v2/enqueue", json=event).status_code == 202
    assert client.post("/v2/enqueue", json=event).status_code == 202
    alert = stored_alert(container, "xss")
    logged_in(client, make_user, Role.VIEWER)
    response = client.get(f"/alerts/{alert.id}")
    assert response.status_code == 200
    assert "<script>alert(1)</script>" not in response.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; disk" in response.text
    assert "<b>bold</b>" not in response.text
    page = text_of(response)
    assert "UNROUTED Nobody would be paged for this alert" in page
    assert "Matched no routing rule: it landed on the catch-all." in page
    assert "Fix the routing rules" in page
    assert "Catch-all" in page  # the rule it took
    assert re.search(r"component\s*=\s*db", page)
    assert '"free_gb": 1' in page
    assert '"dedup_key": "xss"' in page  # the last payload, pretty
    assert "routing_key" not in page
    assert 'href="https://grafana.example/d/1"' in response.text
    assert 'href="javascript' not in response.text
    assert "Sneaky (not a web link)" in page
    assert "2 events, newest first" in page
    assert re.search(r"Repeat .*Trigger", page)
    assert f'href="/routing/test?alert={alert.id}"' in response.text


# --- incidents and the dashboard ------------------------------------------------------------


def test_incident_pages_list_and_show_their_alerts(
    client: TestClient, container: Container, make_user
) -> None:
    service_id = make_service(container, "Production API")
    _, key = make_integration(container, "Datadog", service_id=service_id)
    enqueue(client, key, "a-1", summary="API latency high")
    enqueue(client, key, "a-2", summary="API errors", severity="warning")
    with container.session_factory() as s:
        [incident] = s.scalars(select(Incident)).all()
        s.expunge(incident)
    logged_in(client, make_user, Role.VIEWER)
    listed = client.get("/incidents")
    page = text_of(listed)
    assert f"#{incident.number} API latency high" in page
    assert "SEV1" in page and "Triggered" in page and "Production API" in page
    assert "22 Oct 2025, 12:00 UTC" in page
    assert re.search(r"Triggered Production API 22 Oct 2025, 12:00 UTC 2\b", page)
    assert "No incidents resolved." in text_of(client.get("/incidents?status=resolved"))
    assert client.get("/incidents?status=closed").status_code == 400

    detail = text_of(client.get(f"/incidents/{incident.id}"))
    assert "API latency high" in detail and "API errors" in detail
    assert "2 grouped" in detail and "service=" in detail


def test_the_dashboard_raises_the_unrouted_alarm_for_open_unsilenced_alerts_only(
    client: TestClient, container: Container, make_user
) -> None:
    integration_id, key = make_integration(container, "Datadog")
    logged_in(client, make_user, Role.VIEWER)
    calm = client.get("/")
    assert "every open alert reaches someone" in text_of(calm)
    assert 'class="alarm"' not in calm.text

    enqueue(client, key, "lost-1", summary="Nobody hears this")
    enqueue(client, key, "lost-2", summary="Nor this")
    client.post(
        "/v2/enqueue", json={"routing_key": key, "event_action": "resolve", "dedup_key": "lost-2"}
    )
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        silence_service.create_silence(
            s,
            container.clock,
            actor=SYSTEM,
            data=SilenceCreate.model_validate(
                {
                    "comment": "known",
                    "matchers": [{"name": "event.dedup_key", "op": "=", "value": "quiet"}],
                    "ends_at": "2025-10-23T00:00:00Z",
                }
            ),
        )
    enqueue(client, key, "quiet", summary="Silenced one")
    response = client.get("/")
    assert 'class="alarm"' in response.text
    page = text_of(response)
    assert "UNROUTED 1 open alert is not routed to an on-call team" in page
    assert "Nobody hears this" in page
    assert "Nor this" not in page and "Silenced one" not in page
    alert = stored_alert(container, "lost-1")
    assert f'href="/alerts/{alert.id}"' in response.text
    # Both lost alerts grouped into one incident, open while lost-1 is.
    assert "Triggered incidents 1 open" in page and "Acknowledged incidents 0 open" in page
    assert integration_id
