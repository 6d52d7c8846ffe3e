"""`escalate incident sla N [--account NAME]`: incident N's SLA clocks per affected
account, as of now (what `GET /api/v1/incidents/{id}/sla` answers)."""

from __future__ import annotations

from typing import Annotated

import typer

from escalate import formatting
from escalate.accounts import service as account_service
from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.runtime import handle_errors, open_container, unit_of_work
from escalate.incidents import service as incident_service
from escalate.pagination import MAX_LIMIT, PageParams
from escalate.sla import reads as sla_reads
from escalate.sla.schemas import SlaClockRead


def register(incident_app: typer.Typer) -> None:
    """Add `sla` to `escalate incident`."""
    incident_app.command("sla")(show_clocks)


@handle_errors(options={"number": "N", "incident_id": "N", "account_id": "--account"})
def show_clocks(
    number: Annotated[int, typer.Argument(metavar="N", help="The incident's number.")],
    account: Annotated[
        str | None, typer.Option(help="Only this account's clocks (its name).", show_default=False)
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")] = False,
) -> None:
    """Incident N's SLA clocks: acknowledgement, each customer update, resolution, per
    affected account, with how late a broken promise is (an open one as of now)."""
    with open_container() as container, unit_of_work(container) as session:
        incident = incident_service.get_incident_by_number(
            session, actor=CLI_OPERATOR, number=number
        )
        account_id = (
            account_service.require_by_name(session, actor=CLI_OPERATOR, name=account).id
            if account
            else None
        )
        page = sla_reads.list_for_incident(
            session,
            container.clock,
            actor=CLI_OPERATOR,
            incident_id=incident.id,
            page=PageParams(limit=MAX_LIMIT, offset=0),
            account_id=account_id,
        )
        clocks = [SlaClockRead.model_validate(v) for v in page.items]
    if as_json:
        output.emit_page(clocks, page.total)
        return
    output.show(
        output.table(
            f"SLA clocks of incident #{number}",
            ["account", "clock", "target", "due", "met", "status", "late"],
            (
                [
                    c.account_name,
                    c.label,
                    formatting.duration(c.target_minutes),
                    output.when(c.due_at),
                    output.when(c.met_at) if c.met_at else "-",
                    c.status.value,
                    f"{c.late_minutes} min" if c.late_minutes else "-",
                ]
                for c in clocks
            ),
        )
    )
    output.page_footer(len(clocks), page.total, 0)
