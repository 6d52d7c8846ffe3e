"""The escalation engine end to end on both engines: an alert through the real Events v2
door, routed to a policy, paged by the worker step by step on the test clock; acknowledge
stops it, stale timers do nothing, re-opening starts a new generation. Delivery is another
part's: these tests read the outbox rows and the timeline."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from escalate.alerts.models import Alert
from escalate.auth.models import Role, User
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.db import transaction
from escalate.incidents.models import Incident, IncidentEvent
from escalate.jobs import service as job_service
from escalate.jobs.models import Job, JobStatus
from escalate.jobs.worker import Worker
from escalate.notify.models import Notification
from escalate.oncall import escalation
from escalate.oncall.models import Schedule


def _trigger(client: TestClient, key: str, *, source: str = "db-1", dedup: str = "db/down") -> None:
    body: dict[str, Any] = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup,
        "payload": {"summary": "Primary database down", "source": source, "severity": "critical"},
    }
    response = client.post("/v2/enqueue", json=body)
    assert response.status_code == 202, response.text


def _resolve_alert(client: TestClient, key: str, *, dedup: str = "db/down") -> None:
    body = {"routing_key": key, "event_action": "resolve", "dedup_key": dedup}
    assert client.post("/v2/enqueue", json=body).status_code == 202


def _pages(container: Container) -> list[tuple[int | None, str]]:
    with container.session_factory() as session:
        rows = session.execute(
            select(Notification.user_id, Notification.dedup_key).order_by(Notification.id)
        ).all()
        return [(user_id, key) for user_id, key in rows]


def _paged_users(container: Container) -> list[int | None]:
    return [user_id for user_id, _ in _pages(container)]


def _incident(container: Container) -> Incident:
    with container.session_factory() as session:
        incident = session.scalars(select(Incident).order_by(Incident.id.desc())).first()
        assert incident is not None
        return incident


def _timeline(container: Container, incident_id: int) -> list[tuple[str, str]]:
    with container.session_factory() as session:
        return [
            (e.kind, e.summary)
            for e in session.scalars(
                select(IncidentEvent)
                .where(IncidentEvent.incident_id == incident_id)
                .order_by(IncidentEvent.at, IncidentEvent.id)
            )
        ]


def _setup(
    make_user: Callable[..., User],
    add_schedule: Callable[..., int],
    make_policy: Callable[..., int],
    make_events_integration: Callable[..., tuple[int, str]],
    make_route: Callable[..., int],
    *,
    repeat_count: int = 0,
) -> tuple[User, User, str]:
    primary = make_user(Role.RESPONDER, name="Ana Primary")
    james = make_user(Role.RESPONDER, name="James Wilson")
    schedule = add_schedule([primary.id], name="Support 24/7")
    make_policy(
        "Support",
        repeat_count=repeat_count,
        steps=[
            {"delay_minutes": 5, "schedules": [schedule]},
            {"delay_minutes": 10, "users": [james.email]},
        ],
    )
    integration_id, key = make_events_integration()
    make_route(integration_id, "support")  # names are case-insensitive
    return primary, james, key


def test_alert_pages_step_one_then_step_two_and_ack_stops_it(
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    worker: Worker,
    make_user,
    add_schedule,
    make_policy,
    make_events_integration,
    make_route,
    admin_headers,
) -> None:
    primary, james, key = _setup(
        make_user, add_schedule, make_policy, make_events_integration, make_route
    )
    _trigger(client, key)
    worker.drain()
    assert _paged_users(container) == [primary.id]
    incident = _incident(container)
    assert incident.escalation_plan is not None
    assert incident.escalation_plan["name"] == "Support"
    assert (incident.escalation_round, incident.escalation_step) == (0, 1)
    assert incident.next_escalation_at == clock.now() + timedelta(minutes=5)
    with container.session_factory() as session:
        page = session.scalars(select(Notification)).one()
        assert page.subject == f"[Escalate] #{incident.number} SEV1 Primary database down"
        links = page.data["links"]
        assert links["acknowledge"].startswith("http://testserver/actions/")
        assert links["incident"] == f"http://testserver/incidents/{incident.id}"
        assert links["acknowledge"] in page.body

    # Not yet due: nothing more.
    clock.advance(minutes=4)
    worker.drain()
    assert _paged_users(container) == [primary.id]
    clock.advance(minutes=1)
    worker.drain()
    assert _paged_users(container) == [primary.id, james.id]
    summaries = [s for kind, s in _timeline(container, incident.id) if kind == "paged"]
    assert summaries == [
        "Paged step 1 of policy Support: Ana Primary (on call in schedule Support 24/7)",
        "Paged step 2 of policy Support: James Wilson (named in the policy)",
    ]
    assert _incident(container).next_escalation_at is None  # no more steps, no repeat

    response = client.post(f"/api/v1/incidents/{incident.id}/acknowledge", headers=admin_headers)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "acknowledged"


def test_acknowledge_before_step_two_stops_the_escalation(
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    worker: Worker,
    make_user,
    add_schedule,
    make_policy,
    make_events_integration,
    make_route,
    make_token,
) -> None:
    primary, _james, key = _setup(
        make_user, add_schedule, make_policy, make_events_integration, make_route
    )
    _trigger(client, key)
    worker.drain()
    incident = _incident(container)
    headers = make_token(Role.RESPONDER)
    acked = client.post(f"/api/v1/incidents/{incident.id}/acknowledge", headers=headers)
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert body["status"] == "acknowledged" and body["next_escalation_at"] is None
    assert body["acknowledged_by_user_id"] is not None
    # Again: a no-op that answers the incident as it is.
    again = client.post(f"/api/v1/incidents/{incident.id}/acknowledge", headers=headers)
    assert again.status_code == 200 and again.json()["acknowledged_at"] == body["acknowledged_at"]

    clock.advance(hours=2)
    worker.drain()
    assert _paged_users(container) == [primary.id]  # no step 2
    with container.session_factory() as session:
        stale = session.scalars(select(Job).where(Job.kind == escalation.PAGE_STEP)).all()
        assert {job.status for job in stale} == {JobStatus.SUCCEEDED}
    timeline = client.get(f"/api/v1/incidents/{incident.id}/timeline", headers=headers).json()
    kinds = [item["kind"] for item in timeline["items"]]
    # The alert that opened it comes first; then what Escalate did.
    assert kinds == ["alert", "escalation_started", "paged", "acknowledged"]

    resolved = client.post(f"/api/v1/incidents/{incident.id}/resolve", headers=headers)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    twice = client.post(f"/api/v1/incidents/{incident.id}/resolve", headers=headers)
    assert twice.status_code == 409
    late_ack = client.post(f"/api/v1/incidents/{incident.id}/acknowledge", headers=headers)
    assert late_ack.status_code == 409


def test_a_duplicate_or_stale_timer_pages_nobody(
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    worker: Worker,
    make_user,
    add_schedule,
    make_policy,
    make_events_integration,
    make_route,
) -> None:
    primary, _james, key = _setup(
        make_user, add_schedule, make_policy, make_events_integration, make_route
    )
    _trigger(client, key)
    worker.drain()
    incident = _incident(container)
    generation = incident.escalation_generation
    # The step-1 timer again, under a new key (as a second worker racing it would), and a
    # timer of an older generation: both find the incident elsewhere and do nothing.
    with transaction(container.session_factory, clock=clock) as session:
        for gen, step in ((generation, 0), (generation - 1, 1)):
            job_service.enqueue(
                session,
                clock,
                kind=escalation.PAGE_STEP,
                payload={"incident_id": incident.id, "generation": gen, "round": 0, "step": step},
                idempotency_key=f"dup:{gen}:{step}",
            )
    worker.drain()
    assert _paged_users(container) == [primary.id]
    # Running the real step-2 handler twice in one go pages once.
    clock.advance(minutes=5)
    with transaction(container.session_factory, clock=clock) as session:
        first = escalation.page_step(
            session,
            clock,
            container.settings,
            incident_id=incident.id,
            generation=generation,
            round_=0,
            step=1,
        )
        second = escalation.page_step(
            session,
            clock,
            container.settings,
            incident_id=incident.id,
            generation=generation,
            round_=0,
            step=1,
        )
    assert first and second == []
    worker.drain()
    assert len(_paged_users(container)) == 2


def test_reopened_after_resolve_escalates_again_in_a_new_generation(
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    worker: Worker,
    make_user,
    add_schedule,
    make_policy,
    make_events_integration,
    make_route,
    admin_headers,
) -> None:
    primary, _james, key = _setup(
        make_user, add_schedule, make_policy, make_events_integration, make_route
    )
    _trigger(client, key)
    worker.drain()
    first = _incident(container)
    _resolve_alert(client, key)
    assert _incident(container).status == "resolved"
    clock.advance(minutes=6)  # past step 2's due time, within the flap window
    worker.drain()
    assert _paged_users(container) == [primary.id]  # resolve stopped step 2

    _trigger(client, key)  # the same alert fires again: its incident re-opens
    worker.drain()
    again = _incident(container)
    assert again.id == first.id and again.status == "triggered"
    assert again.escalation_generation > first.escalation_generation
    pages = _pages(container)
    assert [user for user, _ in pages] == [primary.id, primary.id]
    assert pages[0][1] != pages[1][1]  # a new generation's page, not a duplicate
    kinds = [kind for kind, _ in _timeline(container, again.id)]
    assert kinds == [
        "escalation_started",
        "paged",
        "resolved",
        "reopened",
        "escalation_started",
        "paged",
    ]


def test_repeat_runs_the_policy_again(
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    worker: Worker,
    make_user,
    add_schedule,
    make_policy,
    make_events_integration,
    make_route,
) -> None:
    primary, james, key = _setup(
        make_user, add_schedule, make_policy, make_events_integration, make_route, repeat_count=1
    )
    _trigger(client, key)
    for _ in range(6):
        worker.drain()
        clock.advance(minutes=10)
    assert _paged_users(container) == [primary.id, james.id, primary.id, james.id]
    summaries = [s for kind, s in _timeline(container, _incident(container).id) if kind == "paged"]
    assert summaries[2].startswith("Paged step 1 of policy Support, round 2:")


def test_nobody_on_call_in_step_one_flags_the_alert_unrouted(
    client: TestClient,
    container: Container,
    worker: Worker,
    add_schedule,
    make_policy,
    make_events_integration,
    make_route,
) -> None:
    empty = add_schedule([], name="Nights")
    make_policy("Nights", steps=[{"delay_minutes": 5, "schedules": [empty]}])
    integration_id, key = make_events_integration()
    make_route(integration_id, "Nights")
    _trigger(client, key)
    worker.drain()
    assert _pages(container) == []
    incident = _incident(container)
    assert any(
        kind == "not_paged" and "nobody on call in schedule Nights" in summary
        for kind, summary in _timeline(container, incident.id)
    )
    with container.session_factory() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.routed is False
        assert alert.unrouted_reason is not None
        assert alert.unrouted_reason.startswith("policy Nights has nobody on call")
        assert session.scalar(select(Job).where(Job.kind == "alerts.notify_unrouted"))


def test_a_route_to_an_unknown_policy_raises_the_alarm(
    client: TestClient,
    container: Container,
    worker: Worker,
    make_events_integration,
    make_route,
) -> None:
    integration_id, key = make_events_integration()
    make_route(integration_id, "Ghosts")
    _trigger(client, key)
    worker.drain()
    with container.session_factory() as session:
        alert = session.scalars(select(Alert)).one()
        assert alert.routed is False
        assert "policy Ghosts does not exist" in (alert.unrouted_reason or "")
    assert _pages(container) == []


def test_a_csm_step_pages_the_csm_of_every_account_using_the_service(
    client: TestClient,
    container: Container,
    worker: Worker,
    make_user,
    make_policy,
    make_account,
    admin_headers,
) -> None:
    csm = make_user(Role.MANAGER, name="Carla CSM")
    service = client.post("/api/v1/services", headers=admin_headers, json={"name": "Payments"})
    assert service.status_code == 201, service.text
    account_id = make_account()
    patched = client.patch(
        f"/api/v1/accounts/{account_id}", headers=admin_headers, json={"csm_user_id": csm.id}
    )
    assert patched.status_code == 200, patched.text
    used = client.post(
        f"/api/v1/accounts/{account_id}/services",
        headers=admin_headers,
        json={"service_id": service.json()["id"], "environment": "production"},
    )
    assert used.status_code in (200, 201), used.text
    make_policy("Customers", steps=[{"delay_minutes": 5, "notify_account_csm": True}])
    declared = client.post(
        "/api/v1/incidents",
        headers=admin_headers,
        json={
            "title": "Payments are slow",
            "severity": "SEV2",
            "service": "Payments",
            "escalation_policy": "customers",
        },
    )
    assert declared.status_code == 201, declared.text
    assert declared.json()["escalation_policy"] == "Customers"
    unknown = client.post(
        "/api/v1/incidents",
        headers=admin_headers,
        json={"title": "x", "severity": "SEV3", "escalation_policy": "Nope"},
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "escalation_policy"
    worker.drain()
    assert _paged_users(container) == [csm.id]


def test_the_route_tester_names_who_would_be_paged_now(
    client: TestClient,
    make_user,
    add_schedule,
    make_policy,
    make_events_integration,
    make_route,
    admin_headers,
) -> None:
    _primary, _james, _key = _setup(
        make_user, add_schedule, make_policy, make_events_integration, make_route
    )
    integrations = client.get("/api/v1/integrations", headers=admin_headers).json()["items"]
    name = integrations[-1]["name"]
    sample = {"summary": "DB down", "severity": "critical", "source": "db-1"}
    answer = client.post(
        "/api/v1/routing/test", headers=admin_headers, json={"integration": name, "alert": sample}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["people"] == ["Ana Primary (on call in schedule Support 24/7)"]
    assert answer.json()["routed"] is True
    elsewhere = {**sample, "source": "web-1"}
    unrouted = client.post(
        "/api/v1/routing/test",
        headers=admin_headers,
        json={"integration": name, "alert": elsewhere},
    ).json()
    assert unrouted["people"] is None  # the catch-all names no policy


def test_a_broken_schedule_or_a_deactivated_person_does_not_stop_the_others(
    client: TestClient,
    container: Container,
    worker: Worker,
    make_user,
    add_schedule,
    make_policy,
    admin_headers,
) -> None:
    on_call = make_user(Role.RESPONDER, name="Olga")
    gone = make_user(Role.RESPONDER, name="Gone")
    named = make_user(Role.RESPONDER, name="Nina")
    broken = add_schedule([on_call.id], name="Broken")
    with transaction(container.session_factory, clock=container.clock) as session:
        session.execute(
            Schedule.__table__.update()  # type: ignore[attr-defined]
            .where(Schedule.id == broken)
            .values(time_zone="Mars/Olympus_Mons")
        )
        session.execute(User.__table__.update().where(User.id == gone.id).values(is_active=False))  # type: ignore[attr-defined]
    make_policy(
        "Mixed", steps=[{"delay_minutes": 5, "schedules": [broken], "users": [gone.id, named.id]}]
    )
    declared = client.post(
        "/api/v1/incidents",
        headers=admin_headers,
        json={"title": "Mixed bag", "severity": "SEV3", "escalation_policy": "Mixed"},
    ).json()
    worker.drain()
    assert _paged_users(container) == [named.id]
    summaries = dict(_timeline(container, declared["id"]))
    assert summaries["paged"].endswith("Nina (named in the policy)")
    assert summaries["not_paged"].startswith("Not everyone paged at step 1 of policy Mixed:")
    assert "schedule Broken cannot be computed" in summaries["not_paged"]
    assert f"user {gone.id} is deactivated" in summaries["not_paged"]
