"""Inbound formats onto Escalate's alert fields: pure functions, no database."""

from __future__ import annotations

import pytest
from alerts_support import GROUPED_RESOLVED, SAMPLE, load_fixture
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from escalate.alerts import mapping
from escalate.alerts.models import AlertAction, Severity
from escalate.alerts.schemas import AlertmanagerWebhook, EventV2


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("critical", Severity.CRITICAL),
        (" Page ", Severity.CRITICAL),
        ("major", Severity.ERROR),
        ("warning", Severity.WARNING),
        ("WARN", Severity.WARNING),
        ("info", Severity.INFO),
        ("none", Severity.INFO),
        (None, mapping.DEFAULT_SEVERITY),
        ("", mapping.DEFAULT_SEVERITY),
        ("whatever", mapping.DEFAULT_SEVERITY),
    ],
)
def test_severity_words_map_onto_escalates_scale(word: str | None, expected: Severity) -> None:
    assert mapping.severity_from_word(word) is expected


@given(st.text(max_size=40))
def test_any_severity_word_maps_to_some_severity(word: str) -> None:
    assert mapping.severity_from_word(word) in set(Severity)


def test_the_alertmanager_sample_becomes_one_trigger_keyed_by_fingerprint() -> None:
    webhook = AlertmanagerWebhook.model_validate(load_fixture(SAMPLE))
    [event] = mapping.from_alertmanager(webhook)
    assert event.action is AlertAction.TRIGGER
    assert event.dedup_key == "a4b42526d0022c6e"
    assert event.summary == "Disk 95% full on db-1"
    assert event.severity is Severity.CRITICAL
    assert event.source == "db-1"
    assert event.labels["alertname"] == "DiskFull"
    assert event.details == {"summary": "Disk 95% full on db-1"}
    assert event.links == [{"href": "http://127.0.0.1/graph", "text": "Source"}]
    assert event.payload["alert"]["endsAt"] is None  # Go's zero time means "no end yet"
    assert event.payload["receiver"] == "local-hook"


def test_a_grouped_notification_resolves_one_and_triggers_the_other() -> None:
    webhook = AlertmanagerWebhook.model_validate(load_fixture(GROUPED_RESOLVED))
    resolved, firing = mapping.from_alertmanager(webhook)
    assert (resolved.action, resolved.dedup_key) == (AlertAction.RESOLVE, "a4b42526d0022c6e")
    assert (firing.action, firing.dedup_key) == (AlertAction.TRIGGER, "53370bc6028c6434")
    assert firing.severity is Severity.WARNING
    assert firing.links == []  # an empty generatorURL is no link


def _event(**overrides: object) -> dict[str, object]:
    event: dict[str, object] = {
        "routing_key": "esc_int_secret",
        "event_action": "trigger",
        "payload": {
            "summary": "DB down",
            "source": "db-1",
            "severity": "critical",
            "component": "postgres",
            "class": "availability",
            "custom_details": {"free_disk": "1%"},
        },
        "links": [{"href": "https://example.com/runbook", "text": "Runbook"}],
        "images": [{"src": "https://example.com/graph.png"}],
        "client": "Nagios",
    }
    event.update(overrides)
    return event


def test_an_events_v2_trigger_keeps_everything_but_the_routing_key() -> None:
    event = mapping.from_event_v2(EventV2.model_validate(_event(dedup_key="db-1/down")))
    assert event.dedup_key == "db-1/down"
    assert event.labels == {"component": "postgres", "class": "availability"}
    assert event.details == {"free_disk": "1%"}
    assert event.links == [{"href": "https://example.com/runbook", "text": "Runbook"}]
    assert "routing_key" not in event.payload
    assert "esc_int_secret" not in str(event.payload)
    assert event.payload["images"] == [{"src": "https://example.com/graph.png"}]


def test_a_trigger_without_dedup_key_gets_a_new_one_each_time() -> None:
    first = mapping.from_event_v2(EventV2.model_validate(_event()))
    second = mapping.from_event_v2(EventV2.model_validate(_event()))
    assert first.dedup_key and second.dedup_key and first.dedup_key != second.dedup_key


def test_custom_details_that_are_not_an_object_are_kept_under_details() -> None:
    payload = {**_event()["payload"], "custom_details": "free text"}  # type: ignore[dict-item]
    event = mapping.from_event_v2(EventV2.model_validate(_event(payload=payload)))
    assert event.details == {"details": "free text"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"payload": None}, "payload: required when event_action is trigger"),
        ({"event_action": "resolve"}, "dedup_key: required when event_action is resolve"),
        ({"event_action": "snooze"}, "event_action"),
    ],
)
def test_each_action_needs_its_fields(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError) as raised:
        EventV2.model_validate(_event(**overrides))
    assert message in str(raised.value)
