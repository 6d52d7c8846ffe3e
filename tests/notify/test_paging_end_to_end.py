"""Issue 4's end-to-end check, on both engines, with real peers on loopback: an alert
through the Events v2 door, routed to a policy, pages the person on call in the policy's
schedule by e-mail (a real SMTP server), Slack and a signed webhook (a real HTTP receiver);
unacknowledged, step 2 is paged when its delay has passed on the clock; the one-click link
in the e-mail acknowledges as that person and no later step is paged."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from datetime import timedelta
from email.message import Message

from fastapi.testclient import TestClient
from notify_support import HttpReceiver, SmtpInbox
from sqlalchemy import func, select

from escalate.accounts import service as account_service
from escalate.accounts.schemas import ServiceCreate
from escalate.alerts import rules as rule_service
from escalate.alerts import service as alert_service
from escalate.alerts.models import IntegrationKind, MatchOp
from escalate.alerts.schemas import IntegrationCreate, MatcherIn, RoutingRuleCreate
from escalate.auth.models import Role, User
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container, build_worker
from escalate.clock import FrozenClock
from escalate.db import transaction
from escalate.incidents.models import Incident, IncidentEvent
from escalate.notify import contacts
from escalate.notify.dispatcher import Dispatcher
from escalate.notify.models import Channel, Notification
from escalate.notify.schemas import ContactMethodCreate, NotificationRuleCreate
from escalate.oncall import policies as policy_service
from escalate.oncall import schedules as schedule_service
from escalate.oncall.calculator import Rotation
from escalate.oncall.policy_schemas import PolicyCreate, StepIn
from escalate.oncall.schemas import LayerIn, ScheduleIn

LINK = re.compile(r"https?://[^/\s]+(/actions/[A-Za-z0-9_.\-]+)")


def _set_up_paging(
    container: Container, clock: FrozenClock, receiver: HttpReceiver, ana: User, ben: User
) -> tuple[str, str]:
    """Ana is on call in "Database on-call" and reachable by e-mail, Slack and a webhook at
    once; Ben is step 2 by e-mail. Returns (routing key, Ana's webhook secret)."""
    with transaction(container.session_factory, clock=clock, actor=SYSTEM) as session:
        secret = ""
        for channel, address in (
            (Channel.EMAIL, ana.email),
            (Channel.SLACK, f"{receiver.url}/slack/incoming"),
            (Channel.WEBHOOK, f"{receiver.url}/hook"),
        ):
            method, generated = contacts.create_method(
                session,
                clock,
                actor=SYSTEM,
                user_id=ana.id,
                data=ContactMethodCreate(channel=channel, address=address),
            )
            secret = generated or secret
            contacts.create_rule(
                session,
                actor=SYSTEM,
                user_id=ana.id,
                data=NotificationRuleCreate(contact_method_id=method.id),
            )
        schedule_service.create(
            session,
            clock,
            actor=SYSTEM,
            data=ScheduleIn(
                name="Database on-call",
                time_zone="Europe/Berlin",
                layers=[
                    LayerIn(
                        name="Primary",
                        rotation=Rotation.WEEKLY,
                        start_at=clock.now() - timedelta(days=2),
                        participants=[ana.email],
                    )
                ],
            ),
        )
        policy_service.create(
            session,
            clock,
            actor=SYSTEM,
            data=PolicyCreate(
                name="Database",
                steps=[
                    StepIn(delay_minutes=5, schedules=["Database on-call"]),
                    StepIn(delay_minutes=10, users=[ben.email]),
                ],
            ),
        )
        service = account_service.create_service(
            session, actor=SYSTEM, data=ServiceCreate(name="Orders DB")
        )
        integration, key = alert_service.create_integration(
            session,
            clock,
            actor=SYSTEM,
            data=IntegrationCreate(
                name="Prometheus", kind=IntegrationKind.EVENTS_V2, default_service_id=service.id
            ),
        )
        rule_service.create_rule(
            session,
            actor=SYSTEM,
            integration_id=integration.id,
            data=RoutingRuleCreate(
                name="Database alerts",
                matchers=[MatcherIn(name="event.source", op=MatchOp.EQUAL, value="db-1")],
                escalation_policy="Database",
            ),
        )
    assert secret.startswith("whsec_")
    return key, secret


def _mail_to(inbox: SmtpInbox, address: str) -> list[Message]:
    return [m for m in inbox.messages if address in str(m["To"])]


def _body(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


def _notifications(container: Container) -> int:
    with container.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Notification)) or 0


