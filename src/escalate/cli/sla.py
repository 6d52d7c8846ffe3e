"""`escalate sla ...`: SLA policies with their targets and service-credit tiers."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.text import Text

from escalate import formatting
from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.runtime import handle_errors, open_container, unit_of_work
from escalate.errors import NotFound
from escalate.pagination import MAX_LIMIT, PageParams
from escalate.sla import service as sla_service
from escalate.sla.schemas import SlaPolicyRead

sla_app = typer.Typer(
    help="SLA policies: response targets per severity, uptime target, credit tiers.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")]


@sla_app.command("list")
@handle_errors()
def list_policies(
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Rows to show.")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Rows to skip.")] = 0,
) -> None:
    """List SLA policies by name."""
    with open_container() as container, unit_of_work(container) as session:
        page = sla_service.list_policies(
            session, actor=CLI_OPERATOR, page=PageParams(limit=limit, offset=offset)
        )
        policies = [SlaPolicyRead.model_validate(p) for p in page.items]
    if as_json:
        output.emit_page(policies, page.total)
        return
    output.show(
        output.table(
            "SLA policies",
            ["id", "name", "uptime target", "credit cap", "severities"],
            (
                [
                    p.id,
                    p.name,
                    formatting.percent(p.uptime_target_percent, places=1),
                    formatting.percent(p.credit_cap_percent),
                    ", ".join(t.severity.value for t in p.targets),
                ]
                for p in policies
            ),
        )
    )
    output.page_footer(len(policies), page.total, offset)


@sla_app.command("show")
@handle_errors(options={"name": "NAME"})
def show_policy(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The policy's name.")],
    as_json: JsonOption = False,
) -> None:
    """Show an SLA policy: targets per severity and credit tiers."""
    with open_container() as container, unit_of_work(container) as session:
        policy = sla_service.get_by_name(session, name=name)
        if policy is None:
            raise NotFound(f"no SLA policy named {name!r}", field="name")
        read = SlaPolicyRead.model_validate(
            sla_service.read(session, actor=CLI_OPERATOR, policy_id=policy.id)
        )
    if as_json:
        output.emit_json(read)
        return
    output.show(
        Text.assemble(
            (read.name, "bold"),
            f"  (id {read.id})\n",
            f"monthly uptime target {formatting.percent(read.uptime_target_percent, places=1)} · "
            f"credits capped at {formatting.percent(read.credit_cap_percent)} of the month's fee",
        ),
        Text(read.description or "", style="dim"),
        output.table(
            "Targets, from the incident's start",
            ["severity", "acknowledgement", "first update", "update interval", "resolution"],
            (
                [
                    t.severity.value,
                    formatting.duration(t.acknowledgement_minutes),
                    formatting.duration(t.first_update_minutes),
                    formatting.duration(t.update_interval_minutes),
                    formatting.duration(t.resolution_minutes),
                ]
                for t in read.targets
            ),
        ),
        output.table(
            "Service credits",
            ["monthly uptime below", "credit (share of the month's fee)"],
            (
                [
                    formatting.percent(c.below_uptime_percent, places=1),
                    formatting.percent(c.credit_percent),
                ]
                for c in read.credit_tiers
            ),
        ),
    )
