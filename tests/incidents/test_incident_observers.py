"""The SLA clocks hear of every change that matters to them: status changes, affected
accounts added or excluded, impact edits, resolution and a moved start."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from incidents_support import declare, make_service, use_service
from sqlalchemy.orm import Session

from escalate.bootstrap import Container
from escalate.clock import Clock
from escalate.incidents import observers


@pytest.fixture
def heard() -> Iterator[list[int]]:
    calls: list[int] = []

    def listen(session: Session, clock: Clock, incident_id: int) -> None:
        calls.append(incident_id)

    observers.register(listen)
    try:
        yield calls
    finally:
        observers._observers.remove(listen)


def test_every_change_that_matters_is_heard(
    client: TestClient,
    container: Container,
    admin_headers: dict[str, str],
    make_account,
    heard: list[int],
) -> None:
    api = make_service(container, "API")
    techcorp = make_account("TechCorp")
    use_service(container, techcorp, api)
    incident = declare(client, admin_headers, service="API")
    url = f"/api/v1/incidents/{incident['id']}"
    assert heard == [incident["id"]]  # opened: accounts derived

    steps = [
        ("post", f"{url}/status", {"status": "investigating"}),
        ("patch", f"{url}/accounts/{techcorp}", {"affected_users": 5}),
        ("post", f"{url}/accounts/{techcorp}/exclude", None),
        ("post", f"{url}/accounts", {"account": "TechCorp"}),
        ("patch", url, {"started_at": "2025-10-22T11:00:00Z"}),
        ("post", f"{url}/resolve", None),
    ]
    for n, (method, path, body) in enumerate(steps, start=2):
        response = client.request(method, path, json=body, headers=admin_headers)
        assert response.status_code == 200, (path, response.text)
        assert len(heard) == n, path
    # A refused change is not heard.
    client.post(f"{url}/status", json={"status": "monitoring"}, headers=admin_headers)
    assert len(heard) == len(steps) + 1
