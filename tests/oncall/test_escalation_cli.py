"""`escalate incident ack N` and `escalate incident resolve N` on both engines: by the
incident's number, as the CLI operator or `--as` a person; escalation stops."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner, Result

from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.cli.main import app
from escalate.clock import FrozenClock
from escalate.incidents.models import IncidentEvent
from escalate.jobs.worker import Worker
from escalate.notify.models import Notification


def _run(db_url: str, *args: str) -> Result:
    env = {"ESCALATE_DATABASE_URL": db_url, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def test_ack_and_resolve_by_number(
    db_url: str,
    client: TestClient,
    container: Container,
    clock: FrozenClock,
    worker: Worker,
    make_user,
    make_policy,
    admin_headers,
) -> None:
    first = make_user(Role.RESPONDER, name="First", email="first@example.com")
    second = make_user(Role.RESPONDER, name="Second")
    make_policy(
        "Two steps",
        steps=[
            {"delay_minutes": 5, "users": [first.id]},
            {"delay_minutes": 5, "users": [second.id]},
        ],
    )
    declared = client.post(
        "/api/v1/incidents",
        headers=admin_headers,
        json={"title": "Queue stuck", "severity": "SEV2", "escalation_policy": "Two steps"},
    ).json()
    worker.drain()
    number = str(declared["number"])

    acked = _run(db_url, "incident", "ack", number, "--as", "first@example.com", "--json")
    assert acked.exit_code == 0, acked.output
    assert json.loads(acked.stdout)["acknowledged_by_user_id"] == first.id
    assert _run(db_url, "incident", "ack", number).exit_code == 0  # already: no change

    clock.advance(minutes=10)
    worker.drain()
    with container.session_factory() as session:
        assert list(session.scalars(select(Notification.user_id))) == [first.id]

    resolved = _run(db_url, "incident", "resolve", number)
    assert resolved.exit_code == 0, resolved.output
    again = _run(db_url, "incident", "resolve", number)
    assert again.exit_code == 1 and "resolved already" in again.stderr
    assert _run(db_url, "incident", "ack", "9999").exit_code == 3
    with container.session_factory() as session:
        summaries = list(
            session.scalars(
                select(IncidentEvent.summary).where(
                    IncidentEvent.kind.in_(["acknowledged", "resolved"])
                )
            )
        )
    assert summaries == ["Acknowledged by First via the CLI", "Resolved by cli"]
