"""One-click links from a real page notification, on both engines: GET only shows a button,
POST acknowledges once as the person paged; a second use, an expired link and a forged one
are refused with a clear page and change nothing."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select

from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.db import transaction
from escalate.incidents.models import Incident, IncidentEvent
from escalate.jobs.worker import Worker
from escalate.notify import links
from escalate.notify.models import ActionLink, Notification


def _paged_incident(
    client: TestClient, worker: Worker, make_user, make_policy, admin_headers
) -> tuple[int, dict[str, str], int]:
    """An incident declared by hand and paged to one person: (incident id, links, user id)."""
    james = make_user(Role.RESPONDER, name="James Wilson")
    make_policy("Direct", steps=[{"delay_minutes": 5, "users": [james.id]}])
    declared = client.post(
        "/api/v1/incidents",
        headers=admin_headers,
        json={"title": "Checkout fails", "severity": "SEV1", "escalation_policy": "Direct"},
    )
    assert declared.status_code == 201, declared.text
    worker.drain()
    with worker.session_factory() as session:
        page = session.scalars(select(Notification)).one()
        return declared.json()["id"], page.data["links"], james.id


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


def test_the_link_acknowledges_once_as_the_person_paged(
    client: TestClient, container: Container, worker: Worker, make_user, make_policy, admin_headers
) -> None:
    incident_id, urls, james_id = _paged_incident(
        client, worker, make_user, make_policy, admin_headers
    )
    path = _path(urls["acknowledge"])
    shown = client.get(path)
    assert shown.status_code == 200
    assert "Acknowledge as James Wilson" in shown.text
    with container.session_factory() as session:
        assert session.get(Incident, incident_id).status == "triggered"  # GET never acts

    done = client.post(path)
    assert done.status_code == 200, done.text
    assert "is acknowledged" in done.text
    with container.session_factory() as session:
        incident = session.get(Incident, incident_id)
        assert incident.status == "acknowledged"
        assert incident.acknowledged_by_user_id == james_id
        summaries = list(
            session.scalars(
                select(IncidentEvent.summary).where(IncidentEvent.kind == "acknowledged")
            )
        )
        assert summaries == ["Acknowledged by James Wilson via one-click link"]
        # Only the token's hash is kept.
        token = path.rsplit("/", 1)[1]
        assert all(token not in link.token_hash for link in session.scalars(select(ActionLink)))

    again = client.post(path)
    assert again.status_code == 410
    assert "used already" in again.text
    assert client.get(path).status_code == 410


def test_an_expired_link_is_refused_and_changes_nothing(
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    worker: Worker,
    make_user,
    make_policy,
    admin_headers,
) -> None:
    incident_id, urls, _ = _paged_incident(client, worker, make_user, make_policy, admin_headers)
    clock.advance(links.DEFAULT_TTL + timedelta(seconds=1))
    refused = client.post(_path(urls["resolve"]))
    assert refused.status_code == 410 and "expired" in refused.text
    with container.session_factory() as session:
        assert session.get(Incident, incident_id).status == "triggered"


def test_a_forged_or_altered_link_is_refused(
    client: TestClient, container: Container, worker: Worker, make_user, make_policy, admin_headers
) -> None:
    _incident_id, urls, _ = _paged_incident(client, worker, make_user, make_policy, admin_headers)
    path = _path(urls["resolve"])
    assert client.post(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 404
    assert client.get("/actions/not-a-token").status_code == 404
    # Signed with another key: refused too.
    other = container.settings.model_copy(update={"secret_key": "another-key"})
    with transaction(container.session_factory, clock=container.clock) as session:
        url = links.create(
            session,
            container.clock,
            other,
            incident_id=_incident_id,
            user_id=1,
            action=links.LinkAction.RESOLVE,
        )
    assert client.post(_path(url)).status_code == 404


def test_the_resolve_link_resolves(
    client: TestClient, container: Container, worker: Worker, make_user, make_policy, admin_headers
) -> None:
    incident_id, urls, james_id = _paged_incident(
        client, worker, make_user, make_policy, admin_headers
    )
    assert client.post(_path(urls["resolve"])).status_code == 200
    with container.session_factory() as session:
        incident = session.get(Incident, incident_id)
        assert (incident.status, incident.resolved_by_user_id) == ("resolved", james_id)
        assert incident.next_escalation_at is None


def test_a_link_to_an_incident_resolved_since_refuses_and_stays_unused(
    client: TestClient, container: Container, worker: Worker, make_user, make_policy, admin_headers
) -> None:
    incident_id, urls, _ = _paged_incident(client, worker, make_user, make_policy, admin_headers)
    assert client.post(f"/api/v1/incidents/{incident_id}/resolve", headers=admin_headers).is_success
    refused = client.post(_path(urls["acknowledge"]))
    assert refused.status_code == 409 and "is resolved" in refused.text
    with container.session_factory() as session:
        assert all(link.used_at is None for link in session.scalars(select(ActionLink)))
