"""`escalate incident show|timeline N`: one incident as responders read it (key times,
roles, affected accounts with their SLA standing, checklist) and what happened to it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import typer
from rich.table import Table

from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.incident_options import (
    JsonOption,
    LimitOption,
    NumberArgument,
    OffsetOption,
    error_options,
    names_of,
)
from escalate.cli.runtime import handle_errors, open_container, unit_of_work
from escalate.incidents import checklists, lifecycle, reads
from escalate.incidents import service as incident_service
from escalate.incidents.schemas import ComplianceRead, IncidentDetail, IncidentEventRead
from escalate.pagination import PageParams
from escalate.sla import reads as sla_reads


def register(incident_app: typer.Typer) -> None:
    """Add `show` and `timeline` to `escalate incident`."""
    incident_app.command("show")(show)
    incident_app.command("timeline")(timeline)


@handle_errors(options=error_options())
def show(number: NumberArgument, as_json: JsonOption = False) -> None:
    """Incident N: status, key times, roles, affected accounts with a line on their SLA
    clocks, and the checklist (who ticked what)."""
    with open_container() as container, unit_of_work(container) as session:
        actor = CLI_OPERATOR
        incident = incident_service.get_incident_by_number(session, actor=actor, number=number)
        read = reads.detail(session, incident)
        items = [
            ComplianceRead.model_validate(c) for c in checklists.compliance(session, incident.id)
        ]
        names = names_of(
            session, [r.user_id for r in read.roles] + [i.done_by_user_id for i in items]
        )
        sla = sla_summary(
            sla_reads.views_of(session, container.clock, incident=incident),
            sla_reads.accounts_without_clocks(session, incident=incident),
        )
    if as_json:
        output.emit_json(
            {
                **read.model_dump(mode="json"),
                "checklist": [i.model_dump(mode="json") for i in items],
            }
        )
        return
    _print(read, names, items, sla)


def sla_summary(
    views: Sequence[sla_reads.ClockView], unclocked: Sequence[sla_reads.Unclocked]
) -> list[str]:
    """One line per affected account: "TechCorp: 5 clocks, 2 breached, worst 120 min late"
    (or why it has no clocks), by account name."""
    by_account: dict[str, list[sla_reads.ClockView]] = defaultdict(list)
    for v in views:
        by_account[v.account_name].append(v)
    lines = {}
    for name, clocks in by_account.items():
        breached = [c for c in clocks if c.breached]
        line = f"{name}: {len(clocks)} clock{'' if len(clocks) == 1 else 's'}, "
        line += f"{len(breached)} breached"
        worst = max((c.late_minutes or 0 for c in breached), default=0)
        if worst:
            line += f", worst {worst} min late"
        lines[name] = line
    for u in unclocked:
        lines.setdefault(u.account_name, f"{u.account_name}: no SLA clocks ({u.reason})")
    return [lines[name] for name in sorted(lines, key=str.lower)]


def _print(
    read: IncidentDetail, names: dict[int, str], items: list[ComplianceRead], sla: list[str]
) -> None:
    output.show(f"#{read.number} {read.title} [{read.severity.value}, {read.status.value}]")
    times = [
        ("started", read.started_at),
        ("detected", read.detected_at),
        ("acknowledged", read.acknowledged_at),
        ("first customer update", read.first_customer_update_at),
        ("mitigated", read.mitigated_at),
        ("resolved", read.resolved_at),
    ]
    output.show(
        output.table(
            "Key times",
            ["time", "at"],
            [(label, output.when(at) if at else "-") for label, at in times],
        )
    )
    output.show(
        output.table(
            "Roles",
            ["role", "who", "since"],
            [
                (r.role, names.get(r.user_id, r.user_id), output.when(r.assigned_at))
                for r in read.roles
            ],
        )
    )
    output.show(
        output.table(
            "Affected accounts",
            ["account", "level", "impact start", "impact end", "users"],
            [
                (
                    a.name,
                    a.impact_level.value,
                    output.when(a.impact_start) if a.impact_start else "-",
                    output.when(a.impact_end) if a.impact_end else "-",
                    "-" if a.affected_users is None else a.affected_users,
                )
                for a in read.affected_accounts
            ],
        )
    )
    if sla:
        output.show("SLA: " + sla[0], *("     " + line for line in sla[1:]))
    output.show(checklist_table("Checklist", items, names))


def checklist_table(title: str, items: list[ComplianceRead], names: dict[int, str]) -> Table:
    return output.table(
        title,
        ["id", "item", "due", "done", "done by", "outcome"],
        [
            (
                i.item_id,
                i.title,
                output.when(i.due_at) if i.due_at else "-",
                output.when(i.done_at) if i.done_at else "-",
                names.get(i.done_by_user_id) if i.done_by_user_id is not None else None,
                i.outcome + (f" ({i.late_minutes} min)" if i.late_minutes else ""),
            )
            for i in items
        ],
    )


@handle_errors(options=error_options())
def timeline(
    number: NumberArgument,
    as_json: JsonOption = False,
    limit: LimitOption = 100,
    offset: OffsetOption = 0,
) -> None:
    """What happened to incident N, oldest first (internal notes included)."""
    with open_container() as container, unit_of_work(container) as session:
        actor = CLI_OPERATOR
        incident = incident_service.get_incident_by_number(session, actor=actor, number=number)
        page = lifecycle.timeline(
            session,
            actor=actor,
            incident_id=incident.id,
            page=PageParams(limit=limit, offset=offset),
        )
        events = [IncidentEventRead.model_validate(e) for e in page.items]
    if as_json:
        output.emit_page(events, page.total)
        return
    output.show(
        output.table(
            f"Timeline of incident #{number}",
            ["time", "kind", "actor", "summary"],
            ([e.at, e.kind, e.actor_label, e.summary] for e in events),
        )
    )
    output.page_footer(len(events), page.total, offset)
