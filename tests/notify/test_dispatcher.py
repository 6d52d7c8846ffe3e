"""The dispatcher against real peers on loopback, on SQLite and PostgreSQL: every channel
arrives, failures are retried with backoff and land exactly once, permanent failures fall
back to the next contact method, conditional pages are cancelled after an acknowledgement,
and every attempt is on the incident's timeline. Time moves by the clock, never by sleep."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs

from notify_support import SMS_ACCOUNT, SMS_FROM, SMS_TOKEN, HttpReceiver, SmtpInbox
from sqlalchemy import select

from escalate.auth.models import Role, User
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.db import transaction
from escalate.incidents import service as incident_service
from escalate.notify import outbox
from escalate.notify.models import Channel, Notification, NotificationRule, NotificationStatus


def test_email_arrives_with_a_stable_message_id_and_the_links(
    container: Container,
    make_user,
    make_method,
    make_incident,
    queue,
    make_dispatcher,
    inbox: SmtpInbox,
    load,
    timeline,
) -> None:
    user = make_user(Role.RESPONDER)
    method = make_method(user.id, Channel.EMAIL, "ana@escalate.example")
    incident = make_incident()
    notification = queue(method, incident_id=incident)

    assert make_dispatcher().run_once() == 1

    [mail] = inbox.messages
    assert mail["To"] == "ana@escalate.example"
    assert mail["Subject"] == "[Escalate] #1 Checkout API down"
    assert mail["Message-ID"] == f"<notification-{notification}@escalate.example>"
    assert parsedate_to_datetime(mail["Date"]).utcoffset() == timedelta(0)
    text = mail.get_payload(decode=True).decode()
    assert "Acknowledge: http://testserver/a/ack-token" in text
    row = load(notification)
    assert row.status == NotificationStatus.DELIVERED and row.attempts == 1
    [event] = timeline(incident)
    assert event.summary == "Email to ana@escalate.example delivered"
    assert event.data["notification_id"] == notification and event.data["attempt"] == 1


def test_slack_webhook_and_bot_token_both_arrive(
    make_user, make_method, queue, make_dispatcher, http_receiver: HttpReceiver, load
) -> None:
    user = make_user(Role.RESPONDER)
    hook = make_method(user.id, Channel.SLACK, f"{http_receiver.url}/hooks/T1/B1/xyz")
    bot = make_method(user.id, Channel.SLACK, "C0123456", secret="xoxb-test-token", position=1)
    queue(hook)
    queue(bot)

    assert make_dispatcher().run_once() == 2

    [incoming] = http_receiver.to("/hooks/T1/B1/xyz")
    payload = incoming.json()
    assert payload["text"].startswith("[Escalate] #1 Checkout API down")
    assert payload["blocks"][1]["elements"][0]["url"] == "http://testserver/a/ack-token"
    [posted] = http_receiver.to("/slack/api/chat.postMessage")
    assert posted.headers["authorization"] == "Bearer xoxb-test-token"
    assert posted.json()["channel"] == "C0123456"


def test_webhook_is_signed_with_the_method_secret(
    container: Container,
    make_user,
    make_method,
    make_incident,
    queue,
    make_dispatcher,
    http_receiver: HttpReceiver,
) -> None:
    user = make_user(Role.RESPONDER)
    secret = "whsec_test"
    method = make_method(user.id, Channel.WEBHOOK, f"{http_receiver.url}/hook", secret=secret)
    incident = make_incident()
    notification = queue(method, incident_id=incident)

    make_dispatcher().run_once()

    [request] = http_receiver.to("/hook")
    signed = request.headers["x-escalate-timestamp"].encode() + b"." + request.body
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert request.headers["x-escalate-signature"] == f"sha256={expected}"
    assert request.headers["x-escalate-delivery"] == str(notification)
    assert int(request.headers["x-escalate-timestamp"]) == int(container.clock.now().timestamp())
    document = request.json()
    assert document["event"] == "page"
    assert document["incident"]["id"] == incident
    assert document["links"] == {"acknowledge": "http://testserver/a/ack-token"}


def test_sms_speaks_the_twilio_messages_api(
    make_user, make_method, queue, make_dispatcher, http_receiver: HttpReceiver, load
) -> None:
    user = make_user(Role.RESPONDER)
    method = make_method(user.id, Channel.SMS, "+447700900123")
    notification = queue(method)

    make_dispatcher().run_once()

    [request] = http_receiver.to(f"/sms/2010-04-01/Accounts/{SMS_ACCOUNT}/Messages.json")
    expected = base64.b64encode(f"{SMS_ACCOUNT}:{SMS_TOKEN}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    form = parse_qs(request.body.decode())
    assert form["To"] == ["+447700900123"] and form["From"] == [SMS_FROM]
    assert form["Body"] == ["[Escalate] #1 Checkout API down http://testserver/a/ack-token"]
    assert load(notification).status == NotificationStatus.DELIVERED


def test_a_failing_receiver_is_retried_with_backoff_and_gets_the_message_once(
    container: Container,
    clock: FrozenClock,
    make_user,
    make_method,
    make_incident,
    queue,
    make_dispatcher,
    http_receiver: HttpReceiver,
    load,
    timeline,
) -> None:
    user = make_user(Role.RESPONDER)
    method = make_method(user.id, Channel.SMS, "+447700900123")
    incident = make_incident()
    notification = queue(method, incident_id=incident)
    path = f"/sms/2010-04-01/Accounts/{SMS_ACCOUNT}/Messages.json"
    http_receiver.fail(path, 503, 503, 503)
    dispatcher = make_dispatcher()

    waits = []
    for _ in range(3):
        assert dispatcher.run_once() == 1
        row = load(notification)
        assert row.status == NotificationStatus.PENDING
        waits.append(row.due_at - clock.now())
        # Not due yet: nothing happens until the clock reaches the retry.
        assert dispatcher.run_once() == 0
        clock.advance(row.due_at - clock.now())
    assert waits == [timedelta(seconds=10), timedelta(seconds=20), timedelta(seconds=40)]

    assert dispatcher.run_once() == 1
    assert dispatcher.run_once() == 0
    assert len(http_receiver.to(path)) == 1
    row = load(notification)
    assert row.status == NotificationStatus.DELIVERED and row.attempts == 4
    summaries = [event.summary for event in timeline(incident)]
    assert summaries == [
        "SMS to +447700900123 failed: HTTP 503, retry in 10 s",
        "SMS to +447700900123 failed: HTTP 503, retry in 20 s",
        "SMS to +447700900123 failed: HTTP 503, retry in 40 s",
        "SMS to +447700900123 delivered",
    ]
    assert [event.data["attempt"] for event in timeline(incident)] == [1, 2, 3, 4]


def test_a_permanent_failure_falls_back_to_the_next_method(
    container: Container,
    make_user,
    make_method,
    make_incident,
    queue,
    make_dispatcher,
    http_receiver: HttpReceiver,
    inbox: SmtpInbox,
    load,
    timeline,
) -> None:
    user = make_user(Role.RESPONDER)
    webhook = make_method(
        user.id, Channel.WEBHOOK, f"{http_receiver.url}/gone", secret="s", position=0
    )
    make_method(user.id, Channel.EMAIL, "bounce@escalate.example", position=1)
    make_method(user.id, Channel.EMAIL, "ana@escalate.example", position=2)
    incident = make_incident()
    http_receiver.fail("/gone", 404)
    first = queue(webhook, incident_id=incident)
    dispatcher = make_dispatcher()

    # The webhook answers 404: given up at once, the bouncing address is next, then Ana.
    assert dispatcher.drain() == 3

    assert load(first).status == NotificationStatus.FAILED
    assert [m["To"] for m in inbox.messages] == ["ana@escalate.example"]
    with container.session_factory() as s:
        rows = s.scalars(select(Notification).order_by(Notification.id)).all()
        assert [r.status for r in rows] == ["failed", "failed", "delivered"]
        assert [r.fallback_of_id for r in rows] == [None, rows[0].id, rows[1].id]
        assert all(r.attempts == 1 for r in rows)
    summaries = [event.summary for event in timeline(incident)]
    assert summaries == [
        "Webhook to 127.0.0.1 failed: HTTP 404; falling back to Email to bounce@escalate.example",
        "Email to bounce@escalate.example failed: SMTP refused the recipient (550); "
        "falling back to Email to ana@escalate.example",
        "Email to ana@escalate.example delivered",
    ]


def test_exhausted_retries_fail_and_fall_back(
    clock: FrozenClock,
    make_user,
    make_method,
    queue,
    make_dispatcher,
    http_receiver: HttpReceiver,
    inbox: SmtpInbox,
    load,
) -> None:
    user = make_user(Role.RESPONDER)
    hook = make_method(user.id, Channel.SLACK, f"{http_receiver.url}/down", position=0)
    make_method(user.id, Channel.EMAIL, "ana@escalate.example", position=1)
    http_receiver.fail("/down", *[502] * 10)
    notification = queue(hook)
    dispatcher = make_dispatcher()

    for _ in range(outbox.DEFAULT_MAX_ATTEMPTS):
        assert dispatcher.run_once() >= 1
        clock.advance(hours=1)
    row = load(notification)
    assert row.status == NotificationStatus.FAILED
    assert row.attempts == outbox.DEFAULT_MAX_ATTEMPTS
    assert row.last_error == f"HTTP 502, after {outbox.DEFAULT_MAX_ATTEMPTS} attempts"
    dispatcher.drain()
    assert len(inbox.messages) == 1


def test_a_conditional_page_is_cancelled_once_the_incident_is_acknowledged(
    container: Container,
    clock: FrozenClock,
    make_user,
    make_method,
    make_incident,
    make_dispatcher,
    inbox: SmtpInbox,
    http_receiver: HttpReceiver,
    timeline,
) -> None:
    user = make_user(Role.RESPONDER)
    email = make_method(user.id, Channel.EMAIL, "ana@escalate.example", position=0)
    sms = make_method(user.id, Channel.SMS, "+447700900123", position=1)
    incident = make_incident()
    with transaction(container.session_factory, clock=clock) as s:
        s.add(NotificationRule(user_id=user.id, contact_method_id=email, delay_minutes=0))
        s.add(NotificationRule(user_id=user.id, contact_method_id=sms, delay_minutes=3))
    with transaction(container.session_factory, clock=clock) as s:
        ids = outbox.page_user(
            s,
            clock,
            user=s.get(User, user.id),
            message=outbox.Message("page", "Incident #1", "Down.", incident_id=incident),
            dedup_prefix=f"i{incident}:s1",
        )
    assert len(ids) == 2
    dispatcher = make_dispatcher()
    assert dispatcher.run_once() == 1  # the e-mail at once; the SMS waits 3 minutes
    with transaction(container.session_factory, clock=clock) as s:
        incident_service.alert_acknowledged(s, clock.now(), incident)
    clock.advance(minutes=3)
    assert dispatcher.run_once() == 1

    assert len(inbox.messages) == 1 and http_receiver.requests == []
    summaries = [event.summary for event in timeline(incident)]
    assert summaries == [
        "Email to ana@escalate.example delivered",
        "SMS to +447700900123 cancelled: incident acknowledged",
    ]


def test_a_stale_dispatcher_cannot_overwrite_the_outcome_of_the_one_that_took_over(
    clock: FrozenClock,
    make_user,
    make_method,
    queue,
    make_dispatcher,
    http_receiver: HttpReceiver,
    load,
) -> None:
    user = make_user(Role.RESPONDER)
    method = make_method(user.id, Channel.WEBHOOK, f"{http_receiver.url}/hook", secret="s")
    notification = queue(method)
    slow, other = make_dispatcher("slow"), make_dispatcher("other")
    [stalled], _ = slow.claim(10)
    clock.advance(seconds=slow.lease.total_seconds() + 1)  # its lease runs out mid-send
    assert other.run_once() == 1
    assert slow.deliver(stalled) == "lease_lost"
    row = load(notification)
    assert row.status == NotificationStatus.DELIVERED and row.locked_by == "other"
    assert row.attempts == 2


def test_outbox_depth_counts_what_is_due_waiting_sending_and_failed(
    container: Container,
    clock: FrozenClock,
    make_user,
    make_method,
    queue,
    make_dispatcher,
    http_receiver: HttpReceiver,
) -> None:
    user = make_user(Role.RESPONDER)
    method = make_method(user.id, Channel.SLACK, f"{http_receiver.url}/flaky")
    http_receiver.fail("/flaky", 500)
    queue(method)
    queue(method, delay=timedelta(minutes=5))
    make_dispatcher().run_once()  # the first fails and waits for its retry
    queue(method)
    with container.session_factory() as s:
        assert outbox.depth(s, now=clock.now()) == {
            "due": 1,
            "waiting": 2,
            "sending": 0,
            "failed": 0,
        }


def test_after_a_crash_mid_send_the_resend_carries_the_same_delivery_id(
    clock: FrozenClock,
    make_user,
    make_method,
    queue,
    make_dispatcher,
    http_receiver: HttpReceiver,
    load,
) -> None:
    user = make_user(Role.RESPONDER)
    method = make_method(user.id, Channel.WEBHOOK, f"{http_receiver.url}/hook", secret="s" * 8)
    notification = queue(method)
    crashed, survivor = make_dispatcher("crashed"), make_dispatcher("survivor")
    [item], _ = crashed.claim(10)
    # It sends, then dies before recording: the row stays "sending" until its lease ends.
    crashed.client.post(
        f"{http_receiver.url}/hook", headers={"X-Escalate-Delivery": str(item.outgoing.id)}
    )
    assert survivor.run_once() == 0
    clock.advance(crashed.lease + timedelta(seconds=1))
    assert survivor.run_once() == 1
    ids = [r.headers["x-escalate-delivery"] for r in http_receiver.to("/hook")]
    assert ids == [str(notification), str(notification)]  # the receiver can drop the second
    assert load(notification).status == NotificationStatus.DELIVERED
