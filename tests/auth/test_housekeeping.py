"""Recurring housekeeping jobs: seeded once however many workers start, and self-renewing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from escalate import bootstrap
from escalate.auth import jobs as auth_jobs
from escalate.auth import service as auth_service
from escalate.auth.models import WebSession
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.jobs.models import Job, JobStatus


def test_next_slot_is_the_next_six_hour_boundary() -> None:
    at = datetime(2025, 10, 22, 13, 5, tzinfo=UTC)
    assert auth_jobs.next_slot(at) == datetime(2025, 10, 22, 18, tzinfo=UTC)
    assert auth_jobs.next_slot(datetime(2025, 10, 22, 18, tzinfo=UTC)) == datetime(
        2025, 10, 23, 0, tzinfo=UTC
    )
    assert auth_jobs.next_slot(datetime(2025, 10, 22, 23, 59, tzinfo=UTC)) == datetime(
        2025, 10, 23, 0, tzinfo=UTC
    )


def test_seeding_twice_queues_each_recurring_job_once(container: Container) -> None:
    bootstrap.seed_recurring_jobs(container)
    bootstrap.seed_recurring_jobs(container)
    with container.session_factory() as session:
        kinds = sorted(session.scalars(select(Job.kind)))
    assert kinds == ["auth.purge_expired_sessions", "jobs.purge_succeeded"]


def test_session_purge_deletes_expired_logins_and_renews_itself(
    container: Container, make_user, clock
) -> None:
    user = make_user()
    with transaction(container.session_factory, clock=clock) as session:
        auth_service.start_web_session(session, clock, user=user, lifetime=timedelta(hours=1))
        auth_service.start_web_session(session, clock, user=user, lifetime=timedelta(days=2))
    bootstrap.seed_recurring_jobs(container)
    clock.advance(hours=7)  # 12:00 -> 19:00: the 18:00 purge is due, one login expired
    worker = bootstrap.build_worker(container, worker_id="test")
    assert worker.drain() == 1
    with container.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(WebSession)) == 1
        queued = session.scalars(
            select(Job).where(Job.kind == auth_jobs.PURGE_SESSIONS, Job.status == JobStatus.QUEUED)
        ).all()
    assert [j.run_at for j in queued] == [datetime(2025, 10, 23, 0, tzinfo=UTC)]
