"""From inbound formats to Escalate's alert fields: pure functions, no database."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from escalate.alerts.models import AlertAction, Severity
from escalate.alerts.schemas import ZERO_TIME, AlertmanagerAlert, AlertmanagerWebhook, EventV2

SUMMARY_MAX = 1024

# Severity words monitoring tools use, onto Escalate's scale. An unknown or missing word
# maps to DEFAULT_SEVERITY (Alertmanager's own PagerDuty receiver defaults to "error").
SEVERITY_WORDS: dict[str, Severity] = {
    **dict.fromkeys(
        ("critical", "crit", "page", "emergency", "emerg", "alert", "fatal", "high", "p1"),
        Severity.CRITICAL,
    ),
    **dict.fromkeys(("error", "err", "major", "p2"), Severity.ERROR),
    **dict.fromkeys(("warning", "warn", "minor", "medium", "moderate", "p3"), Severity.WARNING),
    **dict.fromkeys(
        ("info", "informational", "notice", "low", "none", "debug", "p4", "p5"), Severity.INFO
    ),
}
DEFAULT_SEVERITY = Severity.ERROR


def severity_from_word(word: str | None) -> Severity:
    """Escalate's severity for a source's severity word (case and spaces ignored)."""
    if not word:
        return DEFAULT_SEVERITY
    return SEVERITY_WORDS.get(word.strip().lower(), DEFAULT_SEVERITY)


@dataclass(frozen=True)
class InboundEvent:
    """One event about one alert, whatever format it came in."""

    action: AlertAction  # TRIGGER, ACKNOWLEDGE or RESOLVE (REPEAT is decided by the store)
    dedup_key: str
    summary: str = ""
    severity: Severity = DEFAULT_SEVERITY
    source: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    links: list[Any] = field(default_factory=list)
    payload: dict[str, Any] = field(default_factory=dict)


def from_alertmanager(webhook: AlertmanagerWebhook) -> list[InboundEvent]:
    """Each alert of a version 4 group, deduplicated by its fingerprint."""
    group = {
        "receiver": webhook.receiver,
        "groupKey": webhook.groupKey,
        "externalURL": webhook.externalURL,
    }
    return [_alertmanager_event(alert, group) for alert in webhook.alerts]


def _alertmanager_event(alert: AlertmanagerAlert, group: dict[str, str]) -> InboundEvent:
    labels, annotations = alert.labels, alert.annotations
    summary = (
        annotations.get("summary")
        or annotations.get("description")
        or labels.get("alertname")
        or f"alert {alert.fingerprint}"
    )
    raw = alert.model_dump(mode="json")
    if alert.endsAt is not None and alert.endsAt <= ZERO_TIME:
        raw["endsAt"] = None  # Go's zero time: no end yet
    links = [{"href": alert.generatorURL, "text": "Source"}] if alert.generatorURL else []
    return InboundEvent(
        action=AlertAction.TRIGGER if alert.status == "firing" else AlertAction.RESOLVE,
        dedup_key=alert.fingerprint,
        summary=summary[:SUMMARY_MAX],
        severity=severity_from_word(labels.get("severity")),
        source=labels.get("instance") or labels.get("job") or group["externalURL"] or None,
        labels=dict(labels),
        details=dict(annotations),
        links=links,
        payload={**group, "alert": raw},
    )


def new_dedup_key() -> str:
    """A dedup key for a trigger that came without one (PagerDuty makes one up too)."""
    return uuid.uuid4().hex


def from_event_v2(event: EventV2) -> InboundEvent:
    """An Events API v2 event. The routing key is a secret and is never kept."""
    raw = event.model_dump(mode="json", by_alias=True, exclude={"routing_key"}, exclude_none=True)
    if event.event_action != "trigger":
        assert event.dedup_key is not None  # EventV2 requires it off trigger
        action = AlertAction(event.event_action)
        return InboundEvent(action=action, dedup_key=event.dedup_key, payload=raw)
    assert event.payload is not None  # EventV2 requires it on trigger
    body = event.payload
    labels = {
        name: value
        for name, value in (
            ("component", body.component),
            ("group", body.group),
            ("class", body.class_),
        )
        if value is not None
    }
    custom = body.custom_details
    details = (
        custom if isinstance(custom, dict) else ({} if custom is None else {"details": custom})
    )
    return InboundEvent(
        action=AlertAction.TRIGGER,
        dedup_key=event.dedup_key or new_dedup_key(),
        summary=body.summary,
        severity=body.severity,
        source=body.source,
        labels=labels,
        details=details,
        links=[link.model_dump(exclude_none=True) for link in event.links],
        payload=raw,
    )
