"""`escalate incident declare|ack|resolve|status|reopen|role|note ...`: N is the incident's
number (what people say out loud). The CLI operator acts, or with `--as EMAIL` that person
(the timeline then names them, as it would from the pages)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from escalate.auth import service as auth_service
from escalate.auth.permissions import Actor
from escalate.cli import output
from escalate.cli.incident_options import (
    AsOption,
    JsonOption,
    NumberArgument,
    acting_as,
    error_options,
)
from escalate.cli.runtime import handle_errors, note, open_container, unit_of_work
from escalate.clock import Clock
from escalate.incidents import lifecycle, reads, roles
from escalate.incidents import service as incident_service
from escalate.incidents.models import Incident, IncidentSeverity, IncidentStatus
from escalate.incidents.schemas import IncidentDeclare, IncidentEventRead, NoteIn
from escalate.oncall import policies as policy_service

Act = Callable[..., Incident]


def _act(act: Act, number: int, as_user: str | None, as_json: bool, done: str) -> None:
    with open_container() as container, unit_of_work(container) as session:
        actor = acting_as(session, as_user)
        incident = incident_service.get_incident_by_number(session, actor=actor, number=number)
        changed = _run(act, session, container.clock, actor, incident)
        read = reads.detail(session, changed)
    if as_json:
        output.emit_json(read)
        return
    note(f"Incident #{read.number} {done} ({read.status.value}).")


def _run(act: Act, session: Session, clock: Clock, actor: Actor, incident: Incident) -> Incident:
    via = "the CLI" if actor.user_id is not None else None  # "by cli" says it already
    return act(session, clock, actor=actor, incident_id=incident.id, via=via)


def register(incident_app: typer.Typer) -> None:
    """Add the lifecycle commands to `escalate incident`."""
    incident_app.command("declare")(declare)
    incident_app.command("ack")(acknowledge)
    incident_app.command("resolve")(resolve)
    incident_app.command("status")(change_status)
    incident_app.command("reopen")(reopen)
    incident_app.command("role")(assign_role)
    incident_app.command("note")(add_note)


@handle_errors(options=error_options(status="N"))
def acknowledge(
    number: NumberArgument, as_user: AsOption = None, as_json: JsonOption = False
) -> None:
    """Acknowledge incident N: escalation stops. Already acknowledged: nothing changes."""
    _act(lifecycle.acknowledge, number, as_user, as_json, "acknowledged")


@handle_errors(options=error_options(status="N"))
def resolve(number: NumberArgument, as_user: AsOption = None, as_json: JsonOption = False) -> None:
    """Resolve incident N: everything stops. Already resolved: exit 1."""
    _act(lifecycle.resolve, number, as_user, as_json, "resolved")


StatusArgument = Annotated[IncidentStatus, typer.Argument(metavar="STATUS", help="The new status.")]
NoteOption = Annotated[str | None, typer.Option("--note", help="Why, for the timeline.")]


@handle_errors(options=error_options(status="STATUS"))
def change_status(
    number: NumberArgument,
    status: StatusArgument,
    reason: NoteOption = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Move incident N to STATUS (forward, or from monitoring back). Resolved: use reopen."""

    def act(
        session: Session, clock: Clock, *, actor: Actor, incident_id: int, via: str | None
    ) -> Incident:
        return lifecycle.transition(session, clock, actor, incident_id, status, reason, via=via)

    _act(act, number, as_user, as_json, f"is {status.value}")


@handle_errors(options=error_options(status="STATUS"))
def reopen(
    number: NumberArgument,
    status: Annotated[IncidentStatus, typer.Argument(metavar="STATUS")] = (
        IncidentStatus.INVESTIGATING
    ),
    reason: NoteOption = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reopen resolved incident N (into investigating unless STATUS says otherwise)."""

    def act(
        session: Session, clock: Clock, *, actor: Actor, incident_id: int, via: str | None
    ) -> Incident:
        return lifecycle.reopen(session, clock, actor, incident_id, status, reason)

    _act(act, number, as_user, as_json, "reopened")


# The person taking the role is PERSON: their unknown e-mail ("email") or user ("user").
@handle_errors(options=error_options(role="ROLE", email="PERSON", user="PERSON"))
def assign_role(
    number: NumberArgument,
    role: Annotated[
        str, typer.Argument(metavar="ROLE", help="commander, communications_lead, ...")
    ],
    email: Annotated[
        str, typer.Argument(metavar="PERSON", help="Who takes the role (their e-mail).")
    ],
    as_user: AsOption = None,
) -> None:
    """Give ROLE on incident N to PERSON (the holder hands it over)."""
    with open_container() as container, unit_of_work(container) as session:
        actor = acting_as(session, as_user)
        incident = incident_service.get_incident_by_number(session, actor=actor, number=number)
        user = auth_service.require_by_email(session, email=email)
        assigned = roles.assign(
            session,
            container.clock,
            actor=actor,
            incident_id=incident.id,
            role=role,
            user_id=user.id,
        )
        name = assigned.role
    note(f"Incident #{number}: {user.name} is {name.replace('_', ' ')}.")


@handle_errors(options=error_options(escalation_policy="--policy"))
def declare(
    title: Annotated[str, typer.Option(help="What is wrong, in a line.")],
    severity: Annotated[IncidentSeverity, typer.Option(help="SEV1 (critical) to SEV4 (low).")],
    service: Annotated[
        str | None, typer.Option(help="The affected service (name or id).", show_default=False)
    ] = None,
    policy: Annotated[
        str | None,
        typer.Option(help="Page this escalation policy (its name).", show_default=False),
    ] = None,
    description: Annotated[
        str | None, typer.Option(help="More detail for responders.", show_default=False)
    ] = None,
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """Declare an incident by hand (what POST /api/v1/incidents does): its affected accounts
    and checklist come at once; with --policy it is paged like a routed alert's."""
    data = IncidentDeclare(
        title=title,
        severity=severity,
        service=service,
        escalation_policy=policy,
        description=description,
    )
    with open_container() as container, unit_of_work(container) as session:
        actor = acting_as(session, as_user)
        if data.escalation_policy is not None:
            found = policy_service.require_by_name(
                session, name=data.escalation_policy, field="escalation_policy"
            )
            data = data.model_copy(update={"escalation_policy": found.name})
        incident = lifecycle.declare(session, container.clock, actor=actor, data=data)
        read = reads.detail(session, incident)
    if as_json:
        output.emit_json(read)
        return
    typer.echo(read.number)
    affected = len(read.affected_accounts)
    note(
        f"Incident #{read.number} declared ({read.severity.value}): {read.title}; "
        f"{affected} affected account{'' if affected == 1 else 's'}"
        + (f"; paging {read.escalation_policy}." if read.escalation_policy else ".")
    )


@handle_errors(options=error_options(text="--message"))
def add_note(
    number: NumberArgument,
    message: Annotated[
        str, typer.Option(help="The note (up to 10,000 characters); '-' reads it from stdin.")
    ],
    as_user: AsOption = None,
    as_json: JsonOption = False,
) -> None:
    """An internal note on incident N's timeline: for responders, never shown to customers."""
    data = NoteIn(text=sys.stdin.read() if message == "-" else message)
    with open_container() as container, unit_of_work(container) as session:
        actor = acting_as(session, as_user)
        incident = incident_service.get_incident_by_number(session, actor=actor, number=number)
        event = lifecycle.add_note(session, container.clock, actor, incident.id, data.text)
        read = IncidentEventRead.model_validate(event)
    if as_json:
        output.emit_json(read)
        return
    note(f"Note {read.id} added to incident #{number} by {read.actor_label}.")
