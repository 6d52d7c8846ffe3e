"""Routing rules and silences as pure functions: which rule an alert takes, and whether a
silence covers it. Ingestion and the route tester both call `route`, so the tester answers
exactly what ingestion does."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from escalate.alerts.mapping import InboundEvent
from escalate.alerts.models import MatchOp, RoutingRule, Severity, Silence
from escalate.incidents.models import IncidentSeverity

DEFAULT_SEVERITY_MAP: dict[Severity, IncidentSeverity] = {
    Severity.CRITICAL: IncidentSeverity.SEV1,
    Severity.ERROR: IncidentSeverity.SEV2,
    Severity.WARNING: IncidentSeverity.SEV3,
    Severity.INFO: IncidentSeverity.SEV4,
}


@dataclass(frozen=True)
class Matcher:
    name: str
    op: MatchOp
    value: str

    def matches(self, subject: Mapping[str, str]) -> bool:
        # As in Alertmanager, a missing label is the empty string: `team=""` matches it.
        actual = subject.get(self.name, "")
        if self.op == MatchOp.EQUAL:
            return actual == self.value
        if self.op == MatchOp.NOT_EQUAL:
            return actual != self.value
        found = _compiled(self.value).fullmatch(actual) is not None
        return found if self.op == MatchOp.REGEX else not found

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "op": self.op.value, "value": self.value}

    def __str__(self) -> str:
        return f"{self.name}{self.op.value}{self.value!r}"


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    found = _REGEX_CACHE.get(pattern)
    if found is None:
        if len(_REGEX_CACHE) > 4096:
            _REGEX_CACHE.clear()
        found = _REGEX_CACHE[pattern] = re.compile(pattern)
    return found


def parse_matchers(raw: Iterable[Mapping[str, Any]]) -> tuple[Matcher, ...]:
    """Matchers as stored (dicts); they were validated when saved (see schemas.MatcherIn)."""
    return tuple(Matcher(str(m["name"]), MatchOp(m["op"]), str(m["value"])) for m in raw)


def all_match(matchers: Iterable[Matcher], subject: Mapping[str, str]) -> bool:
    return all(m.matches(subject) for m in matchers)


def subject_of(event: InboundEvent) -> dict[str, str]:
    """What matchers look at: the labels (as strings) and the event fields."""
    subject = {str(name): _text(value) for name, value in event.labels.items()}
    subject.update(
        {
            "event.summary": event.summary,
            "event.source": event.source or "",
            "event.severity": event.severity.value,
            "event.dedup_key": event.dedup_key,
        }
    )
    return subject


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


# --- routes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """Where an alert goes. `rule_id` is the first rule that matched (the catch-all's when
    none did); `matched_rule_ids` every rule that contributed, in order."""

    rule_id: int
    rule_name: str
    matched_rule_ids: tuple[int, ...]
    service_id: int | None
    escalation_policy: str | None
    severity_override: IncidentSeverity | None
    unrouted_reason: str | None

    @property
    def routed(self) -> bool:
        return self.unrouted_reason is None


def route(rules: Sequence[RoutingRule], subject: Mapping[str, str]) -> Route:
    """Walk the rules in order. Each matching rule fills the choices still open (service,
    escalation policy, severity) and stops the walk unless it says continue; the catch-all
    then fills whatever is left. Only the catch-all matching, or a route that names no
    escalation policy, is unrouted: nobody would be paged."""
    catch_all = next((r for r in rules if r.is_catch_all), None)
    if catch_all is None:
        raise ValueError("an integration always has a catch-all rule")
    matched: list[RoutingRule] = []
    for rule in sorted((r for r in rules if not r.is_catch_all), key=lambda r: r.position):
        if all_match(parse_matchers(rule.matchers), subject):
            matched.append(rule)
            if not rule.continue_matching:
                break
    chosen = [*matched, catch_all]
    service_id = next((r.service_id for r in chosen if r.service_id is not None), None)
    policy = next((r.escalation_policy for r in chosen if r.escalation_policy), None)
    severity = next((r.severity_override for r in chosen if r.severity_override), None)
    first = matched[0] if matched else catch_all
    return Route(
        rule_id=first.id,
        rule_name=first.name,
        matched_rule_ids=tuple(r.id for r in chosen),
        service_id=service_id,
        escalation_policy=policy,
        severity_override=IncidentSeverity(severity) if severity else None,
        unrouted_reason=_unrouted_reason(matched, policy),
    )


def _unrouted_reason(matched: Sequence[RoutingRule], policy: str | None) -> str | None:
    if not matched:
        return "matched no routing rule: it landed on the catch-all"
    if policy is None:
        names = ", ".join(repr(r.name) for r in matched)
        return f"route {names} names no escalation policy: nobody would be paged"
    return None


def incident_severity(
    alert_severity: Severity, severity_map: Mapping[str, str], override: IncidentSeverity | None
) -> IncidentSeverity:
    """The severity of an incident an alert opens: the route's override, else the
    integration's map, else the default map."""
    if override is not None:
        return override
    mapped = severity_map.get(alert_severity.value)
    return IncidentSeverity(mapped) if mapped else DEFAULT_SEVERITY_MAP[alert_severity]


