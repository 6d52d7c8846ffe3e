"""Alert mail over real SMTP on loopback, on both engines: the aiosmtpd listener is started
on a free port and mail is sent with smtplib. A mail becomes an alert (stored before the
250), a repeat counts, a recovery mail resolves; unknown keys and wrong domains are refused
at RCPT TO and logged; oversized mail gets 552 and is logged."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from sqlalchemy import func, select

from escalate.alerts.models import Alert, InboundError, Integration, IntegrationKind
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.smtp import inbound

DOMAIN = "alerts.example.com"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_port(container: Container) -> Iterator[int]:
    """An alert mail listener for DOMAIN on a free loopback port."""
    port = _free_port()
    server = inbound.build_server(container, host="127.0.0.1", port=port, domain=DOMAIN)
    server.start()
    yield port
    server.stop()


def _mail(
    subject: str, body: str = "Replication stopped at 03:12.", **headers: str
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Nagios <nagios@monitor.example.com>"
    message["To"] = "ops@example.com"
    message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def _wire(message: EmailMessage) -> bytes:
    """The message as SMTP carries it (smtplib's data() leaves bytes as they are)."""
    return message.as_bytes(policy=message.policy.clone(linesep="\r\n"))


def _send(port: int, message: EmailMessage, to: str) -> dict[str, Any]:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        return client.send_message(message, "nagios@monitor.example.com", [to])


def _alerts(container: Container) -> list[Alert]:
    with container.session_factory() as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))


def _errors(container: Container) -> list[InboundError]:
    with container.session_factory() as session:
        return list(session.scalars(select(InboundError).order_by(InboundError.id)))


def test_a_mail_becomes_an_alert_a_repeat_counts_and_a_recovery_resolves(
    container: Container, make_integration, smtp_port: int, clock
) -> None:
    integration_id, key = make_integration(IntegrationKind.EMAIL)
    address = f"{key}@{DOMAIN}"
    assert _send(smtp_port, _mail("[critical] DB down on db-1"), address) == {}
    # Stored before the 250: a fresh session sees it as soon as sending returns.
    [alert] = _alerts(container)
    assert (alert.integration_id, alert.summary, alert.severity, alert.count) == (
        integration_id,
        "[critical] DB down on db-1",
        "critical",
        1,
    )
    assert alert.source == "nagios@monitor.example.com"
    assert alert.details["body"] == "Replication stopped at 03:12."
    assert alert.dedup_key == "db down on db-1"
    assert alert.payload["headers"]["Subject"] == "[critical] DB down on db-1"

    clock.advance(minutes=10)
    _send(smtp_port, _mail("Re: [CRITICAL] DB down on db-1", "Still down."), address)
    [alert] = _alerts(container)
    assert (alert.count, alert.status, alert.details["body"]) == (2, "triggered", "Still down.")
    assert alert.last_seen_at > alert.first_seen_at

    clock.advance(minutes=5)
    _send(smtp_port, _mail("RESOLVED: DB down on db-1", "Back at 03:27."), address)
    [alert] = _alerts(container)
    assert (alert.status, alert.open_key, alert.count) == ("resolved", None, 2)
    assert alert.resolved_at == clock.now()
    assert _errors(container) == []


def test_severity_from_x_priority_and_the_default(
    container: Container, make_integration, smtp_port: int
) -> None:
    _, key = make_integration(IntegrationKind.EMAIL)
    _send(smtp_port, _mail("Backup late", X_Priority="1 (Highest)"), f"{key}@{DOMAIN}")
    _send(smtp_port, _mail("Cert expires in 20 days"), f"{key}+certs@{DOMAIN}")
    late, cert = _alerts(container)
    assert (late.severity, cert.severity) == ("critical", "error")


def test_the_message_id_rule_makes_a_reply_the_same_alert(
    client, container: Container, make_integration, admin_headers, smtp_port: int
) -> None:
    integration_id, key = make_integration(IntegrationKind.EMAIL)
    rules = {"dedup": "message-id", "resolve_words": ["all clear"], "default_severity": "warning"}
    put = client.put(
        f"/api/v1/integrations/{integration_id}/mapping", json=rules, headers=admin_headers
    )
    assert put.status_code == 200, put.text
    first = _mail("Payments failing", Message_ID="<p-1@monitor.example.com>")
    _send(smtp_port, first, f"{key}@{DOMAIN}")
    reply = _mail(
        "Re: Payments failing - All Clear",
        In_Reply_To="<p-1@monitor.example.com>",
        Message_ID="<p-2@monitor.example.com>",
    )
    _send(smtp_port, reply, f"{key}@{DOMAIN}")
    [alert] = _alerts(container)
    assert (alert.dedup_key, alert.severity, alert.status) == (
        "p-1@monitor.example.com",
        "warning",
        "resolved",
    )