def test_an_alert_pages_on_call_everywhere_escalates_and_the_mailed_link_stops_it(
    container: Container,
    client: TestClient,
    clock: FrozenClock,
    inbox: SmtpInbox,
    http_receiver: HttpReceiver,
    make_user: Callable[..., User],
    make_dispatcher: Callable[..., Dispatcher],
) -> None:
    ana = make_user(Role.RESPONDER, name="Ana Lima", email="ana@example.com")
    ben = make_user(Role.RESPONDER, name="Ben Okafor", email="ben@example.com")
    key, secret = _set_up_paging(container, clock, http_receiver, ana, ben)
    worker, dispatcher = build_worker(container, worker_id="w1"), make_dispatcher()

    event = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": "orders-db/primary-down",
        "payload": {"summary": "Orders DB primary down", "source": "db-1", "severity": "critical"},
    }
    assert client.post("/v2/enqueue", json=event).status_code == 202
    worker.drain()
    dispatcher.drain()

    # Step 1: Ana, on call in the schedule, by every method she has.
    [mail] = _mail_to(inbox, ana.email)
    assert "Orders DB primary down" in str(mail["Subject"])
    found = LINK.findall(_body(mail))
    assert found, _body(mail)
    [slack] = http_receiver.to("/slack/incoming")
    assert "Orders DB primary down" in slack.json()["text"]
    [hook] = http_receiver.to("/hook")
    signed = hook.headers["x-escalate-timestamp"].encode() + b"." + hook.body
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hook.headers["x-escalate-signature"], expected)
    assert "Orders DB primary down" in hook.body.decode()
    assert _mail_to(inbox, ben.email) == []

    # Nobody acknowledges: step 2 (Ben) once step 1's five minutes have passed, not before.
    clock.advance(minutes=4, seconds=59)
    worker.drain()
    dispatcher.drain()
    assert _mail_to(inbox, ben.email) == []
    clock.advance(seconds=2)
    worker.drain()
    dispatcher.drain()
    assert len(_mail_to(inbox, ben.email)) == 1

    # Ana's one-click link: GET only shows the button (mail scanners fetch links), POST acts.
    link = found[0]
    shown = client.get(link)
    assert shown.status_code == 200 and "Acknowledge" in shown.text
    with container.session_factory() as session:
        incident = session.scalars(select(Incident)).one()
        assert incident.status == "triggered"
    acted = client.post(link)
    assert acted.status_code == 200, acted.text
    with container.session_factory() as session:
        incident = session.scalars(select(Incident)).one()
        assert (incident.status, incident.acknowledged_by_user_id) == ("acknowledged", ana.id)
        lines = [
            e.summary
            for e in session.scalars(
                select(IncidentEvent).where(IncidentEvent.incident_id == incident.id)
            )
        ]
    assert any("Ana Lima" in line and "link" in line for line in lines), lines
    assert client.post(link).status_code == 410  # single use

    # Escalation has stopped: the policy's end (and any repeat) pages nobody more.
    sent = _notifications(container)
    clock.advance(minutes=60)
    worker.drain()
    dispatcher.drain()
    assert _notifications(container) == sent
    assert len(_mail_to(inbox, ana.email)) == 1 and len(_mail_to(inbox, ben.email)) == 1
