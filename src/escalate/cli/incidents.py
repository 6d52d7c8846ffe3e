"""`escalate incident ack N` and `escalate incident resolve N`: N is the incident's number
(what people say out loud). The CLI operator acts, or with `--as EMAIL` that person (the
timeline then names them, as it would from the pages)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from escalate.auth import service as auth_service
from escalate.auth.permissions import CLI_OPERATOR, Actor
from escalate.cli import output
from escalate.cli.runtime import handle_errors, note, open_container, unit_of_work
from escalate.clock import Clock
from escalate.incidents import lifecycle
from escalate.incidents import service as incident_service
from escalate.incidents.models import Incident
from escalate.incidents.schemas import IncidentDetail

NumberArgument = Annotated[int, typer.Argument(metavar="N", help="The incident's number.")]
AsOption = Annotated[
    str | None, typer.Option("--as", help="Act as this person (their e-mail).", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")]

Act = Callable[..., Incident]


def _act(act: Act, number: int, as_user: str | None, as_json: bool, done: str) -> None:
    with open_container() as container, unit_of_work(container) as session:
        actor = _actor(session, as_user)
        session.info["actor"] = actor
        incident = incident_service.get_incident_by_number(session, actor=actor, number=number)
        changed = _run(act, session, container.clock, actor, incident)
        read = IncidentDetail.model_validate(changed)
    if as_json:
        output.emit_json(read)
        return
    note(f"Incident #{read.number} {done} ({read.status.value}).")


def _run(act: Act, session: Session, clock: Clock, actor: Actor, incident: Incident) -> Incident:
    via = "the CLI" if actor.user_id is not None else None  # "by cli" says it already
    return act(session, clock, actor=actor, incident_id=incident.id, via=via)


def _actor(session: Session, as_user: str | None) -> Actor:
    if as_user is None:
        return CLI_OPERATOR
    return auth_service.actor_for(auth_service.require_by_email(session, email=as_user))


def register(incident_app: typer.Typer) -> None:
    """Add `ack` and `resolve` to `escalate incident`."""
    incident_app.command("ack")(acknowledge)
    incident_app.command("resolve")(resolve)


@handle_errors(options={"email": "--as", "number": "N", "status": "N"})
def acknowledge(
    number: NumberArgument, as_user: AsOption = None, as_json: JsonOption = False
) -> None:
    """Acknowledge incident N: escalation stops. Already acknowledged: nothing changes."""
    _act(lifecycle.acknowledge, number, as_user, as_json, "acknowledged")


@handle_errors(options={"email": "--as", "number": "N", "status": "N"})
def resolve(number: NumberArgument, as_user: AsOption = None, as_json: JsonOption = False) -> None:
    """Resolve incident N: everything stops. Already resolved: exit 1."""
    _act(lifecycle.resolve, number, as_user, as_json, "resolved")
