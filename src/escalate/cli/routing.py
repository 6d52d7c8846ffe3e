"""`escalate routing ...`, `escalate silence ...` and `escalate incident ...`: where alerts
go, what is quiet, and the incidents they open."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from escalate.accounts import service as account_service
from escalate.alerts import routing
from escalate.alerts import rules as rule_service
from escalate.alerts import silences as silence_service
from escalate.alerts.models import Severity, SilenceKind
from escalate.alerts.schemas import (
    RouteTest,
    RoutingRuleCreate,
    RoutingRuleRead,
    SampleAlert,
    SilenceCreate,
    SilenceRead,
)
from escalate.alerts.silences import SilenceState
from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.runtime import fail, handle_errors, note, open_container, unit_of_work
from escalate.formatting import parse_duration
from escalate.incidents import service as incident_service
from escalate.incidents.models import IncidentSeverity, IncidentStatus
from escalate.incidents.schemas import IncidentRead
from escalate.oncall import escalation
from escalate.pagination import MAX_LIMIT, PageParams

routing_app = typer.Typer(
    help="Routing rules: which service and escalation policy an alert goes to.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
silence_app = typer.Typer(
    help="Silences and maintenance windows: alerts kept, but quiet.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
incident_app = typer.Typer(
    help="Incidents: declare them, respond, post updates, review.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")]
LimitOption = Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Rows to show.")]
OffsetOption = Annotated[int, typer.Option(min=0, help="Rows to skip.")]
IntegrationArgument = Annotated[
    str, typer.Argument(metavar="INTEGRATION", help="The integration's name or id.")
]
MatchOption = Annotated[
    list[str] | None,
    typer.Option(
        "--match", help='A matcher such as team=~"db|dba" (repeat the option for several).'
    ),
]


def _matchers(texts: list[str] | None) -> list[dict[str, str]]:
    try:
        return [routing.parse_matcher_text(text) for text in texts or []]
    except routing.MatcherSyntaxError as exc:
        fail(str(exc), field="--match")


def _service_id(session: Any, name: str | None) -> int | None:
    return None if name is None else account_service.service_id_for(session, name)


# --- routing -------------------------------------------------------------------------------


@routing_app.command("test")
@handle_errors(options={"labels": "--label", "payload": "--payload-file"})
def test_route(
    integration: IntegrationArgument,
    label: Annotated[
        list[str] | None, typer.Option(help="A label as name=value (repeat for several).")
    ] = None,
    summary: Annotated[str, typer.Option(help="The alert's summary.")] = "Test alert",
    severity: Annotated[Severity, typer.Option(help="The alert's severity.")] = Severity.ERROR,
    source: Annotated[str | None, typer.Option(help="The alert's source.")] = None,
    payload_file: Annotated[
        Path | None,
        typer.Option(help="A body as the integration's tool sends it (instead of --label ...)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Where would this alert go right now? Writes nothing."""
    if payload_file is not None:
        try:
            payload = json.loads(payload_file.read_text())
        except (OSError, ValueError) as exc:
            fail(f"cannot read {payload_file}: {exc}", field="--payload-file")
        data = RouteTest(integration=integration, payload=payload)
    else:
        labels = {}
        for item in label or []:
            name, sep, value = item.partition("=")
            if not sep or not name.strip():
                fail(f"{item!r} is not name=value", field="--label")
            labels[name.strip()] = value.strip()
        sample = SampleAlert(summary=summary, severity=severity, source=source, labels=labels)
        data = RouteTest(integration=integration, alert=sample)
    with open_container() as container, unit_of_work(container) as session:
        result = rule_service.test_route(session, container.clock, actor=CLI_OPERATOR, data=data)
        result = escalation.with_people(session, container.clock, result)
    if as_json:
        output.emit_json(result)
        return
    rows: list[list[Any]] = [
        ["rule", result.rule.name],
        ["matched", ", ".join(r.name for r in result.matched_rules)],
        ["service", result.service.name if result.service else "(none)"],
        ["escalation policy", result.escalation_policy or "(none)"],
        ["incident severity", result.incident_severity.value],
        ["routed", "yes" if result.routed else f"NO: {result.unrouted_reason}"],
        ["suppressed by silence", result.suppressed_by or "no"],
        ["would join incident", result.would_join_incident or "no, opens a new one"],
        ["would page", ", ".join(result.people) if result.people else "nobody"],
    ]
    output.show(output.table(f"Route for {result.integration.name}", ["", ""], rows))
    if not result.routed:
        raise typer.Exit(1)


@routing_app.command("list")
@handle_errors()
def list_rules(integration: IntegrationArgument, as_json: JsonOption = False) -> None:
    """An integration's rules in the order they are tried; the catch-all is last."""
    with open_container() as container, unit_of_work(container) as session:
        found = rule_service.find_integration(session, actor=CLI_OPERATOR, key=integration)
        page = rule_service.list_rules(
            session, actor=CLI_OPERATOR, integration_id=found.id, page=PageParams(limit=MAX_LIMIT)
        )
        rules = [RoutingRuleRead.model_validate(r) for r in page.items]
    if as_json:
        output.emit_page(rules, page.total)
        return
    output.show(
        output.table(
            f"Routing of {integration}",
            ["id", "#", "name", "matchers", "service", "policy", "severity", "continue"],
            (
                [
                    r.id,
                    "catch-all" if r.is_catch_all else r.position,
                    r.name,
                    ", ".join(f"{m['name']}{m['op']}{json.dumps(m['value'])}" for m in r.matchers),
                    r.service_id,
                    r.escalation_policy,
                    r.severity_override,
                    r.continue_matching,
                ]
                for r in rules
            ),
        )
    )


@routing_app.command("add")
@handle_errors(
    options={
        "matchers": "--match",
        "service_id": "--service",
        "escalation_policy": "--policy",
        "severity_override": "--severity",
        "continue_matching": "--continue",
    }
)
def add_rule(
    integration: IntegrationArgument,
    name: Annotated[str, typer.Option(help="The rule's name.")],
    match: MatchOption = None,
    service: Annotated[str | None, typer.Option(help="Route to this service.")] = None,
    policy: Annotated[str | None, typer.Option(help="Escalation policy to page.")] = None,
    severity: Annotated[
        IncidentSeverity | None, typer.Option(help="Incident severity override.")
    ] = None,
    keep_going: Annotated[
        bool, typer.Option("--continue", help="Keep trying later rules after this one.")
    ] = False,
    position: Annotated[int | None, typer.Option(min=0, help="0 is tried first.")] = None,
) -> None:
    """Add a rule (last before the catch-all unless --position)."""
    with open_container() as container, unit_of_work(container) as session:
        found = rule_service.find_integration(session, actor=CLI_OPERATOR, key=integration)
        data = RoutingRuleCreate.model_validate(
            {
                "name": name,
                "matchers": _matchers(match),
                "service_id": _service_id(session, service),
                "escalation_policy": policy,
                "severity_override": severity,
                "continue_matching": keep_going,
                "position": position,
            }
        )
        rule = rule_service.create_rule(
            session, actor=CLI_OPERATOR, integration_id=found.id, data=data
        )
        rule_id, at = rule.id, rule.position
    typer.echo(rule_id)
    note(f"Rule {name!r} added at position {at}.")


@routing_app.command("delete")
@handle_errors(options={"rule_id": "RULE_ID"})
def delete_rule(rule_id: Annotated[int, typer.Argument(metavar="RULE_ID")]) -> None:
    """Delete a rule (the catch-all cannot be deleted)."""
    with open_container() as container, unit_of_work(container) as session:
        rule_service.delete_rule(session, actor=CLI_OPERATOR, rule_id=rule_id)
    note(f"Rule {rule_id} deleted.")


# --- silences ------------------------------------------------------------------------------


@silence_app.command("create")
@handle_errors(
    options={
        "matchers": "--match",
        "service_id": "--service",
        "ends_at": "--ends/--for",
        "starts_at": "--starts",
    }
)
def create_silence(
    comment: Annotated[str, typer.Option(help="Why: shown to whoever wonders.")],
    duration: Annotated[
        str | None, typer.Option("--for", help="How long from now or --starts, e.g. 2h, 90m.")
    ] = None,
    ends: Annotated[datetime | None, typer.Option(help="When it ends (UTC if no offset).")] = None,
    starts: Annotated[datetime | None, typer.Option(help="When it starts (default now).")] = None,
    match: MatchOption = None,
    service: Annotated[str | None, typer.Option(help="Only alerts of this service.")] = None,
    maintenance: Annotated[
        bool, typer.Option("--maintenance", help="Record it as a maintenance window.")
    ] = False,
) -> None:
    """Silence matching alerts for a while: they are stored, marked suppressed, and open no
    incident. Prints the silence's id."""
    if (duration is None) == (ends is None):
        fail("give either --for or --ends", field="--for")
    with open_container() as container, unit_of_work(container) as session:
        start = _aware(starts) if starts else None
        if duration is not None:
            span = _duration(duration)
            end = (start or container.clock.now()) + span
        else:
            assert ends is not None
            end = _aware(ends)
        data = SilenceCreate.model_validate(
            {
                "kind": SilenceKind.MAINTENANCE if maintenance else SilenceKind.SILENCE,
                "comment": comment,
                "matchers": _matchers(match),
                "service_id": _service_id(session, service),
                "starts_at": start,
                "ends_at": end,
            }
        )
        silence = silence_service.create_silence(
            session, container.clock, actor=CLI_OPERATOR, data=data
        )
        silence_id, until = silence.id, silence.ends_at
    typer.echo(silence_id)
    note(f"Silence {silence_id} until {output.when(until)}.")


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        fail(str(exc), field="--for")


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@silence_app.command("list")
@handle_errors()
def list_silences(
    state: Annotated[SilenceState | None, typer.Option(help="pending, active or expired.")] = None,
    as_json: JsonOption = False,
    limit: LimitOption = 100,
    offset: OffsetOption = 0,
) -> None:
    """Silences, the ones ending soonest first."""
    with open_container() as container, unit_of_work(container) as session:
        page = silence_service.list_silences(
            session,
            container.clock,
            actor=CLI_OPERATOR,
            page=PageParams(limit=limit, offset=offset),
            state=state,
        )
        silences = [SilenceRead.model_validate(s) for s in page.items]
        states = [silence_service.state_of(s, container.clock).value for s in page.items]
    if as_json:
        output.emit_page(silences, page.total)
        return
    output.show(
        output.table(
            "Silences",
            ["id", "state", "kind", "comment", "matchers", "service", "starts", "ends"],
            (
                [
                    s.id,
                    state,
                    s.kind.value,
                    s.comment,
                    ", ".join(f"{m['name']}{m['op']}{json.dumps(m['value'])}" for m in s.matchers),
                    s.service_id,
                    s.starts_at,
                    s.ends_at,
                ]
                for s, state in zip(silences, states, strict=True)
            ),
        )
    )
    output.page_footer(len(silences), page.total, offset)


@silence_app.command("expire")
@handle_errors(options={"silence_id": "SILENCE_ID"})
def expire_silence(silence_id: Annotated[int, typer.Argument(metavar="SILENCE_ID")]) -> None:
    """End a silence now."""
    with open_container() as container, unit_of_work(container) as session:
        silence_service.expire_silence(
            session, container.clock, actor=CLI_OPERATOR, silence_id=silence_id
        )
    note(f"Silence {silence_id} expired.")


# --- incidents -----------------------------------------------------------------------------


@incident_app.command("list")
@handle_errors()
def list_incidents(
    status: Annotated[IncidentStatus | None, typer.Option(help="Only in this state.")] = None,
    as_json: JsonOption = False,
    limit: LimitOption = 100,
    offset: OffsetOption = 0,
) -> None:
    """Incidents, newest first."""
    with open_container() as container, unit_of_work(container) as session:
        page = incident_service.list_incidents(
            session, actor=CLI_OPERATOR, page=PageParams(limit=limit, offset=offset), status=status
        )
        incidents = [IncidentRead.model_validate(i) for i in page.items]
    if as_json:
        output.emit_page(incidents, page.total)
        return
    output.show(
        output.table(
            "Incidents",
            ["#", "severity", "status", "title", "alerts", "opened"],
            (
                [i.number, i.severity.value, i.status.value, i.title, i.alert_count, i.opened_at]
                for i in incidents
            ),
        )
    )
    output.page_footer(len(incidents), page.total, offset)
