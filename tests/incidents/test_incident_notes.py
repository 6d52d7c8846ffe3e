"""Internal notes on an incident's timeline: responders write them, customers never see
them (the timeline's customer view leaves them out)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from incidents_support import declare, row_counts

from escalate.auth.models import Role
from escalate.bootstrap import Container


def test_a_responder_adds_an_internal_note_to_the_timeline(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    incident = declare(client, admin_headers, title="Checkout slow", severity="SEV3")
    answer = client.post(
        f"/api/v1/incidents/{incident['id']}/notes",
        headers=admin_headers,
        json={"text": "  Suspect the new cache TTL; rolling back on one node first.  "},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["kind"] == "note"
    assert answer.json()["summary"] == "Suspect the new cache TTL; rolling back on one node first."
    everything = client.get(
        f"/api/v1/incidents/{incident['id']}/timeline", headers=admin_headers
    ).json()["items"]
    assert any(e["kind"] == "note" for e in everything)
    for_customers = client.get(
        f"/api/v1/incidents/{incident['id']}/timeline",
        headers=admin_headers,
        params={"internal": "false"},
    ).json()["items"]
    assert not any(e["kind"] == "note" for e in for_customers)


def test_an_empty_note_or_a_viewers_note_writes_nothing(
    client: TestClient,
    container: Container,
    admin_headers: dict[str, str],
    make_token: Callable[..., dict[str, str]],
) -> None:
    incident = declare(client, admin_headers, title="Checkout slow", severity="SEV3")
    before = row_counts(container)
    url = f"/api/v1/incidents/{incident['id']}/notes"
    empty = client.post(url, headers=admin_headers, json={"text": "   "})
    assert empty.status_code == 422 and empty.json()["field"].endswith("text")
    huge = client.post(url, headers=admin_headers, json={"text": "x" * 10_001})
    assert huge.status_code == 422
    viewer = client.post(url, headers=make_token(Role.VIEWER), json={"text": "hello"})
    assert viewer.status_code == 403
    assert row_counts(container) == before
