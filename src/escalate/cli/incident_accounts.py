"""`escalate incident affected N` and `escalate incident impact N --account NAME ...`: the
accounts an incident affects, and one account's impact (window, level, users, business
impact), or leaving it out (--exclude) and bringing it back (--include)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from escalate.accounts import service as account_service
from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.incident_options import (
    AsOption,
    JsonOption,
    NumberArgument,
    acting_as,
    error_options,
)
from escalate.cli.runtime import ExitCode, fail, handle_errors, note, open_container, unit_of_work
from escalate.errors import NotFound
from escalate.incidents import affected, reads
from escalate.incidents import service as incident_service
from escalate.incidents.models import ImpactLevel
from escalate.incidents.schemas import ImpactEdit

CLEAR = "none"


def register(incident_app: typer.Typer) -> None:
    """Add `affected` and `impact` to `escalate incident`."""
    incident_app.command("affected")(list_affected)
    incident_app.command("impact")(edit_impact)


@handle_errors(options=error_options())
def list_affected(number: NumberArgument, as_json: JsonOption = False) -> None:
    """The accounts incident N affects (excluded ones left out), with their impact."""
    with open_container() as container, unit_of_work(container) as session:
        incident = incident_service.get_incident_by_number(
            session, actor=CLI_OPERATOR, number=number
        )
        accounts = reads.affected_reads(session, incident.id)
    if as_json:
        output.emit_page(accounts, len(accounts))
        return
    output.show(
        output.table(
            f"Accounts affected by incident #{number}",
            ["account", "level", "impact start", "impact end", "users", "business impact", "how"],
            (
                [
                    a.name,
                    a.impact_level.value,
                    a.impact_start,
                    a.impact_end,
                    a.affected_users,
                    a.business_impact,
                    "derived" if a.derived else "by hand",
                ]
                for a in accounts
            ),
        )
    )


TimeOption = Annotated[
    str | None,
    typer.Option(
        metavar="ISO",
        help=f"An ISO 8601 time (UTC unless it says otherwise); '{CLEAR}' clears it.",
        show_default=False,
    ),
]


@handle_errors(
    options=error_options(
        impact_start="--start",
        impact_end="--end",
        impact_level="--level",
        affected_users="--users",
        business_impact="--business-impact",
    )
)
def edit_impact(
    number: NumberArgument,
    account: Annotated[str, typer.Option(help="The affected account (its name or id).")],
    start: TimeOption = None,
    end: TimeOption = None,
    level: Annotated[
        ImpactLevel | None, typer.Option(help="outage or degraded.", show_default=False)
    ] = None,
    users: Annotated[
        int | None, typer.Option(min=0, help="How many of its users.", show_default=False)
    ] = None,
    business_impact: Annotated[
        str | None,
        typer.Option(
            help=f"What it costs them, in words; '{CLEAR}' clears it.", show_default=False
        ),
    ] = None,
    exclude: Annotated[
        bool | None,
        typer.Option(
            "--exclude/--include",
            help="Leave the account out (it stays out when re-derived), or add it / bring it back.",
            show_default=False,
        ),
    ] = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Edit ACCOUNT's impact on incident N (only the options given change; the window may
    not end before it starts), or --exclude / --include the account."""
    changes = _changes(start, end, level, users, business_impact)
    if not changes and exclude is None:
        fail(
            "nothing to change: give --start, --end, --level, --users, --business-impact, "
            "--exclude or --include",
            code=ExitCode.USAGE,
        )
    with open_container() as container, unit_of_work(container) as session:
        actor = acting_as(session, as_user)
        incident = incident_service.get_incident_by_number(session, actor=actor, number=number)
        found = account_service.find_by_name_or_id(session, actor=actor, key=account)
        if exclude is False:
            affected.add_account(
                session, container.clock, actor=actor, incident_id=incident.id, account=found.name
            )
        listed = affected.list_affected(session, incident_id=incident.id, include_excluded=True)
        if found.id not in {a.row.account_id for a in listed}:
            raise NotFound(
                f"{found.name} is not affected by incident #{number} (--include adds it)",
                field="account",
            )
        if changes:
            affected.edit_impact(
                session,
                container.clock,
                actor=actor,
                incident_id=incident.id,
                account_id=found.id,
                changes=changes,
            )
        if exclude:
            affected.exclude_account(
                session, container.clock, actor=actor, incident_id=incident.id, account_id=found.id
            )
        read = reads.detail(session, incident)
    if as_json:
        output.emit_json(read)
        return
    if exclude is None:
        note(f"Incident #{number}: impact on {found.name} edited.")
    else:
        state = "left out" if exclude else "affected"
        edited = "; its impact edited" if changes else ""
        note(f"Incident #{number}: {found.name} is {state}{edited}.")


def _changes(
    start: str | None,
    end: str | None,
    level: ImpactLevel | None,
    users: int | None,
    business_impact: str | None,
) -> dict[str, Any]:
    """The options given, validated as the API validates its PATCH body (ImpactEdit), with
    'none' clearing and times without an offset taken as UTC."""
    given: dict[str, Any] = {
        key: None if isinstance(value, str) and value.strip().lower() == CLEAR else value
        for key, value in {
            "impact_start": start,
            "impact_end": end,
            "impact_level": level,
            "affected_users": users,
            "business_impact": business_impact,
        }.items()
        if value is not None
    }
    changes = ImpactEdit.model_validate(given).model_dump(exclude_unset=True)
    return {key: _utc(value) for key, value in changes.items()}


def _utc(value: object) -> object:
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
