"""`escalate incident ack|resolve|status|reopen|role|show N ...`: N is the incident's number
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
from escalate.incidents import checklists, lifecycle, reads, roles
from escalate.incidents import service as incident_service
from escalate.incidents.models import Incident, IncidentStatus
from escalate.incidents.schemas import ComplianceRead, IncidentDetail

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
        read = reads.detail(session, changed)
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
    incident_app.command("status")(change_status)
    incident_app.command("reopen")(reopen)
    incident_app.command("role")(assign_role)
    incident_app.command("show")(show)


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


StatusArgument = Annotated[IncidentStatus, typer.Argument(metavar="STATUS", help="The new status.")]
NoteOption = Annotated[str | None, typer.Option("--note", help="Why, for the timeline.")]


@handle_errors(options={"email": "--as", "number": "N", "status": "STATUS"})
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


@handle_errors(options={"email": "--as", "number": "N", "status": "STATUS"})
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


@handle_errors(options={"email": "--as", "number": "N", "role": "ROLE", "user": "EMAIL"})
def assign_role(
    number: NumberArgument,
    role: Annotated[
        str, typer.Argument(metavar="ROLE", help="commander, communications_lead, ...")
    ],
    email: Annotated[str, typer.Argument(metavar="EMAIL", help="Who takes the role.")],
    as_user: AsOption = None,
) -> None:
    """Give ROLE on incident N to the person with EMAIL (the holder hands it over)."""
    with open_container() as container, unit_of_work(container) as session:
        actor = _actor(session, as_user)
        session.info["actor"] = actor
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


@handle_errors(options={"number": "N"})
def show(number: NumberArgument, as_json: JsonOption = False) -> None:
    """Incident N: status, key times, roles, affected accounts and checklist."""
    with open_container() as container, unit_of_work(container) as session:
        actor = CLI_OPERATOR
        incident = incident_service.get_incident_by_number(session, actor=actor, number=number)
        read = reads.detail(session, incident)
        people = {r.id: r.user_id for r in roles.holders(session, incident_id=incident.id)}
        names = {uid: auth_service.get(session, user_id=uid).name for uid in set(people.values())}
        items = [
            ComplianceRead.model_validate(c) for c in checklists.compliance(session, incident.id)
        ]
    if as_json:
        output.emit_json(
            {
                **read.model_dump(mode="json"),
                "checklist": [i.model_dump(mode="json") for i in items],
            }
        )
        return
    _print(read, names, items)


def _print(read: IncidentDetail, names: dict[int, str], items: list[ComplianceRead]) -> None:
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
    output.show(
        output.table(
            "Checklist",
            ["item", "due", "done", "outcome"],
            [
                (
                    i.title,
                    output.when(i.due_at) if i.due_at else "-",
                    output.when(i.done_at) if i.done_at else "-",
                    i.outcome + (f" ({i.late_minutes} min)" if i.late_minutes else ""),
                )
                for i in items
            ],
        )
    )
