"""`escalate incident update N --kind investigating --audience customers --message ...`:
post a status update to incident N (its number), or with `--preview` show what each
audience would receive without sending anything."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from escalate.auth import service as auth_service
from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.runtime import handle_errors, note, open_container, unit_of_work
from escalate.incidents import service as incident_service
from escalate.incidents import updates as update_service
from escalate.incidents.models import Audience, IncidentStatus, UpdateKind
from escalate.incidents.update_schemas import UpdateCreate, UpdateRead


def register(incident_app: typer.Typer) -> None:
    """Add `update` to `escalate incident`."""
    incident_app.command("update")(post_update)


@handle_errors(options={"number": "N", "incident_id": "N", "email": "--as"})
def post_update(
    number: Annotated[int, typer.Argument(metavar="N", help="The incident's number.")],
    kind: Annotated[UpdateKind, typer.Option(help="The update's template kind.")],
    audience: Annotated[Audience, typer.Option(help="Who receives it.")],
    message: Annotated[
        str, typer.Option(help="The text (1 to 10,000 characters); '-' reads it from stdin.")
    ],
    status: Annotated[
        IncidentStatus | None,
        typer.Option(help="The status it reports (default: from the kind).", show_default=False),
    ] = None,
    preview: Annotated[
        bool, typer.Option("--preview", help="Show what each audience would get; send nothing.")
    ] = False,
    as_user: Annotated[
        str | None, typer.Option("--as", help="Post as this person (their e-mail).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")] = False,
) -> None:
    """Post a status update to incident N; customer and public ones are e-mailed to every
    notification contact of the affected accounts. A resolved incident: exit 1."""
    text = sys.stdin.read() if message == "-" else message
    data = UpdateCreate(kind=kind, audience=audience, message=text, status=status)
    with open_container() as container, unit_of_work(container) as session:
        actor = (
            auth_service.actor_for(auth_service.require_by_email(session, email=as_user))
            if as_user
            else CLI_OPERATOR
        )
        session.info["actor"] = actor
        incident = incident_service.get_incident_by_number(session, actor=actor, number=number)
        if preview:
            shown = update_service.preview(
                session,
                container.clock,
                container.settings,
                actor=actor,
                incident_id=incident.id,
                data=data,
            )
            session.rollback()
            output.emit_json(shown)
            return
        update = update_service.post_update(
            session,
            container.clock,
            container.settings,
            actor=actor,
            incident_id=incident.id,
            data=data,
        )
        deliveries = update_service.deliveries_of(session, [update.id])[update.id]
        read = UpdateRead.model_validate(update)
    if as_json:
        output.emit_json(read)
        return
    note(
        f"Update {read.id} posted to incident #{number} ({read.audience.value}); "
        f"{len(deliveries)} contact(s) e-mailed."
    )
