"""Roles with hand-over history; checklists copied from the severity's protocol with due
times, ticked by their checks and by hand, re-planned on a severity change, and summed up
as compliance; the protocol edited by admins only."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi.testclient import TestClient
from incidents_support import declare, row_counts

from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.db import transaction
from escalate.incidents import checklists


def _protocol(client: TestClient, headers: dict[str, str], severity: str, items: list) -> None:
    put = client.put(
        f"/api/v1/response-protocol/{severity}", json={"items": items}, headers=headers
    )
    assert put.status_code == 200, put.text


PROTOCOL = [
    {"title": "Commander assigned", "due_minutes": 5, "check": "commander_assigned"},
    {"title": "Customers acknowledged", "due_minutes": 15, "check": "customers_acknowledged"},
    {"title": "Executive sponsor informed", "due_minutes": 30},
]


def test_roles_hand_over_and_keep_their_history(
    client: TestClient,
    clock: FrozenClock,
    admin_headers: dict[str, str],
    make_user,
    container: Container,
) -> None:
    ana = make_user(Role.RESPONDER, name="Ana")
    ben = make_user(Role.RESPONDER, name="Ben")
    incident = declare(client, admin_headers)
    url = f"/api/v1/incidents/{incident['id']}/roles"

    first = client.put(f"{url}/commander", json={"user": ana.email}, headers=admin_headers)
    assert first.status_code == 200, first.text
    clock.advance(timedelta(minutes=7))
    again = client.put(f"{url}/commander", json={"user": ana.email}, headers=admin_headers)
    assert again.json()["id"] == first.json()["id"]  # the same holder: nothing changes
    handed = client.put(f"{url}/commander", json={"user": str(ben.id)}, headers=admin_headers)
    assert handed.status_code == 200
    scribe = client.put(f"{url}/Scribe", json={"user": ana.email}, headers=admin_headers)
    assert scribe.json()["role"] == "scribe"

    before = row_counts(container)
    bad = client.put(f"{url}/com!mander", json={"user": ana.email}, headers=admin_headers)
    assert bad.status_code == 422 and bad.json()["field"] == "role"
    nobody = client.put(f"{url}/commander", json={"user": "no@x.org"}, headers=admin_headers)
    assert nobody.status_code == 404
    assert row_counts(container) == before

    history = client.get(url, headers=admin_headers).json()
    assert [(r["role"], r["user_id"], r["ended_at"] is None) for r in history["items"]] == [
        ("commander", ana.id, False),
        ("commander", ben.id, True),
        ("scribe", ana.id, True),
    ]
    shown = client.get(f"/api/v1/incidents/{incident['id']}", headers=admin_headers).json()
    assert {(r["role"], r["user_id"]) for r in shown["roles"]} == {
        ("commander", ben.id),
        ("scribe", ana.id),
    }
    timeline = client.get(f"/api/v1/incidents/{incident['id']}/timeline", headers=admin_headers)
    assert any("handed over from Ana to Ben" in e["summary"] for e in timeline.json()["items"])


def test_checklist_due_times_auto_ticks_and_compliance(
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    admin_headers: dict[str, str],
    make_user,
) -> None:
    _protocol(client, admin_headers, "SEV1", PROTOCOL)
    ana = make_user(Role.RESPONDER, name="Ana")
    start = clock.now()
    incident = declare(client, admin_headers)
    url = f"/api/v1/incidents/{incident['id']}"
    items = client.get(f"{url}/checklist", headers=admin_headers).json()["items"]
    assert [i["title"] for i in items] == [p["title"] for p in PROTOCOL]
    assert [i["due_at"] for i in items] == [
        (start + timedelta(minutes=m)).isoformat().replace("+00:00", "Z") for m in (5, 15, 30)
    ]

    clock.advance(timedelta(minutes=3))
    client.put(f"{url}/roles/commander", json={"user": ana.email}, headers=admin_headers)
    # What the comms engineer's status updates call.
    clock.advance(timedelta(minutes=42))
    with transaction(container.session_factory, clock=clock) as session:
        ticked = checklists.record(
            session, clock, incident["id"], "customers_acknowledged", clock.now(), ana.id
        )
    assert ticked == 1

    hand = client.post(f"{url}/checklist/{items[2]['id']}/done", headers=admin_headers)
    assert hand.status_code == 200 and hand.json()["done_at"] is not None
    undone = client.post(f"{url}/checklist/{items[2]['id']}/undone", headers=admin_headers)
    assert undone.json()["done_at"] is None
    missing = client.post(f"{url}/checklist/999999/done", headers=admin_headers)
    assert missing.status_code == 404
    # What Escalate recorded as it happened is not unticked by hand.
    kept = client.post(f"{url}/checklist/{items[0]['id']}/undone", headers=admin_headers)
    assert kept.status_code == 409 and "cannot be unticked" in kept.json()["detail"]

    pending = client.get(f"{url}/checklist/compliance", headers=admin_headers).json()["items"]
    assert [c["outcome"] for c in pending] == ["on_time", "late", "pending"]
    assert pending[1]["late_minutes"] == 30
    client.post(f"{url}/resolve", headers=admin_headers)
    after = client.get(f"{url}/checklist/compliance", headers=admin_headers).json()["items"]
    assert [c["outcome"] for c in after] == ["on_time", "late", "missed"]


def test_a_severity_change_replans_open_items(
    client: TestClient, clock: FrozenClock, admin_headers: dict[str, str], make_user
) -> None:
    _protocol(client, admin_headers, "SEV1", PROTOCOL)
    _protocol(
        client,
        admin_headers,
        "SEV3",
        [
            {"title": "Commander assigned", "due_minutes": 60, "check": "commander_assigned"},
            {"title": "Ticket filed", "due_minutes": 240},
        ],
    )
    ana = make_user(Role.RESPONDER, name="Ana")
    incident = declare(client, admin_headers, severity="SEV3")
    url = f"/api/v1/incidents/{incident['id']}"
    client.put(f"{url}/roles/commander", json={"user": ana.email}, headers=admin_headers)
    changed = client.patch(url, json={"severity": "SEV1"}, headers=admin_headers)
    assert changed.status_code == 200, changed.text
    items = client.get(f"{url}/checklist", headers=admin_headers).json()["items"]
    # The done commander item stays; the open SEV3 item gives way to SEV1's protocol, and
    # the done one is judged by SEV1's due time (5 minutes, not SEV3's 60), in its order.
    assert [(i["title"], i["done_at"] is not None) for i in items] == [
        ("Commander assigned", True),
        ("Customers acknowledged", False),
        ("Executive sponsor informed", False),
    ]
    start = datetime.fromisoformat(incident["started_at"])
    assert datetime.fromisoformat(items[0]["due_at"]) == start + timedelta(minutes=5)


def test_the_protocol_is_read_by_all_and_edited_by_admins(
    client: TestClient, admin_headers: dict[str, str], make_token
) -> None:
    responder = make_token(Role.RESPONDER)
    seeded = client.get("/api/v1/response-protocol/SEV1", headers=responder)
    assert seeded.status_code == 200 and seeded.json()["items"]
    refused = client.put(
        "/api/v1/response-protocol/SEV1", json={"items": PROTOCOL}, headers=responder
    )
    assert refused.status_code == 403
    unknown = client.get("/api/v1/response-protocol/SEV9", headers=admin_headers)
    assert unknown.status_code == 422
    bad_check = client.put(
        "/api/v1/response-protocol/SEV2",
        json={"items": [{"title": "x", "check": "magic"}]},
        headers=admin_headers,
    )
    assert bad_check.status_code == 422