def test_the_regex_rule_keys_by_its_first_group(
    client, container: Container, make_integration, admin_headers, smtp_port: int
) -> None:
    integration_id, key = make_integration(IntegrationKind.EMAIL)
    rules = {"dedup": "regex", "dedup_regex": r"Service Alert: (\S+)"}
    client.put(f"/api/v1/integrations/{integration_id}/mapping", json=rules, headers=admin_headers)
    _send(
        smtp_port, _mail("** PROBLEM Service Alert: web-1/HTTP is CRITICAL **"), f"{key}@{DOMAIN}"
    )
    _send(smtp_port, _mail("** RECOVERY Service Alert: web-1/HTTP is OK **"), f"{key}@{DOMAIN}")
    [alert] = _alerts(container)
    assert (alert.dedup_key, alert.status) == ("web-1/HTTP", "resolved")


@pytest.mark.parametrize(
    ("recipient", "reply", "logged", "filed_under"),
    [
        (f"esc_int_nope@{DOMAIN}", "Unknown integration key", "unknown or disabled", None),
        (
            "{key}@elsewhere.example.com",
            f"@{DOMAIN} only",
            "domain 'elsewhere.example.com'",
            "key",
        ),
        ("{other}@" + DOMAIN, "receives alertmanager events", "not email", "other"),
    ],
    ids=["unknown-key", "wrong-domain", "other-kind"],
)
def test_a_bad_recipient_is_refused_at_rcpt_and_logged(
    container: Container,
    make_integration,
    smtp_port: int,
    recipient: str,
    reply: str,
    logged: str,
    filed_under: str | None,
) -> None:
    key_id, key = make_integration(IntegrationKind.EMAIL)
    other_id, other = make_integration(IntegrationKind.ALERTMANAGER)
    to = recipient.format(key=key, other=other)
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        _send(smtp_port, _mail("[critical] DB down"), to)
    [(code, message)] = refused.value.recipients.values()
    assert code == 550 and reply in message.decode()
    assert _alerts(container) == []
    [error] = _errors(container)
    assert (error.endpoint, error.status_code, error.remote_addr) == ("smtp", 550, "127.0.0.1")
    assert logged in error.reason
    # Filed under the integration whose key it was, where there is one.
    assert error.integration_id == {"key": key_id, "other": other_id, None: None}[filed_under]
    assert key not in error.reason and other not in error.reason


def test_one_bad_recipient_does_not_stop_the_good_one(
    container: Container, make_integration, smtp_port: int
) -> None:
    _, key = make_integration(IntegrationKind.EMAIL)
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        refused = client.send_message(
            _mail("Disk 91%"), "nagios@monitor.example.com", [f"nope@{DOMAIN}", f"{key}@{DOMAIN}"]
        )
    assert list(refused) == [f"nope@{DOMAIN}"]
    assert [a.summary for a in _alerts(container)] == ["Disk 91%"]


def test_an_oversized_message_is_refused_with_552_and_logged(
    container: Container, make_integration, smtp_port: int
) -> None:
    integration_id, key = make_integration(IntegrationKind.EMAIL)
    big = _mail("Huge log attached", "\n".join(["x" * 99] * 6000))  # about 600 KB
    # Announced with SIZE, as smtplib does: refused at MAIL FROM.
    with pytest.raises(smtplib.SMTPSenderRefused) as at_mail:
        _send(smtp_port, big, f"{key}@{DOMAIN}")
    assert at_mail.value.smtp_code == 552
    # Not announced: read to the end, then refused.
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        client.ehlo()
        assert client.mail("nagios@monitor.example.com")[0] == 250
        assert client.rcpt(f"{key}@{DOMAIN}")[0] == 250
        code, _ = client.data(_wire(big))
    assert code == 552
    assert _alerts(container) == []
    errors = _errors(container)
    assert [(e.endpoint, e.status_code) for e in errors] == [("smtp", 552), ("smtp", 552)]
    assert all("exceeds 524288 bytes" in e.reason for e in errors)
    assert [e.integration_id for e in errors] == [None, integration_id]


def test_a_disabled_integration_between_rcpt_and_data_is_refused(
    container: Container, make_integration, smtp_port: int
) -> None:
    integration_id, key = make_integration(IntegrationKind.EMAIL)
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        client.ehlo()
        client.mail("nagios@monitor.example.com")
        assert client.rcpt(f"{key}@{DOMAIN}")[0] == 250
        with transaction(container.session_factory, clock=container.clock) as session:
            session.get(Integration, integration_id).is_active = False
        code, message = client.data(_wire(_mail("Disk 99%")))
    assert code == 550 and b"active e-mail integration" in message
    assert _alerts(container) == []
    [error] = _errors(container)
    assert (error.status_code, error.integration_id) == (550, integration_id)
    assert key not in (error.body_excerpt or "")
    with container.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Alert)) == 0
