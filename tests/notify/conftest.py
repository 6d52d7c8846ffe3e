"""Builders for notification tests: real peers on loopback, settings pointing at them,
incidents, contact methods, queued notifications and dispatchers."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from notify_support import (
    SMS_ACCOUNT,
    SMS_FROM,
    SMS_TOKEN,
    HttpReceiver,
    SmtpInbox,
    run_http_receiver,
    run_smtp_inbox,
)
from sqlalchemy import select

from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.incidents import service as incident_service
from escalate.incidents.models import IncidentEvent, IncidentSeverity
from escalate.notify import outbox
from escalate.notify.dispatcher import Dispatcher
from escalate.notify.models import Channel, ContactMethod, Notification
from escalate.settings import Settings

_counter = itertools.count()


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    yield from run_http_receiver()


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[int, SmtpInbox]]:
    yield from run_smtp_inbox()


@pytest.fixture
def settings(
    settings: Settings, http_receiver: HttpReceiver, smtp_inbox: tuple[int, SmtpInbox]
) -> Settings:
    """The shared test settings, with every channel pointed at the peers on loopback."""
    return settings.model_copy(
        update={
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_inbox[0],
            "mail_from": "escalate@escalate.example",
            "slack_api_url": f"{http_receiver.url}/slack/api",
            "sms_url": f"{http_receiver.url}/sms",
            "sms_account": SMS_ACCOUNT,
            "sms_token": SMS_TOKEN,
            "sms_from": SMS_FROM,
            "notify_timeout_seconds": 5.0,
        }
    )


@pytest.fixture
def inbox(smtp_inbox: tuple[int, SmtpInbox]) -> SmtpInbox:
    return smtp_inbox[1]


@pytest.fixture
def make_dispatcher(container: Container) -> Iterator[Callable[..., Dispatcher]]:
    made: list[Dispatcher] = []

    def build(dispatcher_id: str = "d1", **options: Any) -> Dispatcher:
        options.setdefault("jitter", 0.0)
        dispatcher = Dispatcher(
            container.session_factory,
            container.clock,
            container.settings,
            dispatcher_id=dispatcher_id,
            **options,
        )
        made.append(dispatcher)
        return dispatcher

    yield build
    for dispatcher in made:
        dispatcher.close()


@pytest.fixture
def make_incident(container: Container) -> Callable[..., int]:
    """Builder: a committed, triggered incident; returns its id."""

    def build(title: str = "Checkout API down") -> int:
        alert = incident_service.NewAlert(
            title=title,
            severity=IncidentSeverity.SEV1,
            service_id=None,
            escalation_policy=None,
            grouping_key=f"test-{next(_counter)}",
        )
        with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
            return incident_service.join_or_open(
                s, container.clock.now(), alert, window=timedelta(hours=1)
            )

    return build


@pytest.fixture
def make_method(container: Container) -> Callable[..., int]:
    """Builder: a committed contact method (ORM, no validation); returns its id."""

    def build(
        user_id: int,
        channel: Channel,
        address: str,
        *,
        secret: str | None = None,
        position: int = 0,
    ) -> int:
        with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
            method = ContactMethod(
                user_id=user_id,
                channel=channel,
                label=f"{channel} {next(_counter)}",
                address=address,
                secret=secret,
                position=position,
                is_active=True,
                created_at=container.clock.now(),
            )
            s.add(method)
            s.flush()
            return method.id

    return build


@pytest.fixture
def queue(container: Container) -> Callable[..., int]:
    """Builder: one committed notification to one contact method; returns its id."""

    def build(
        method_id: int | None,
        *,
        incident_id: int | None = None,
        user_id: int | None = None,
        channel: Channel | None = None,
        address: str | None = None,
        delay: timedelta = timedelta(),
        condition: str | None = None,
        kind: str = "page",
        data: dict[str, Any] | None = None,
    ) -> int:
        with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
            if method_id is not None:
                method = s.get(ContactMethod, method_id)
                assert method is not None
                channel, address, user_id = method.channel, method.address, method.user_id
            assert channel is not None and address is not None
            row_id = outbox.add(
                s,
                container.clock,
                dedup_key=f"test:{next(_counter)}",
                user_id=user_id,
                reach=outbox.Reach(Channel(channel), address, method_id, delay),
                message=outbox.Message(
                    kind=kind,
                    subject="[Escalate] #1 Checkout API down",
                    body="Incident #1 (critical): Checkout API down.",
                    incident_id=incident_id,
                    data=data
                    if data is not None
                    else {"links": {"acknowledge": "http://testserver/a/ack-token"}},
                ),
                condition=condition,
            )
            assert row_id is not None
            return row_id

    return build


@pytest.fixture
def load(container: Container) -> Callable[[int], Notification]:
    def read(notification_id: int) -> Notification:
        with container.session_factory() as s:
            row = s.get(Notification, notification_id)
            assert row is not None
            s.expunge(row)
            return row

    return read


@pytest.fixture
def timeline(container: Container) -> Callable[[int], list[IncidentEvent]]:
    def read(incident_id: int) -> list[IncidentEvent]:
        with container.session_factory() as s:
            rows = list(
                s.scalars(
                    select(IncidentEvent)
                    .where(IncidentEvent.incident_id == incident_id)
                    .where(IncidentEvent.kind == "notification")
                    .order_by(IncidentEvent.id)
                )
            )
            s.expunge_all()
        return rows

    return read