# --- silences ----------------------------------------------------------------------------


def covering_silence(
    silences: Iterable[Silence], subject: Mapping[str, str], service_id: int | None
) -> Silence | None:
    """The first active silence that covers this alert (the caller passes only silences
    whose window includes now)."""
    for silence in sorted(silences, key=lambda s: s.id):
        if silence.service_id is not None and silence.service_id != service_id:
            continue
        if all_match(parse_matchers(silence.matchers), subject):
            return silence
    return None


def grouping_key(service_id: int | None, labels: Sequence[str], subject: Mapping[str, str]) -> str:
    """Alerts with the same key join the same open incident: the service, plus the values
    of the integration's grouping labels."""
    parts = [f"service={service_id if service_id is not None else '-'}"]
    parts += [f"{name}={subject.get(name, '')}" for name in labels]
    return "|".join(parts)[:512]


# --- matchers as text ------------------------------------------------------------------------

# `name op "value"` as Alertmanager and amtool write them; the value may be unquoted.
_MATCHER_TEXT = re.compile(
    r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_.]*)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>.*?)\s*$"
)


# Inside quotes, \" is a quote and \\ a backslash; any other backslash stays as written,
# so a regex reads as typed ("db\.example").
_QUOTED_VALUE = re.compile(r'"((?:[^"\\]|\\.)*)"', re.DOTALL)
_ESCAPED = re.compile(r'\\(["\\])')


class MatcherSyntaxError(ValueError):
    pass


def parse_matcher_text(text: str) -> dict[str, str]:
    """One matcher from text such as `team=~"db|dba"` or `severity!=info`, as the dict the
    API takes; the API's validation then checks the name and the regex."""
    found = _MATCHER_TEXT.match(text)
    if found is None:
        raise MatcherSyntaxError(
            f"{text.strip()!r} is not a matcher: write name=value, name!=value, "
            'name=~"regex" or name!~"regex"'
        )
    value = found["value"]
    if value.startswith('"'):
        quoted = _QUOTED_VALUE.fullmatch(value)
        if quoted is None:
            # `team="db` or `team="db" env="prod"` would otherwise store a value nobody meant.
            raise MatcherSyntaxError(
                f'{text.strip()!r}: a quoted value ends at its closing quote; write \\" for a '
                "quote inside it, and separate matchers with commas or lines"
            )
        value = _ESCAPED.sub(r"\1", quoted.group(1))
    return {"name": found["name"], "op": found["op"], "value": value}


def parse_matcher_lines(text: str) -> list[dict[str, str]]:
    """Matchers, one per line or separated by commas outside quotes; blank lines skipped."""
    return [parse_matcher_text(part) for part in _split_matchers(text) if part.strip()]


def _split_matchers(text: str) -> list[str]:
    parts, current, quoted, escaped = [], [], False, False
    for char in text:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == '"':
            current.append(char)
            quoted = not quoted
        elif char in ",\n" and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts
