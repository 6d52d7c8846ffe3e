"""The routing decision as a pure function: Alertmanager's matcher semantics, the walk with
`continue`, the catch-all, and when an alert counts as unrouted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from escalate.alerts import routing
from escalate.alerts.mapping import InboundEvent
from escalate.alerts.models import AlertAction, MatchOp, RoutingRule, Severity, Silence
from escalate.incidents.models import IncidentSeverity


def _rule(
    rule_id: int,
    matchers: list[tuple[str, str, str]],
    *,
    service_id: int | None = None,
    policy: str | None = None,
    severity: str | None = None,
    cont: bool = False,
) -> RoutingRule:
    return RoutingRule(
        id=rule_id,
        position=rule_id,
        name=f"rule {rule_id}",
        matchers=[{"name": n, "op": op, "value": v} for n, op, v in matchers],
        service_id=service_id,
        escalation_policy=policy,
        severity_override=severity,
        continue_matching=cont,
        is_catch_all=False,
    )


CATCH_ALL = RoutingRule(
    id=99, position=0, name="Catch-all", matchers=[], service_id=7, is_catch_all=True
)


@pytest.mark.parametrize(
    ("op", "value", "actual", "expected"),
    [
        ("=", "db", "db", True),
        ("=", "db", "dba", False),
        ("=", "", None, True),  # a missing label is the empty string
        ("!=", "db", "web", True),
        ("!=", "db", None, True),
        ("!=", "", None, False),
        ("=~", "db|dba", "dba", True),
        ("=~", "db", "dba", False),  # anchored at both ends, as in Alertmanager
        ("=~", "db.*", "db-primary", True),
        ("!~", "db.*", "web", True),
        ("!~", "db.*", "db-1", False),
    ],
)
def test_matchers_follow_alertmanager(
    op: str, value: str, actual: str | None, expected: bool
) -> None:
    subject = {} if actual is None else {"team": actual}
    assert routing.Matcher("team", MatchOp(op), value).matches(subject) is expected


def test_event_fields_can_be_matched_next_to_labels() -> None:
    event = InboundEvent(
        action=AlertAction.TRIGGER,
        dedup_key="k1",
        summary="Primary database failover failed",
        severity=Severity.CRITICAL,
        source="db-1",
        labels={"team": "database", "replicas": 3},
    )
    subject = routing.subject_of(event)
    assert subject["team"] == "database"
    assert subject["replicas"] == "3"
    assert subject["event.severity"] == "critical"
    assert routing.Matcher("event.summary", MatchOp.REGEX, ".*failover.*").matches(subject)


def test_the_first_matching_rule_decides_and_stops_the_walk() -> None:
    rules = [
        _rule(1, [("team", "=", "database")], service_id=1, policy="DBA"),
        _rule(2, [("team", "=~", ".+")], service_id=2, policy="Everyone"),
        CATCH_ALL,
    ]
    chosen = routing.route(rules, {"team": "database"})
    assert (chosen.rule_id, chosen.service_id, chosen.escalation_policy) == (1, 1, "DBA")
    assert chosen.matched_rule_ids == (1, 99)
    assert chosen.routed


def test_continue_lets_later_rules_fill_what_is_still_open() -> None:
    rules = [
        _rule(1, [("env", "=", "prod")], severity="SEV1", cont=True),
        _rule(2, [("team", "=", "database")], service_id=3, policy="DBA", severity="SEV3"),
        CATCH_ALL,
    ]
    chosen = routing.route(rules, {"env": "prod", "team": "database"})
    assert chosen.rule_id == 1
    assert chosen.matched_rule_ids == (1, 2, 99)
    # The first rule to set a choice keeps it.
    assert chosen.severity_override == IncidentSeverity.SEV1
    assert (chosen.service_id, chosen.escalation_policy) == (3, "DBA")


def test_an_alert_no_rule_matches_lands_on_the_catch_all_and_is_unrouted() -> None:
    rules = [_rule(1, [("team", "=", "dba-legacy")], policy="Legacy DBA"), CATCH_ALL]
    chosen = routing.route(rules, {"team": "database"})
    assert (chosen.rule_id, chosen.service_id) == (99, 7)
    assert not chosen.routed
    assert "catch-all" in (chosen.unrouted_reason or "")


def test_a_route_without_an_escalation_policy_is_unrouted() -> None:
    rules = [_rule(1, [("team", "=", "database")], service_id=1), CATCH_ALL]
    chosen = routing.route(rules, {"team": "database"})
    assert chosen.rule_id == 1
    assert not chosen.routed
    assert "names no escalation policy" in (chosen.unrouted_reason or "")


def test_rules_are_tried_by_position_not_by_list_order() -> None:
    late = _rule(1, [("team", "=", "database")], policy="Late")
    late.position = 5
    early = _rule(2, [("team", "=", "database")], policy="Early")
    early.position = 0
    assert routing.route([late, early, CATCH_ALL], {"team": "database"}).rule_id == 2


def test_incident_severity_prefers_override_then_the_map_then_the_default() -> None:
    assert routing.incident_severity(Severity.WARNING, {}, None) == IncidentSeverity.SEV3
    assert routing.incident_severity(Severity.WARNING, {"warning": "SEV2"}, None) == "SEV2"
    assert (
        routing.incident_severity(Severity.WARNING, {"warning": "SEV2"}, IncidentSeverity.SEV1)
        == "SEV1"
    )


def test_a_silence_scoped_to_a_service_covers_only_that_service() -> None:
    now = datetime(2025, 10, 22, 13, 0, tzinfo=UTC)
    window = Silence(
        id=1,
        matchers=[{"name": "alertname", "op": "=~", "value": "Disk.*"}],
        service_id=4,
        starts_at=now,
        ends_at=now,
    )
    subject = {"alertname": "DiskFull"}
    assert routing.covering_silence([window], subject, service_id=4) is window
    assert routing.covering_silence([window], subject, service_id=5) is None
    assert routing.covering_silence([window], {"alertname": "CPU"}, service_id=4) is None


def test_the_grouping_key_is_the_service_plus_the_grouping_labels() -> None:
    subject = {"alertname": "DiskFull", "cluster": "eu-1"}
    assert routing.grouping_key(3, [], subject) == "service=3"
    assert routing.grouping_key(None, ["cluster"], subject) == "service=-|cluster=eu-1"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('team=~"db|dba"', {"name": "team", "op": "=~", "value": "db|dba"}),
        ("severity != info", {"name": "severity", "op": "!=", "value": "info"}),
        ('event.summary!~".*test.*"', {"name": "event.summary", "op": "!~", "value": ".*test.*"}),
        ('job=""', {"name": "job", "op": "=", "value": ""}),
        ('msg="say \\"hi\\""', {"name": "msg", "op": "=", "value": 'say "hi"'}),
    ],
)
def test_matchers_are_read_from_text_as_amtool_writes_them(
    text: str, expected: dict[str, str]
) -> None:
    assert routing.parse_matcher_text(text) == expected


def test_several_matchers_split_on_lines_and_commas_outside_quotes() -> None:
    parsed = routing.parse_matcher_lines('team="db,dba", env=prod\n\nregion=~"eu-.*"')
    assert [m["name"] for m in parsed] == ["team", "env", "region"]
    assert parsed[0]["value"] == "db,dba"


def test_text_that_is_not_a_matcher_is_refused() -> None:
    with pytest.raises(routing.MatcherSyntaxError, match="not a matcher"):
        routing.parse_matcher_text("team")


@pytest.mark.parametrize(
    "text",
    ['team="db', 'team="db" env="prod"', 'team="db"x'],
)
def test_a_quoted_value_must_end_at_its_closing_quote(text: str) -> None:
    # Leniency here stored values nobody meant (`db" env="prod`) from the CLI and pages.
    with pytest.raises(routing.MatcherSyntaxError, match="closing quote"):
        routing.parse_matcher_lines(text)


def test_backslashes_other_than_escapes_stay_as_typed() -> None:
    assert routing.parse_matcher_text(r'host=~"db\.example"')["value"] == r"db\.example"
    assert routing.parse_matcher_text(r'path="C:\\temp\\"')["value"] == "C:\\temp\\"
