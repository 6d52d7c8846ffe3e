"""`escalate incident update N --kind investigating --audience customers --message ...`:
post a status update to incident N (its number), or with `--preview` show what each
audience would receive without sending anything."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from escalate.cli import output
from escalate.cli.incident_options import acting_as, error_options
from escalate.cli.runtime import handle_errors, note, open_container, unit_of_work
from escalate.errors import InvalidTransition
from escalate.incidents import service as incident_service
from escalate.incidents import updates as update_service
from escalate.incidents.models import Audience, IncidentStatus, UpdateKind
from escalate.incidents.update_schemas import UpdateCreate, UpdatePreview, UpdateRead


def register(incident_app: typer.Typer) -> None:
    """Add `update` to `escalate incident`."""
    incident_app.command("update")(post_update)


@handle_errors(options=error_options())
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
        actor = acting_as(session, as_user)
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
            if as_json:
                output.emit_json(shown)
            else:
                _print_preview(number, data, shown)
            return
        resolved = incident.status == IncidentStatus.RESOLVED
        try:
            update = update_service.post_update(
                session,
                container.clock,
                container.settings,
                actor=actor,
                incident_id=incident.id,
                data=data,
            )
        except InvalidTransition as exc:
            if resolved and kind != UpdateKind.RESOLVED:
                # Refused for its kind (only a resolution notice may follow), not its status.
                raise InvalidTransition(exc.detail, field="kind") from exc
            raise
        deliveries = update_service.deliveries_of(session, [update.id])[update.id]
        read = UpdateRead.model_validate(update)
    if as_json:
        output.emit_json(read)
        return
    note(
        f"Update {read.id} posted to incident #{number} ({read.audience.value}); "
        f"{len(deliveries)} contact(s) e-mailed."
    )


def _print_preview(number: int, data: UpdateCreate, shown: UpdatePreview) -> None:
    """What each audience would receive, as a person reads it."""
    lines = [f"Preview: {data.kind.value} update to incident #{number}, {shown.audience.value}."]
    if not shown.accounts and shown.audience == Audience.INTERNAL:
        lines.append("Internal: the timeline only; nobody is e-mailed.")
    elif not shown.accounts:
        lines.append("No affected account has a contact to e-mail.")
    for account in shown.accounts:
        lines.append("")
        lines.append(f"== {account.account_name} ==")
        for mail in account.mails:
            lines.append(f"To: {mail.name} <{mail.email}>" if mail.name else f"To: {mail.email}")
            lines.append(f"Subject: {mail.subject}")
            lines.extend(("  " + line).rstrip() for line in mail.body.rstrip("\n").splitlines())
            lines.append("")
    if shown.portal_text is not None:
        lines.append(f"Portal: {shown.portal_text}")
    if shown.public_text is not None:
        lines.append(f"Public status page: {shown.public_text}")
        lines.append(f"Status-page subscribers e-mailed: {shown.subscribers}")
    lines.append("Nothing was sent.")
    output.show(*lines)
