"""`escalate incident checklist N` and `escalate incident check N ITEM_ID [--undo]`: the
incident's response checklist, and ticking an item by hand (as the incident page does)."""

from __future__ import annotations

from typing import Annotated

import typer

from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.incident_options import (
    AsOption,
    JsonOption,
    NumberArgument,
    acting_as,
    error_options,
    names_of,
)
from escalate.cli.incident_views import checklist_table
from escalate.cli.runtime import handle_errors, note, open_container, unit_of_work
from escalate.incidents import checklists
from escalate.incidents import service as incident_service
from escalate.incidents.schemas import ChecklistItemRead, ComplianceRead


def register(incident_app: typer.Typer) -> None:
    """Add `checklist` and `check` to `escalate incident`."""
    incident_app.command("checklist")(show_checklist)
    incident_app.command("check")(check_item)


@handle_errors(options=error_options())
def show_checklist(number: NumberArgument, as_json: JsonOption = False) -> None:
    """Incident N's checklist: each item's due time, when and by whom it was done, and its
    outcome (on_time, late by how much, missed, pending, done). JSON: the API's
    /checklist/compliance page."""
    with open_container() as container, unit_of_work(container) as session:
        incident = incident_service.get_incident_by_number(
            session, actor=CLI_OPERATOR, number=number
        )
        items = [
            ComplianceRead.model_validate(c) for c in checklists.compliance(session, incident.id)
        ]
        names = names_of(session, (i.done_by_user_id for i in items))
    if as_json:
        output.emit_page(items, len(items))
        return
    output.show(checklist_table(f"Checklist of incident #{number}", items, names))


@handle_errors(options=error_options(item_id="ITEM_ID"))
def check_item(
    number: NumberArgument,
    item_id: Annotated[
        int, typer.Argument(metavar="ITEM_ID", help="The item's id (see `checklist N`).")
    ],
    undo: Annotated[bool, typer.Option("--undo", help="Untick it instead.")] = False,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Tick checklist item ITEM_ID of incident N (ticking a done one keeps its first time),
    or untick it with --undo."""
    with open_container() as container, unit_of_work(container) as session:
        actor = acting_as(session, as_user)
        incident = incident_service.get_incident_by_number(session, actor=actor, number=number)
        item = checklists.mark(
            session,
            container.clock,
            actor=actor,
            incident_id=incident.id,
            item_id=item_id,
            done=not undo,
        )
        read = ChecklistItemRead.model_validate(item)
    if as_json:
        output.emit_json(read)
        return
    note(f"Incident #{number}: {read.title!r} is {'done' if read.done_at else 'not done'}.")
