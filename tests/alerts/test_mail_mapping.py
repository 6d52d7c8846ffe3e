"""Mail onto inbound events by an integration's EmailRules: pure functions, no database and
no network (the SMTP listener is tested over loopback in test_ingest_email.py)."""

from __future__ import annotations

from email.message import EmailMessage

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate.alerts import mail
from escalate.alerts.models import AlertAction, Severity
from escalate.alerts.schemas import EmailRules

RULES = EmailRules()


def _message(subject: str | None, body: str = "details", **headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Zabbix <zabbix@monitor.example.com>"
    if subject is not None:
        message["Subject"] = subject
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


@pytest.mark.parametrize(
    "subject",
    [
        "[critical] DB down on db-1",
        "Re: [CRITICAL] DB down on db-1",
        "FW: RE: DB down on db-1",
        "RESOLVED: DB down on db-1",
        "[OK] DB down on db-1",
        "AW: [warning] db down on DB-1 - resolved",
        "  DB   down on db-1  ",
    ],
)
def test_the_same_problem_has_the_same_subject_key(subject: str) -> None:
    assert mail.normalized_subject(subject, RULES) == "db down on db-1"


def test_tags_that_are_not_severities_stay_in_the_key() -> None:
    assert mail.normalized_subject("[prod] Disk full", RULES) == "[prod] disk full"
    assert mail.normalized_subject("Re: ", RULES) == mail.NO_SUBJECT


@pytest.mark.parametrize(
    ("subject", "x_priority", "expected"),
    [
        ("[critical] DB down", None, Severity.CRITICAL),
        ("[prod][warn] Disk 85%", "1", Severity.WARNING),
        ("Backup late", "1 (Highest)", Severity.CRITICAL),
        ("Backup late", "2", Severity.ERROR),
        ("Backup late", "3 (Normal)", Severity.ERROR),
        ("Backup late", "5", Severity.INFO),
        ("Backup late", "garbage", Severity.ERROR),
    ],
)
def test_severity_from_tag_then_x_priority_then_default(
    subject: str, x_priority: str | None, expected: Severity
) -> None:
    assert mail.severity_of(subject, x_priority, Severity.ERROR) is expected


def test_a_mail_becomes_a_trigger_and_a_recovery_a_resolve() -> None:
    trigger = mail.event_from_message(
        _message("[critical] Queue stuck", "Depth 10,000."), RULES, envelope_from="bounce@x"
    )
    assert trigger.action is AlertAction.TRIGGER
    assert (trigger.summary, trigger.severity, trigger.dedup_key) == (
        "[critical] Queue stuck",
        Severity.CRITICAL,
        "queue stuck",
    )
    assert trigger.source == "zabbix@monitor.example.com"
    assert trigger.details == {"body": "Depth 10,000.", "from": "zabbix@monitor.example.com"}
    assert trigger.payload["envelope_from"] == "bounce@x"
    resolve = mail.event_from_message(_message("Resolved: Queue stuck"), RULES)
    assert (resolve.action, resolve.dedup_key) == (AlertAction.RESOLVE, "queue stuck")


def test_resolve_words_are_whole_words_and_the_body_counts_only_when_asked() -> None:
    assert mail.event_from_message(_message("Unresolved: Queue"), RULES).action == "trigger"
    body_says = _message("Queue stuck", "Status: RESOLVED")
    assert mail.event_from_message(body_says, RULES).action == "trigger"
    in_body = EmailRules(resolve_in_body=True)
    assert mail.event_from_message(body_says, in_body).action == "resolve"


def test_message_id_rule_keys_a_thread_by_its_first_message() -> None:
    rules = EmailRules(dedup="message-id")
    first = _message("Payments failing", Message_ID="<a@x>")
    reply = _message("Re: Payments failing", Message_ID="<c@x>", References="<a@x> <b@x>")
    bare = _message("Payments failing")
    assert mail.event_from_message(first, rules).dedup_key == "a@x"
    assert mail.event_from_message(reply, rules).dedup_key == "a@x"
    # No Message-ID at all: the subject rule.
    assert mail.event_from_message(bare, rules).dedup_key == "payments failing"


def test_regex_rule_keys_by_its_first_group_or_falls_back_to_the_subject() -> None:
    rules = EmailRules(dedup="regex", dedup_regex=r"ticket #(\d+)")
    assert mail.event_from_message(_message("Re: ticket #4521 open"), rules).dedup_key == "4521"
    assert mail.event_from_message(_message("No ticket"), rules).dedup_key == "no ticket"


def test_html_only_mail_is_read_as_text_and_long_keys_are_hashed() -> None:
    message = EmailMessage()
    message["Subject"] = "x" * 400
    message.set_content("<p>Disk <b>full</b> &amp; rising</p>", subtype="html")
    event = mail.event_from_message(message, RULES)
    assert event.details["body"].split() == ["Disk", "full", "&", "rising"]
    assert len(event.dedup_key) == 64 and event.source is None


def test_a_mail_without_subject_or_sender_still_has_a_title() -> None:
    event = mail.event_from_message(_message(None), RULES)
    assert (event.summary, event.dedup_key) == (mail.NO_SUBJECT, mail.NO_SUBJECT)


def test_an_unknown_charset_is_read_with_replacement_characters() -> None:
    raw = (
        b"From: a@b\r\nSubject: charset\r\nContent-Type: text/plain; charset=x-nonsense\r\n"
        b"\r\nabc \xff\x00 def\r\n"
    )
    event = mail.event_from_message(mail.parse_message(raw), RULES)
    assert event.details["body"].startswith("abc ") and "\x00" not in event.details["body"]


@given(st.binary(max_size=2000))
def test_any_bytes_are_an_event_or_an_unreadable_message(raw: bytes) -> None:
    try:
        event = mail.event_from_message(mail.parse_message(raw), RULES)
    except mail.UnreadableMessage as exc:
        assert exc.detail.startswith("the message cannot be parsed")
        return
    assert event.summary and len(event.dedup_key) <= 255
    assert "\x00" not in event.summary + event.details["body"]
    event.summary.encode("utf-8")  # storable: no lone surrogates
