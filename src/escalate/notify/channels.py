"""Delivering one notification over its channel: e-mail (SMTP), Slack, a signed webhook, SMS.

Each channel is a short hand-written client over smtplib or httpx, not Apprise: Apprise's
Slack and SMS plugins hard-code the providers' public hosts, so they cannot be pointed at a
receiver on loopback (tests, a local relay, a provider's regional endpoint), and it cannot
HMAC-sign a webhook body. What we need of each service is one documented request:

- e-mail: SMTP through `mailer`, with a Message-ID made from the notification id;
- Slack: an incoming-webhook POST of {"text", "blocks"}, or, when the contact method holds
  a bot token, `chat.postMessage` under `Settings.slack_api_url`;
- webhook: a JSON POST with `X-Escalate-Timestamp` (Unix seconds), `X-Escalate-Signature:
  sha256=<hex HMAC-SHA256 under the method's secret of "<timestamp>." + the raw body>`
  (signing the time too lets a receiver refuse an old request replayed) and
  `X-Escalate-Delivery`;
- SMS: the Twilio-compatible Messages API under `Settings.sms_url`, so any provider that
  speaks it (or a fake on loopback) works.

Errors are sorted here, once: `PermanentFailure` (a 4xx other than 408/429, a refused
recipient, a channel that is not configured) is not retried; `TransientFailure` (5xx, 408,
429, timeouts, connection errors, SMTP 4xx) is. Messages never contain a URL: Slack
incoming-webhook URLs are secrets, and errors end up on the incident timeline.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import smtplib
import socket
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from escalate import mailer
from escalate.notify.models import Channel
from escalate.settings import Settings

SMS_MAX_CHARS = 1600  # the Messages API's limit; longer bodies are cut
SIGNATURE_HEADER = "X-Escalate-Signature"
TIMESTAMP_HEADER = "X-Escalate-Timestamp"
DELIVERY_HEADER = "X-Escalate-Delivery"
# Slack Web API errors worth another try; every other `ok: false` is permanent.
SLACK_TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "service_unavailable", "request_timeout", "internal_error", "fatal_error"}
)


class DeliveryFailed(Exception):
    """A delivery did not happen; `permanent` says whether trying again could help."""

    permanent = False

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        # Seconds the receiver asked us to wait (Retry-After), if it said.
        self.retry_after = retry_after


class TransientFailure(DeliveryFailed):
    permanent = False


class PermanentFailure(DeliveryFailed):
    permanent = True


@dataclass(frozen=True)
class Outgoing:
    """One notification as claimed for delivery: a snapshot, used outside any transaction."""

    id: int
    channel: Channel
    address: str
    secret: str | None
    kind: str
    subject: str
    body: str
    incident_id: int | None
    attempt: int
    data: dict[str, Any] = field(default_factory=dict)


def deliver(settings: Settings, client: httpx.Client, outgoing: Outgoing, *, now: datetime) -> None:
    """Send one notification; return when the receiver accepted it, else raise
    DeliveryFailed."""
    senders = {
        Channel.EMAIL: _send_email,
        Channel.SLACK: _send_slack,
        Channel.WEBHOOK: _send_webhook,
        Channel.SMS: _send_sms,
    }
    senders[Channel(outgoing.channel)](settings, client, outgoing, now)


def describe(channel: Channel | str, address: str) -> str:
    """How the timeline names a destination ("Email to ana@x", "Slack webhook"), never
    revealing a URL's path (Slack webhook URLs carry their token there)."""
    channel = Channel(channel)
    if channel == Channel.EMAIL:
        return f"Email to {address}"
    if channel == Channel.SMS:
        return f"SMS to {address}"
    if channel == Channel.SLACK:
        if address.startswith(("http://", "https://")):
            return "Slack incoming webhook"
        return f"Slack to {address}"
    return f"Webhook to {urlsplit(address).hostname or 'unknown host'}"


