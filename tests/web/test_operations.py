"""Health, readiness, metrics and the job queue API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from escalate import bootstrap
from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.errors import ValidationFailed
from escalate.jobs import service as job_service
from escalate.settings import Settings
from escalate.web.app import create_app


def test_healthz_needs_no_database_but_readyz_does() -> None:
    nowhere = Settings(
        database_url="postgresql+psycopg://postgres@127.0.0.1:9/nowhere", secret_key="x"
    )
    container = bootstrap.build(nowhere)
    try:
        with TestClient(create_app(container)) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["detail"].startswith("database unreachable")
    finally:
        container.dispose()


def test_readyz_reports_the_schema(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_readyz_fails_on_an_unknown_revision(client: TestClient, container: Container) -> None:
    with container.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff_from_the_future'"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "newer than this code" in response.json()["detail"]


def test_metrics_count_requests_by_route_and_show_the_queue(
    client: TestClient, container: Container, admin_headers, clock
) -> None:
    for _ in range(3):
        client.get("/api/v1/accounts/42", headers=admin_headers)
    with transaction(container.session_factory, clock=clock) as session:
        job_service.enqueue(session, clock, kind="test.noop")
    clock.advance(seconds=90)
    body = client.get("/metrics", headers=admin_headers).text
    assert (
        'escalate_http_requests_total{method="GET",route="/api/v1/accounts/{account_id}",'
        'status="404"} 3.0'
    ) in body
    assert "escalate_http_request_duration_seconds_bucket" in body
    assert 'escalate_jobs{state="queued_due"} 1.0' in body
    assert "escalate_jobs_oldest_due_age_seconds 90.0" in body


def test_jobs_api_is_for_admins(
    client: TestClient, container: Container, make_token, clock
) -> None:
    with transaction(container.session_factory, clock=clock) as session:
        job_service.enqueue(session, clock, kind="test.noop", payload={"n": 1})
    manager = make_token(Role.MANAGER)
    assert client.get("/api/v1/jobs", headers=manager).status_code == 403
    admin = make_token(Role.ADMIN)
    listed = client.get("/api/v1/jobs", headers=admin, params={"status": "queued"}).json()
    assert listed["total"] >= 1
    assert any(j["kind"] == "test.noop" and j["payload"] == {"n": 1} for j in listed["items"])
    job_id = next(j["id"] for j in listed["items"] if j["kind"] == "test.noop")
    retry = client.post(f"/api/v1/jobs/{job_id}/retry", headers=admin)
    assert retry.status_code == 409  # only failed jobs can be retried


def test_serving_from_postgresql_needs_a_secret_key() -> None:
    settings = Settings(database_url="postgresql+psycopg://postgres@127.0.0.1:9/nowhere")
    assert "ESCALATE_SECRET_KEY" in (settings.serving_problem() or "")
    assert "nowhere" not in repr(settings)
    container = bootstrap.build(settings)
    try:
        with pytest.raises(ValidationFailed, match="ESCALATE_SECRET_KEY"):
            create_app(container)
    finally:
        container.dispose()
    assert Settings(database_url="sqlite:///x.db").serving_problem() is None


def test_metrics_show_the_notification_outbox(
    client: TestClient, container: Container, admin_headers, clock, make_user
) -> None:
    from escalate.notify import outbox
    from escalate.notify.models import Channel

    user = make_user()
    with transaction(container.session_factory, clock=clock) as session:
        for n, delay in enumerate((timedelta(0), timedelta(0), timedelta(minutes=5))):
            outbox.add(
                session,
                clock,
                dedup_key=f"metrics-{n}",
                user_id=user.id,
                reach=outbox.Reach(Channel.EMAIL, "a@example.com", None, delay),
                message=outbox.Message(kind="test", subject="s", body="b"),
            )
    body = client.get("/metrics", headers=admin_headers).text
    assert 'escalate_notifications{state="due"} 2.0' in body
    assert 'escalate_notifications{state="waiting"} 1.0' in body
