"""Two workers race through the same escalations, on both engines (on PostgreSQL they
claim with SKIP LOCKED and run side by side): every step is paged exactly once, even with
a duplicate timer queued for every step."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

from sqlalchemy import select

from escalate.auth.models import Role
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container, build_worker
from escalate.clock import FrozenClock
from escalate.db import transaction
from escalate.incidents import lifecycle
from escalate.incidents.models import Incident
from escalate.incidents.schemas import IncidentDeclare
from escalate.jobs import service as job_service
from escalate.notify.models import Notification
from escalate.oncall import escalation

INCIDENTS = 20


def _race(container: Container) -> None:
    workers = [build_worker(container, worker_id=f"w{i}") for i in range(2)]
    for worker in workers:
        worker.batch_size = 3  # small batches, so the two interleave
    threads = [threading.Thread(target=worker.drain) for worker in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)


def _duplicate_timers(container: Container, clock: FrozenClock, *, step: int) -> None:
    """A second timer for every incident's pending step, as a retried enqueue would make."""
    with transaction(container.session_factory, clock=clock) as session:
        for incident in session.scalars(select(Incident)):
            job_service.enqueue(
                session,
                clock,
                kind=escalation.PAGE_STEP,
                payload={
                    "incident_id": incident.id,
                    "generation": incident.escalation_generation,
                    "round": 0,
                    "step": step,
                },
                run_at=incident.next_escalation_at,
                idempotency_key=f"dup:{incident.id}:{step}",
            )


def test_two_workers_page_every_step_once(
    container: Container, clock: FrozenClock, make_user, make_policy
) -> None:
    first = make_user(Role.RESPONDER)
    second = make_user(Role.RESPONDER)
    make_policy(
        "Race",
        steps=[
            {"delay_minutes": 5, "users": [first.id]},
            {"delay_minutes": 5, "users": [second.id]},
        ],
    )
    with transaction(container.session_factory, clock=clock) as session:
        for n in range(INCIDENTS):
            lifecycle.declare(
                session,
                clock,
                actor=SYSTEM,
                data=IncidentDeclare(title=f"Race {n}", severity="SEV2", escalation_policy="Race"),
            )
    _race(container)  # triggers, then step 1
    with transaction(container.session_factory, clock=clock) as session:
        pending = {i.escalation_step for i in session.scalars(select(Incident))}
    assert pending == {1}
    _duplicate_timers(container, clock, step=1)
    clock.advance(minutes=5)
    _race(container)  # step 2, each twice over

    with container.session_factory() as session:
        pages = session.execute(select(Notification.incident_id, Notification.user_id)).all()
    per_step = Counter((incident_id, user_id) for incident_id, user_id in pages)
    assert len(per_step) == INCIDENTS * 2
    assert set(per_step.values()) == {1}


def test_a_worker_that_dies_holding_step_two_loses_it_and_step_two_is_paged_once(
    container: Container, clock: FrozenClock, make_user, make_policy
) -> None:
    first = make_user(Role.RESPONDER)
    second = make_user(Role.RESPONDER)
    make_policy(
        "Crash",
        steps=[
            {"delay_minutes": 5, "users": [first.id]},
            {"delay_minutes": 5, "users": [second.id]},
        ],
    )
    with transaction(container.session_factory, clock=clock) as session:
        lifecycle.declare(
            session,
            clock,
            actor=SYSTEM,
            data=IncidentDeclare(title="Crash", severity="SEV1", escalation_policy="Crash"),
        )
    dying = build_worker(container, worker_id="dying")
    dying.lease = timedelta(minutes=1)
    dying.drain()  # trigger and step 1
    clock.advance(minutes=5)
    [held] = dying.claim()  # step 2 claimed... and the worker dies before running it
    assert held.kind == escalation.PAGE_STEP
    clock.advance(minutes=2)  # its lease runs out
    survivor = build_worker(container, worker_id="survivor")
    survivor.drain()
    # The dead worker comes back to life and runs what it held: its claim is gone, its
    # writes roll back.
    assert dying.run_one(held).value == "lease_lost"
    with container.session_factory() as session:
        pages = list(session.scalars(select(Notification.user_id).order_by(Notification.id)))
    assert pages == [first.id, second.id]