def links_of(data: dict[str, Any]) -> list[tuple[str, str]]:
    """The (label, url) pairs of `data["links"]`: a mapping of label to URL, or a list of
    {"label", "url"} objects or plain URLs."""
    links = data.get("links")
    pairs: list[tuple[str, str]] = []
    if isinstance(links, dict):
        pairs = [(str(label), str(url)) for label, url in links.items() if url]
    elif isinstance(links, list):
        for item in links:
            if isinstance(item, dict) and item.get("url"):
                pairs.append((str(item.get("label") or item["url"]), str(item["url"])))
            elif isinstance(item, str):
                pairs.append((item, item))
    return pairs


def text_of(outgoing: Outgoing) -> str:
    """The plain-text body: the message, then one line per link."""
    lines = [outgoing.body.rstrip()]
    links = links_of(outgoing.data)
    if links:
        lines.append("")
        lines.extend(f"{label.replace('_', ' ').capitalize()}: {url}" for label, url in links)
    return "\n".join(lines) + "\n"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Escalate-Signature value of a webhook body sent at `timestamp` (the
    X-Escalate-Timestamp value)."""
    signed = timestamp.encode() + b"." + body
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


# --- e-mail -----------------------------------------------------------------------------


def message_id(settings: Settings, notification_id: int) -> str:
    """The same Message-ID for every attempt of one notification, so resends are known."""
    domain = settings.mail_from.rpartition("@")[2] or "escalate.invalid"
    return f"<notification-{notification_id}@{domain}>"


def _send_email(settings: Settings, _client: httpx.Client, out: Outgoing, _now: datetime) -> None:
    try:
        mailer.send(
            settings,
            to=[out.address],
            subject=out.subject,
            text=text_of(out),
            message_id=message_id(settings, out.id),
            timeout=settings.notify_timeout_seconds,
        )
    except mailer.MailNotConfigured as exc:
        raise PermanentFailure(str(exc)) from None
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        reason = f"SMTP refused the recipient ({', '.join(map(str, codes))})"
        if codes and all(400 <= code < 500 for code in codes):
            raise TransientFailure(reason) from None
        raise PermanentFailure(reason) from None
    except smtplib.SMTPResponseException as exc:
        reason = f"SMTP {exc.smtp_code}"
        if 500 <= exc.smtp_code < 600:
            raise PermanentFailure(reason) from None
        raise TransientFailure(reason) from None
    except (smtplib.SMTPException, OSError) as exc:
        # Connection refused or dropped, timeouts, TLS trouble: the server may come back.
        raise TransientFailure(f"SMTP {_kind_of(exc)}") from None


# --- HTTP channels ----------------------------------------------------------------------


def refuse_internal(settings: Settings, url: str) -> None:
    """A URL people typed (webhook, Slack webhook) must not aim Escalate at the internal
    network unless the operator allows it (ESCALATE_WEBHOOK_ALLOW_PRIVATE): every address
    its host resolves to is checked. The URLs operators configure (SMS, Slack API) are
    trusted. A name that resolves to a public address now and a private one when httpx
    connects is not caught: that needs a resolving transport."""
    if settings.webhook_allow_private:
        return
    host = httpx.URL(url).host
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise TransientFailure(f"cannot resolve {host}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise PermanentFailure(
                f"{host} is an internal address ({address}); set "
                "ESCALATE_WEBHOOK_ALLOW_PRIVATE=true to allow receivers on your network"
            )


def _post(
    client: httpx.Client,
    url: str,
    *,
    timeout: float,
    **request: Any,
) -> httpx.Response:
    """POST and sort the outcome: 2xx returns; anything else raises DeliveryFailed."""
    try:
        response = client.post(url, timeout=timeout, **request)
    except httpx.TimeoutException:
        raise TransientFailure("timed out") from None
    except httpx.TransportError as exc:
        raise TransientFailure(f"connection failed ({_kind_of(exc)})") from None
    status = response.status_code
    if 200 <= status < 300:
        return response
    reason = f"HTTP {status}"
    if status in (408, 429) or status >= 500:
        raise TransientFailure(reason, retry_after=_retry_after(response))
    raise PermanentFailure(reason)


def _send_slack(settings: Settings, client: httpx.Client, out: Outgoing, _now: datetime) -> None:
    payload = _slack_payload(out)
    timeout = settings.notify_timeout_seconds
    if not out.secret:  # an incoming webhook: the URL is the credential
        refuse_internal(settings, out.address)
        _post(client, out.address, timeout=timeout, json=payload)
        return
    url = settings.slack_api_url.rstrip("/") + "/chat.postMessage"
    response = _post(
        client,
        url,
        timeout=timeout,
        json={"channel": out.address, **payload},
        headers={"Authorization": f"Bearer {out.secret}"},
    )
    try:
        answer = response.json()
    except ValueError:
        raise TransientFailure("Slack answered with something other than JSON") from None
    if not isinstance(answer, dict) or answer.get("ok") is not True:
        error = str(answer.get("error", "unknown")) if isinstance(answer, dict) else "unknown"
        if error in SLACK_TRANSIENT_ERRORS:
            raise TransientFailure(f"Slack: {error}")
        raise PermanentFailure(f"Slack: {error}")


def _slack_payload(out: Outgoing) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{out.subject}*\n{out.body}"}}
    ]
    links = links_of(out.data)
    if links:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": label.replace("_", " ").title()},
                        "url": url,
                    }
                    for label, url in links[:5]
                ],
            }
        )
    return {"text": f"{out.subject}\n{text_of(out)}", "blocks": blocks}


def webhook_body(out: Outgoing, *, now: datetime) -> bytes:
    """The JSON a webhook receives (exactly the bytes that are signed)."""
    document = {
        "event": out.kind,
        "delivery": out.id,
        "sent_at": now.isoformat(),
        "subject": out.subject,
        "body": out.body,
        "incident": {"id": out.incident_id, **(out.data.get("incident") or {})}
        if out.incident_id is not None
        else None,
        "links": dict(links_of(out.data)),
        "data": out.data,
    }
    return orjson.dumps(document)


def _send_webhook(settings: Settings, client: httpx.Client, out: Outgoing, now: datetime) -> None:
    if not out.secret:
        # Unsigned bodies could be forged by anyone who learns the URL; refuse to send.
        raise PermanentFailure("the webhook has no signing secret (its method was removed?)")
    body = webhook_body(out, now=now)
    timestamp = str(int(now.timestamp()))
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(out.secret, timestamp, body),
        TIMESTAMP_HEADER: timestamp,
        DELIVERY_HEADER: str(out.id),
    }
    timeout = settings.notify_timeout_seconds
    refuse_internal(settings, out.address)
    _post(client, out.address, timeout=timeout, content=body, headers=headers)


def sms_text(out: Outgoing) -> str:
    """Short: the subject and the first link (usually "acknowledge")."""
    links = links_of(out.data)
    text = out.subject + (f" {links[0][1]}" if links else "")
    return text[:SMS_MAX_CHARS]


def _send_sms(settings: Settings, client: httpx.Client, out: Outgoing, _now: datetime) -> None:
    if not (settings.sms_url and settings.sms_account and settings.sms_token and settings.sms_from):
        raise PermanentFailure(
            "SMS is not configured (ESCALATE_SMS_URL, _ACCOUNT, _TOKEN and _FROM)"
        )
    url = f"{settings.sms_url.rstrip('/')}/2010-04-01/Accounts/{settings.sms_account}/Messages.json"
    _post(
        client,
        url,
        timeout=settings.notify_timeout_seconds,
        data={"To": out.address, "From": settings.sms_from, "Body": sms_text(out)},
        auth=(settings.sms_account, settings.sms_token),
    )


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        seconds = float(value)
    except ValueError:
        return None  # the HTTP-date form is rare from APIs; the backoff applies instead
    return seconds if seconds >= 0 else None


def _kind_of(exc: BaseException) -> str:
    """A short, URL-free name of what went wrong."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return type(exc).__name__
