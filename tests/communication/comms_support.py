"""Builders for the communication tests: a small world of services, accounts, contacts and
an incident affecting some of them, and a real SMTP inbox on loopback."""

from __future__ import annotations

import itertools
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SMTPSession
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from escalate.accounts import service as account_service
from escalate.accounts.models import Contact, ServiceGroup, ServiceGroupMember
from escalate.accounts.schemas import AccountCreate, ContactCreate, ServiceCreate
from escalate.auth import passwords
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.incidents import lifecycle
from escalate.incidents.models import AffectedAccount, ImpactLevel, IncidentSeverity
from escalate.incidents.schemas import IncidentDeclare
from escalate.notify.dispatcher import Dispatcher
from escalate.portal import service as portal_service
from escalate.statuspage import service as status_service

_counter = itertools.count()


class SmtpInbox:
    """Accepts every mail and keeps it."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: SMTP, session: SMTPSession, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        message = message_from_bytes(content)
        message["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 Message accepted"

    def recipients(self) -> list[str]:
        return sorted(str(m["To"]).lower() for m in self.messages)

    def text_to(self, address: str) -> str:
        for message in self.messages:
            if str(message["To"]).lower() == address.lower():
                payload = message.get_payload(decode=True)
                assert isinstance(payload, bytes)
                return payload.decode()
        raise AssertionError(f"no mail to {address}")


def run_smtp_inbox() -> Iterator[tuple[int, SmtpInbox]]:
    inbox = SmtpInbox()
    with socket.socket() as probe:  # aiosmtpd checks its own port, so it cannot take 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


@dataclass
class World:
    """Checkout API is down. Acme (two notified contacts, one not notified) and Globex
    (one) are affected; Initech was affected but excluded by hand; Umbrella uses only
    Reports and is not affected. Contacts are keyed by their e-mail."""

    incident_id: int
    incident_number: int
    service_id: int
    other_service_id: int
    accounts: dict[str, int]
    contacts: dict[str, int] = field(default_factory=dict)
    notified: list[str] = field(default_factory=list)
    not_notified: list[str] = field(default_factory=list)


def build_world(container: Container, *, title: str = "Checkout API errors") -> World:
    n = next(_counter)
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        checkout = account_service.create_service(
            s, actor=SYSTEM, data=ServiceCreate(name=f"Checkout API {n}")
        )
        reports = account_service.create_service(
            s, actor=SYSTEM, data=ServiceCreate(name=f"Reports {n}")
        )
        accounts: dict[str, int] = {}
        contacts: dict[str, int] = {}
        people = {
            "Acme": [("ana", True), ("abe", True), ("amy", False)],
            "Globex": [("gus", True)],
            "Initech": [("ian", True)],
            "Umbrella": [("uma", True)],
        }
        for name, members in people.items():
            account = account_service.create(
                s,
                container.clock,
                actor=SYSTEM,
                data=AccountCreate(name=f"{name} {n}", tier="enterprise", timezone="UTC"),
            )
            accounts[name] = account.id
            for person, notified in members:
                email = f"{person}{n}@{name.lower()}.example"
                contact = account_service.add_contact(
                    s,
                    actor=SYSTEM,
                    account=account,
                    data=ContactCreate(
                        name=person.capitalize(),
                        email=email,
                        receives_incident_notifications=notified,
                    ),
                )
                s.flush()
                contacts[email] = contact.id
        incident = lifecycle.declare(
            s,
            container.clock,
            actor=SYSTEM,
            data=IncidentDeclare(
                title=title, severity=IncidentSeverity.SEV1, service=checkout.name
            ),
        )
        now = container.clock.now()
        for name, excluded in (("Acme", False), ("Globex", False), ("Initech", True)):
            s.add(
                AffectedAccount(
                    incident_id=incident.id,
                    account_id=accounts[name],
                    derived=True,
                    excluded=excluded,
                    impact_start=now,
                    impact_level=ImpactLevel.OUTAGE,
                    created_at=now,
                )
            )
        s.flush()
        notified = sorted(
            email
            for email, _ in contacts.items()
            if s.scalar(
                select(Contact.receives_incident_notifications).where(Contact.email == email)
            )
        )
        world = World(
            incident_id=incident.id,
            incident_number=incident.number,
            service_id=checkout.id,
            other_service_id=reports.id,
            accounts=accounts,
            contacts=contacts,
        )
    affected = [e for e in notified if "@acme" in e or "@globex" in e]
    world.notified = affected
    world.not_notified = sorted(set(contacts) - set(affected))
    return world


def make_group(container: Container, *, name: str, slug: str, service_ids: list[int]) -> int:
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        group = ServiceGroup(name=name, slug=slug, is_public=True, position=0)
        s.add(group)
        s.flush()
        for position, service_id in enumerate(service_ids):
            s.add(ServiceGroupMember(group_id=group.id, service_id=service_id, position=position))
        return group.id


def count(container: Container, model: type) -> int:
    with container.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "portal password 1"


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, "no csrf token in the page"
    return found.group(1)


def make_customer(container: Container, *, account_id: int, contact_id: int) -> str:
    """A portal user for the contact, with PASSWORD set; returns the e-mail to log in with."""
    settings = container.settings
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        user = portal_service.invite(
            s,
            container.clock,
            settings,
            actor=SYSTEM,
            account_id=account_id,
            contact_id=contact_id,
        )
        user.password_hash = passwords.hash_password(PASSWORD)
        user.invite_token_hash = None
        user.activated_at = container.clock.now()
        return user.email


def portal_login(client: TestClient, email: str, password: str = PASSWORD) -> None:
    page = client.get("/portal/login")
    assert page.status_code == 200
    response = client.post(
        "/portal/login",
        data={"email": email, "password": password, "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/portal"


def subscribe_confirmed(container: Container, email: str, *, slug: str | None) -> int:
    """A confirmed status-page subscriber (the confirmation mail is written and ignored)."""
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        subscriber = status_service.subscribe(
            s, container.clock, container.settings, email=email, slug=slug
        )
        subscriber.confirmed_at = container.clock.now()
        return subscriber.id


def drain(container: Container) -> int:
    """Deliver everything due in the outbox, over SMTP, now."""
    dispatcher = Dispatcher(
        container.session_factory,
        container.clock,
        container.settings,
        dispatcher_id="comms-test",
        jitter=0.0,
    )
    try:
        return dispatcher.drain()
    finally:
        dispatcher.close()
