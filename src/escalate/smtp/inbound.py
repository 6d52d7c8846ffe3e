"""Alerts by e-mail: an SMTP listener (aiosmtpd) for mail to <integration-key>@<domain>.

Like the HTTP doors it is a thin adapter: it checks each recipient at RCPT TO (an unknown
key or a wrong domain is refused there with 550), turns the message into an inbound event
by the integration's EmailRules (alerts.mail), and stores it through the same
`ingest_events`. The store is committed before the 250 goes back, so a mail the sender saw
accepted is never lost; a refusal is noted in the inbound-errors log (endpoint "smtp").
The listener runs its own event loop in a thread; database work runs in worker threads."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from typing import Any, AnyStr

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SMTPSession
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from escalate.alerts import mail
from escalate.alerts import service as alert_service
from escalate.alerts.models import Integration, IntegrationKind
from escalate.bootstrap import Container
from escalate.db import read_only_session, transaction
from escalate.errors import NotAuthenticated

MAX_MESSAGE_BYTES = 512 * 1024
ENDPOINT = "smtp"
TEMPORARY_FAILURE = "451 4.3.0 Temporary failure storing the alert; try again later"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    """A recipient or message refused: the SMTP reply, and what the log says."""

    reply: str
    reason: str
    integration_id: int | None = None


def recipient_key(address: str) -> tuple[str, str]:
    """(integration key, domain) of a recipient; "+tag" after the key is ignored, so
    senders can tell their own alert streams apart."""
    local, _, domain = address.rpartition("@")
    local = local.strip('"').split("+", 1)[0]
    return local, domain.strip().rstrip(".").lower()


class InboundMailHandler:
    """aiosmtpd handler: RCPT checks the key, DATA stores the alert, then answers."""

    def __init__(self, container: Container, *, domain: str | None = None) -> None:
        self.container = container
        self.domain = (domain or "").strip().rstrip(".").lower() or None

    # --- aiosmtpd hooks (called on the listener's event loop) ---------------------------

    async def handle_RCPT(
        self,
        server: SMTP,
        session: SMTPSession,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        refusal = await asyncio.to_thread(self._check_recipient, address, _peer(session))
        if refusal is not None:
            return refusal.reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: SMTPSession, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        return await asyncio.to_thread(
            self._deliver, raw, envelope.mail_from, list(envelope.rcpt_tos), _peer(session)
        )

    async def handle_exception(self, error: Exception) -> str:
        # aiosmtpd would answer "500" with the exception's text; keep it in our log instead.
        log.exception("inbound mail: unexpected error", exc_info=error)
        return TEMPORARY_FAILURE

    # --- the work (in worker threads) ----------------------------------------------------

    def _check_recipient(self, address: str, peer: str | None) -> Refusal | None:
        key, domain = recipient_key(address)
        try:
            with read_only_session(self.container.session_factory) as db:
                refusal = self._refusal_for(db, key, domain)
        except SQLAlchemyError:
            log.exception("inbound mail: cannot check recipient")
            return Refusal(TEMPORARY_FAILURE, "database unavailable")
        if refusal is not None:
            self._record(refusal, peer=peer, key=key)
        return refusal

    def _refusal_for(self, session: Session, key: str, domain: str) -> Refusal | None:
        if self.domain and domain != self.domain:
            return Refusal(
                f"550 5.7.1 This server takes mail for @{self.domain} only",
                f"Refused recipient: mail for domain {domain!r}; this server takes "
                f"@{self.domain} only",
            )
        integration = _integration(session, key)
        if isinstance(integration, Refusal):
            return integration
        return None

    def _deliver(
        self, raw: bytes, mail_from: str | None, rcpt_tos: list[str], peer: str | None
    ) -> str:
        """Store the message as an alert for each recipient's integration and commit, then
        say what happened: the 250 goes back only after the commit."""
        try:
            with self._transaction() as session:
                outcomes = self._store(session, raw, mail_from, rcpt_tos)
        except _Refused as refused:
            self._record(refused.refusal, peer=peer, body=raw, rcpt_tos=rcpt_tos)
            return refused.refusal.reply
        except SQLAlchemyError:
            log.exception("inbound mail: cannot store the alert")
            return TEMPORARY_FAILURE
        done = ", ".join(f"alert {o.alert_id} {o.action.value}" for o in outcomes)
        return f"250 2.0.0 OK: {done}"

    def _store(
        self, session: Session, raw: bytes, mail_from: str | None, rcpt_tos: list[str]
    ) -> list[alert_service.Outcome]:
        # Checked again: an integration may have been disabled since RCPT TO.
        found = [_integration(session, recipient_key(to)[0]) for to in rcpt_tos]
        # One alert per integration, however many of its addresses (key+tag@) the mail has.
        integrations = list({i.id: i for i in found if isinstance(i, Integration)}.values())
        if not integrations:
            raise _Refused(
                Refusal(
                    "550 5.1.1 No recipient is an active e-mail integration",
                    "Refused message: no recipient is an active e-mail integration",
                )
            )
        outcomes: list[alert_service.Outcome] = []
        for integration in integrations:
            try:
                outcome = alert_service.ingest_mail(
                    session,
                    self.container.clock,
                    integration=integration,
                    message=mail.parse_message(raw),
                    envelope_from=mail_from,
                )
            except mail.UnreadableMessage as exc:
                refusal = Refusal(f"550 5.6.0 {exc.detail}", exc.detail, integration.id)
                raise _Refused(refusal) from None
            outcomes.append(outcome)
        return outcomes

    def note_too_large(self, envelope: Envelope | None, peer: str | None) -> None:
        """Log a message refused for its size (aiosmtpd answers it with 552 itself)."""
        rcpt_tos = list(envelope.rcpt_tos) if envelope is not None else []
        refusal = Refusal(
            "552", f"Payload too large: the message exceeds {MAX_MESSAGE_BYTES} bytes"
        )
        self._record(refusal, peer=peer, rcpt_tos=rcpt_tos)

    def _record(
        self,
        refusal: Refusal,
        *,
        peer: str | None,
        key: str | None = None,
        body: bytes = b"",
        rcpt_tos: list[str] | None = None,
    ) -> None:
        keys = [recipient_key(to)[0] for to in rcpt_tos or []] + ([key] if key else [])
        try:
            with self._transaction() as session:
                integration_id = refusal.integration_id
                if integration_id is None and keys:
                    integration_id = alert_service.integration_id_for_key(session, key=keys[0])
                alert_service.record_inbound_error(
                    session,
                    self.container.clock,
                    endpoint=ENDPOINT,
                    status_code=int(refusal.reply[:3]),
                    reason=refusal.reason,
                    body=body,
                    integration_id=integration_id,
                    remote_addr=peer,
                    hide=tuple(keys),
                )
        except SQLAlchemyError:
            log.exception("inbound mail: cannot note a refusal: %s", refusal.reason)

    def _transaction(self) -> Any:
        return transaction(self.container.session_factory, clock=self.container.clock)


class _Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


def _integration(session: Session, key: str) -> Integration | Refusal:
    """The active e-mail integration with this key, or why the recipient is refused."""
    try:
        integration = alert_service.authenticate_integration(session, key=key)
    except NotAuthenticated:
        return Refusal(
            "550 5.1.1 Unknown integration key",
            "Refused recipient: unknown or disabled integration key",
        )
    if integration.kind != IntegrationKind.EMAIL:
        return Refusal(
            f"550 5.1.1 Integration {integration.name!r} receives {integration.kind} events, "
            "not e-mail",
            f"Refused recipient: integration {integration.name!r} receives "
            f"{integration.kind} events, not email",
            integration.id,
        )
    return integration


def _peer(session: SMTPSession | None) -> str | None:
    peer = session.peer if session is not None else None
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer) if peer else None


class _SMTP(SMTP):
    """aiosmtpd's server, with its own 552 answers (too large, by SIZE or by DATA) noted in
    the inbound-errors log like every other refusal."""

    async def push(self, status: AnyStr) -> None:
        handler = self.event_handler
        too_large = isinstance(status, str) and status.startswith("552")
        if too_large and isinstance(handler, InboundMailHandler):
            await asyncio.to_thread(handler.note_too_large, self.envelope, _peer(self.session))
        await super().push(status)


class InboundMailServer(Controller):
    """The listener in its own thread: `start()`, then `stop()`."""

    def start(self) -> None:
        # aiosmtpd reports a port it cannot bind only after its ready timeout (seconds);
        # binding once first answers at once, with the operating system's reason.
        family = socket.getaddrinfo(self.hostname, self.port, type=socket.SOCK_STREAM)[0][0]
        with socket.create_server((self.hostname, self.port), family=family):
            pass
        super().start()

    def factory(self) -> SMTP:
        return _SMTP(self.handler, **self.SMTP_kwargs)

    @property
    def domain(self) -> str | None:
        """The one domain mail is taken for (lower case), or None for any."""
        handler = self.handler
        assert isinstance(handler, InboundMailHandler)
        return handler.domain


def build_server(
    container: Container, *, host: str, port: int, domain: str | None = None
) -> InboundMailServer:
    """An SMTP listener for alert mail; messages over MAX_MESSAGE_BYTES get 552."""
    handler = InboundMailHandler(container, domain=domain)
    return InboundMailServer(
        handler,
        hostname=host,
        port=port,
        server_hostname=handler.domain or "escalate",
        ident="Escalate alert mail",
        data_size_limit=MAX_MESSAGE_BYTES,
    )
