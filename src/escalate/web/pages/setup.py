"""How to point a tool at an integration: where it sends, and configuration ready to paste,
for each kind. The key is written in only on the one page that shows it (just created or
rotated); everywhere else the snippets read <integration key>."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from escalate.alerts.models import IntegrationKind
from escalate.settings import Settings

KEY_PLACEHOLDER = "<integration key>"
# The doors' paths (web.api.ingest); the pages do not import the API, and the tests post to
# the URLs shown here, so the two cannot drift apart unnoticed.
ALERTMANAGER = "/api/v1/ingest/alertmanager"
GENERIC = "/api/v1/ingest/generic"
ENQUEUE = "/v2/enqueue"


@dataclass(frozen=True)
class Snippet:
    title: str
    text: str
    hint: str = ""


@dataclass(frozen=True)
class Setup:
    target_label: str  # "URL to paste", "Address to send to"
    target: str
    snippets: list[Snippet]
    note: str = ""


def setup_for(kind: str, settings: Settings, key: str | None) -> Setup:
    base = settings.base_url.rstrip("/")
    secret = key or KEY_PLACEHOLDER
    if kind == IntegrationKind.ALERTMANAGER:
        return _alertmanager(base + ALERTMANAGER, secret)
    if kind == IntegrationKind.EVENTS_V2:
        return _events_v2(base, secret)
    if kind == IntegrationKind.GENERIC:
        return _generic(base + GENERIC, secret)
    if kind == IntegrationKind.EMAIL:
        return _email(settings, secret)
    return Setup("URL to paste", "", [], note=f"Escalate has no door for {kind} events.")


def _alertmanager(url: str, secret: str) -> Setup:
    return Setup(
        "URL to paste",
        url,
        [
            Snippet(
                "alertmanager.yml",
                _alertmanager_receiver(url, auth=secret),
                "Add the receiver and send a route to it. The key travels as a bearer token, "
                "out of URLs and access logs.",
            ),
            Snippet(
                "alertmanager.yml, key in the path",
                _alertmanager_receiver(f"{url}/{secret}", auth=None),
                "For setups that cannot send an Authorization header. The URL is then the "
                "secret: keep it out of shared configuration.",
            ),
        ],
    )


def _alertmanager_receiver(url: str, *, auth: str | None) -> str:
    lines = [
        "receivers:",
        "  - name: escalate",
        "    webhook_configs:",
        f"      - url: {url}",
        "        send_resolved: true",
    ]
    if auth is not None:
        lines += [
            "        http_config:",
            "          authorization:",
            f"            credentials: {auth}",
        ]
    return "\n".join(lines)


def _events_v2(base: str, secret: str) -> Setup:
    url = base + ENQUEUE
    event = {
        "routing_key": secret,
        "event_action": "trigger",
        "dedup_key": "disk-full/db-1",
        "payload": {"summary": "Disk full on db-1", "source": "db-1", "severity": "critical"},
    }
    return Setup(
        "URL to paste",
        url,
        [
            Snippet(
                "A PagerDuty Events API v2 client",
                _curl(url, event),
                f"Any PagerDuty Events v2 client works: set its events base URL to {base} and "
                "its routing key to the integration key. Send event_action acknowledge or "
                "resolve with the same dedup_key to move the alert.",
            )
        ],
    )


def _generic(url: str, secret: str) -> Setup:
    event = {
        "title": "Disk full on db-1",
        "severity": "critical",
        "dedup_key": "disk-full/db-1",
        "source": "db-1",
        "labels": {"team": "db"},
    }
    return Setup(
        "URL to paste",
        url,
        [
            Snippet(
                "Any tool that can POST JSON",
                _curl(url, event, bearer=secret),
                'The default shape: title, severity, status ("resolved" resolves), dedup_key, '
                "labels, source, details; a list is several events. Another shape needs a "
                "mapping (escalate integration mapping set, or PUT /api/v1/integrations/"
                f"{{id}}/mapping). The key may go in the path instead: {url}/<key>.",
            )
        ],
    )


def _email(settings: Settings, secret: str) -> Setup:
    domain = settings.smtp_inbound_domain or urlsplit(settings.base_url).hostname or "localhost"
    if settings.smtp_inbound_port:
        listening = (
            f"Escalate takes alert mail at {settings.smtp_inbound_host}:"
            f"{settings.smtp_inbound_port}; point the sender's relay there for {domain}."
        )
    else:
        listening = (
            "Escalate takes mail only while it listens for it: run escalate serve with "
            "ESCALATE_SMTP_INBOUND_PORT set, or escalate smtp-inbound."
        )
    return Setup(
        "Address to send to",
        f"{secret}@{domain}",
        [],
        note="The subject is the alert's title, a tag such as [critical] its severity, and "
        "RESOLVED, [OK] or RECOVERY in the subject resolves it. " + listening,
    )


def _curl(url: str, body: Mapping[str, object], *, bearer: str | None = None) -> str:
    lines = [f"curl -X POST {url}"]
    if bearer is not None:
        lines.append(f"  -H 'Authorization: Bearer {bearer}'")
    lines += ["  -H 'Content-Type: application/json'", f"  -d '{json.dumps(body)}'"]
    return " \\\n".join(lines)
