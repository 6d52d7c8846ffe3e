"""Syncing an incident's clocks into the database, and their reminder and breach jobs, on
both engines."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sla_support import (
    add_account_without_contract,
    affect,
    assign_role,
    at,
    changed,
    declare,
    events,
    post_update,
    seed_techcorp,
)
from sqlalchemy import func, select

from escalate.auth.models import AuditEntry, Role, User
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container, build, build_worker
from escalate.clock import FrozenClock
from escalate.db import transaction
from escalate.incidents.checklists import items as checklist_items
from escalate.incidents.models import AffectedAccount, Incident, IncidentSeverity, UpdateKind
from escalate.jobs.models import Job
from escalate.notify.models import Notification
from escalate.settings import Settings
from escalate.sla import clocks, reminders
from escalate.sla.models import SlaClock


def _rows(container: Container, incident_id: int) -> list[tuple[object, ...]]:
    with container.session_factory() as s:
        return [
            (r.account_id, r.kind, r.sequence, r.due_at, r.met_at, r.breached, r.late_minutes)
            for r in s.scalars(
                select(SlaClock)
                .where(SlaClock.incident_id == incident_id)
                .order_by(SlaClock.account_id, SlaClock.kind, SlaClock.sequence)
            )
        ]


def _count(container: Container, model: type) -> int:
    with container.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _reminders(container: Container) -> list[Notification]:
    with container.session_factory() as s:
        return list(
            s.scalars(
                select(Notification)
                .where(Notification.kind == "sla_reminder")
                .order_by(Notification.id)
            )
        )


@pytest.fixture
def outage(container: Container, clock: FrozenClock) -> tuple[int, int]:
    """A SEV1 incident started at 13:00 affecting TechCorp; (incident id, account id)."""
    clock.set(at(13))
    seeded = seed_techcorp(container)
    incident_id = declare(container)
    affect(container, incident_id, seeded.account_id)
    return incident_id, seeded.account_id


def test_sync_twice_changes_nothing(container: Container, outage: tuple[int, int]) -> None:
    incident_id, _ = outage
    before = (
        _rows(container, incident_id),
        _count(container, AuditEntry),
        _count(container, Job),
        _count(container, Notification),
        len(events(container, incident_id, "sla_breach")),
    )
    changed(container, incident_id)
    changed(container, incident_id)
    after = (
        _rows(container, incident_id),
        _count(container, AuditEntry),
        _count(container, Job),
        _count(container, Notification),
        len(events(container, incident_id, "sla_breach")),
    )
    assert after == before
    assert len(before[0]) == 3
    # A reminder and a breach check per open clock.
    with container.session_factory() as s:
        kinds = sorted(s.scalars(select(Job.kind).where(Job.kind.like("sla.%"))))
    assert kinds == [clocks.CHECK_BREACH] * 3 + [clocks.REMIND] * 3


def test_an_account_without_a_contract_gets_no_clocks_and_one_note(
    container: Container, outage: tuple[int, int]
) -> None:
    incident_id, techcorp = outage
    other = add_account_without_contract(container, "Contractless Inc")
    affect(container, incident_id, other)
    changed(container, incident_id)
    assert {row[0] for row in _rows(container, incident_id)} == {techcorp}
    notes = events(container, incident_id, clocks.NO_CONTRACT_EVENT)
    assert len(notes) == 1
    assert notes[0].summary.startswith("No SLA clocks for Contractless Inc: no contract")


def test_excluding_an_account_removes_its_clocks(
    container: Container, outage: tuple[int, int]
) -> None:
    incident_id, techcorp = outage
    affect(container, incident_id, techcorp, excluded=True)
    assert _rows(container, incident_id) == []


def test_a_clock_met_before_its_reminder_reminds_nobody(
    container: Container,
    clock: FrozenClock,
    outage: tuple[int, int],
    make_user: Callable[..., User],
) -> None:
    incident_id, _ = outage
    lead = make_user(Role.RESPONDER)
    assign_role(container, incident_id, lead.id, "communications_lead")
    worker = build_worker(container, worker_id="sla-met")
    clock.set(at(13, 5))
    post_update(container, incident_id, UpdateKind.ACKNOWLEDGEMENT)
    clock.set(at(13, 10))
    worker.drain()
    assert _reminders(container) == []
    clock.set(at(13, 25))
    worker.drain()
    assert [n.subject for n in _reminders(container)] == [
        "[Escalate] TechCorp Solutions: first customer update due at 13:30 UTC (in 5 min) "
        "for incident #1"
    ]
    clock.set(at(13, 40))
    worker.drain()
    assert [e.data["kind"] for e in events(container, incident_id, "sla_breach")] == ["update"]


def test_a_moved_due_time_gets_a_reminder_of_its_own(
    container: Container,
    clock: FrozenClock,
    outage: tuple[int, int],
    make_user: Callable[..., User],
) -> None:
    incident_id, _ = outage
    commander = make_user(Role.RESPONDER, name="Cora Commander")
    assign_role(container, incident_id, commander.id, "commander")
    worker = build_worker(container, worker_id="sla-moved")
    with transaction(container.session_factory, clock=clock) as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None
        incident.severity = IncidentSeverity.SEV2  # acknowledgement due 13:30, not 13:15
    changed(container, incident_id)
    clock.set(at(13, 10))
    worker.drain()
    assert _reminders(container) == []  # the 13:15 reminder is stale
    clock.set(at(13, 16))
    worker.drain()
    assert events(container, incident_id, "sla_breach") == []
    clock.set(at(13, 25))
    worker.drain()
    sent = _reminders(container)
    assert [(n.user_id, n.subject) for n in sent] == [
        (
            commander.id,
            "[Escalate] TechCorp Solutions: customer acknowledgement due at 13:30 UTC "
            "(in 5 min) for incident #1",
        )
    ]
    assert "Cora Commander (commander)" in events(container, incident_id, "sla_reminder")[0].summary


def test_with_nobody_to_remind_the_timeline_says_so(
    container: Container, clock: FrozenClock, outage: tuple[int, int]
) -> None:
    incident_id, _ = outage
    clock.set(at(13, 10))
    build_worker(container, worker_id="sla-nobody").drain()
    assert _reminders(container) == []
    notes = events(container, incident_id, "sla_reminder")
    assert len(notes) == 1
    assert "nobody reminded" in notes[0].summary


def test_the_reminder_lead_is_a_setting(
    settings: Settings, clock: FrozenClock, make_user: Callable[..., User]
) -> None:
    own = build(settings.model_copy(update={"sla_reminder_lead_minutes": 12}), clock=clock)
    try:
        clock.set(at(13))
        seeded = seed_techcorp(own)
        incident_id = declare(own)
        affect(own, incident_id, seeded.account_id)
        with own.session_factory() as s:
            run_at = s.scalar(select(func.min(Job.run_at)).where(Job.kind == clocks.REMIND))
        assert run_at == at(13, 3)  # the acknowledgement, due 13:15
    finally:
        own.dispose()


def test_a_late_sync_breaches_an_open_clock_with_growing_lateness(
    container: Container,
    clock: FrozenClock,
    outage: tuple[int, int],
    client: TestClient,
    admin_headers: dict[str, str],
) -> None:
    incident_id, _ = outage
    clock.set(at(13, 20))
    changed(container, incident_id)
    clock.advance(timedelta(minutes=10))
    body = client.get(f"/api/v1/incidents/{incident_id}/sla", headers=admin_headers).json()
    ack = next(c for c in body["items"] if c["kind"] == "acknowledgement")
    assert ack["status"] == "breached" and ack["late_minutes"] == 15 and ack["met_at"] is None
    assert ack["minutes_left"] is None
    resolution = next(c for c in body["items"] if c["kind"] == "resolution")
    assert resolution["status"] == "open" and resolution["minutes_left"] == 210
    stored = next(r for r in _rows(container, incident_id) if r[1] == "acknowledgement")
    assert stored[5:] == (True, 5)  # breached when found at 13:20, 5 minutes late
    assert len(events(container, incident_id, "sla_breach")) == 1


def test_two_syncs_racing_write_one_set_of_clocks(
    container: Container, clock: FrozenClock, outage: tuple[int, int]
) -> None:
    incident_id, techcorp = outage
    other = seed_techcorp(container, name="Racing Corp")
    with transaction(container.session_factory, clock=clock) as s:
        s.add(
            AffectedAccount(
                incident_id=incident_id, account_id=other.account_id, created_at=clock.now()
            )
        )  # not yet synced: both racers will want to insert its clocks
    start = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def race() -> None:
        try:
            start.wait()
            changed(container, incident_id)
        except BaseException as exc:  # reported below, with the engine's words
            errors.append(exc)

    threads = [threading.Thread(target=race) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sorted({row[0] for row in _rows(container, incident_id)}) == sorted(
        {techcorp, other.account_id}
    )
    assert len(_rows(container, incident_id)) == 6
    with container.session_factory() as s:
        assert s.scalar(select(func.count()).where(Job.kind.like("sla.%"))) == 12


def test_an_accounts_clocks_run_from_its_own_impact_start(
    container: Container, clock: FrozenClock, outage: tuple[int, int]
) -> None:
    incident_id, techcorp = outage
    later = seed_techcorp(container, name="Later Corp")
    clock.set(at(13, 20))
    with transaction(container.session_factory, clock=clock) as s:
        s.add(
            AffectedAccount(
                incident_id=incident_id,
                account_id=later.account_id,
                created_at=clock.now(),
                impact_start=at(13, 20),
            )
        )
    changed(container, incident_id)
    acknowledgement = {
        account_id: due
        for account_id, kind, _, due, *_ in _rows(container, incident_id)
        if kind == "acknowledgement"
    }
    # 15 minutes (Enterprise SEV1) from each account's own start.
    assert acknowledgement == {techcorp: at(13, 15), later.account_id: at(13, 35)}


def test_a_clock_removed_and_added_again_is_reminded_once(
    container: Container,
    clock: FrozenClock,
    outage: tuple[int, int],
    make_user: Callable[..., User],
) -> None:
    incident_id, techcorp = outage
    lead = make_user(Role.RESPONDER)
    assign_role(container, incident_id, lead.id, "communications_lead")
    worker = build_worker(container, worker_id="sla-again")
    clock.set(at(13, 10))
    worker.drain()
    assert len(_reminders(container)) == 1
    affect(container, incident_id, techcorp, excluded=True)
    affect(container, incident_id, techcorp, excluded=False)
    clock.set(at(13, 12))
    worker.drain()
    with transaction(container.session_factory, clock=clock, actor=SYSTEM) as s:
        row = s.scalar(
            select(SlaClock).where(
                SlaClock.incident_id == incident_id, SlaClock.kind == "acknowledgement"
            )
        )
        assert row is not None and row.due_at == at(13, 15)
        # The same promise reminded again (a job queued anew after its old key was purged):
        # the outbox still holds one reminder.
        reminders.remind(
            s,
            clock,
            container.settings,
            incident_id=incident_id,
            account_id=techcorp,
            kind="acknowledgement",
            sequence=0,
            due_at=row.due_at,
        )
    assert len(_reminders(container)) == 1


def test_updates_kept_in_time_tick_the_cadence_item_at_resolution(
    container: Container, clock: FrozenClock, outage: tuple[int, int]
) -> None:
    incident_id, _ = outage
    for minute in (10, 35):
        clock.set(at(13, minute))
        post_update(container, incident_id, UpdateKind.INVESTIGATING)
    clock.set(at(13, 50))
    with transaction(container.session_factory, clock=clock) as s:
        incident = s.get(Incident, incident_id)
        assert incident is not None
        incident.resolved_at = clock.now()
    changed(container, incident_id)
    with container.session_factory() as s:
        cadence = [
            i for i in checklist_items(s, incident_id=incident_id) if i.check == "update_cadence"
        ]
    assert [(i.done_at, i.done_by_user_id) for i in cadence] == [(at(13, 50), None)]


def test_an_update_sent_before_an_account_was_drawn_in_meets_none_of_its_clocks(
    container: Container, clock: FrozenClock, outage: tuple[int, int]
) -> None:
    incident_id, techcorp = outage
    clock.set(at(13, 5))
    post_update(container, incident_id, UpdateKind.ACKNOWLEDGEMENT)
    later = seed_techcorp(container, name="Later Corp")
    clock.set(at(13, 10))
    with transaction(container.session_factory, clock=clock) as s:
        s.add(
            AffectedAccount(
                incident_id=incident_id,
                account_id=later.account_id,
                created_at=clock.now(),  # drawn in now; its impact began with the incident
                impact_start=at(13),
            )
        )
    changed(container, incident_id)

    def acknowledged() -> dict[int, object]:
        return {
            account_id: met
            for account_id, kind, _, _, met, *_ in _rows(container, incident_id)
            if kind == "acknowledgement"
        }

    assert acknowledged() == {techcorp: at(13, 5), later.account_id: None}
    clock.set(at(13, 12))
    post_update(container, incident_id, UpdateKind.ACKNOWLEDGEMENT)
    assert acknowledged() == {techcorp: at(13, 5), later.account_id: at(13, 12)}


def test_one_reminder_names_every_account_owed_the_same_promise(
    container: Container,
    clock: FrozenClock,
    outage: tuple[int, int],
    make_user: Callable[..., User],
) -> None:
    incident_id, _ = outage
    other = seed_techcorp(container, name="Globex")
    affect(container, incident_id, other.account_id)
    lead = make_user(Role.RESPONDER)
    assign_role(container, incident_id, lead.id, "communications_lead")
    clock.set(at(13, 10))
    build_worker(container, worker_id="sla-alike").drain()
    assert [n.subject for n in _reminders(container)] == [
        "[Escalate] 2 accounts (Globex, TechCorp Solutions): customer acknowledgement due at "
        "13:15 UTC (in 5 min) for incident #1"
    ]
    assert len(events(container, incident_id, "sla_reminder")) == 1
