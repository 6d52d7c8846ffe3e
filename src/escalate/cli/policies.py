"""`escalate policy list|show|create`: escalation policies. `create --file` takes the API's
JSON body (see POST /api/v1/escalation-policies)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.runtime import fail, handle_errors, note, open_container, unit_of_work
from escalate.oncall import policies as policy_service
from escalate.oncall.policy_schemas import PolicyCreate, PolicyRead
from escalate.pagination import MAX_LIMIT, PageParams

policy_app = typer.Typer(
    help="Escalation policies: who is paged, in which order, how soon.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")]


@policy_app.command("list")
@handle_errors()
def list_policies(
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Rows to show.")] = 100,
) -> None:
    """Policies by name."""
    with open_container() as container, unit_of_work(container) as session:
        page = policy_service.list_policies(
            session, actor=CLI_OPERATOR, page=PageParams(limit=limit, offset=0)
        )
        items = [policy_service.to_read(p) for p in page.items]
    if as_json:
        output.emit_page(items, page.total)
        return
    output.show(
        output.table(
            "Escalation policies",
            ["id", "name", "steps", "repeat", "first step"],
            ([p.id, p.name, len(p.steps), p.repeat_count, _step_text(p, 0)] for p in items),
        )
    )


@policy_app.command("show")
@handle_errors(options={"policy": "POLICY"})
def show_policy(
    policy: Annotated[str, typer.Argument(metavar="POLICY", help="The policy's name or id.")],
    as_json: JsonOption = False,
) -> None:
    """One policy, step by step."""
    with open_container() as container, unit_of_work(container) as session:
        read = policy_service.to_read(
            policy_service.find_by_name_or_id(session, actor=CLI_OPERATOR, key=policy)
        )
    if as_json:
        output.emit_json(read)
        return
    output.show(
        output.table(
            f"{read.name} (repeats {read.repeat_count} more time(s))",
            ["step", "targets", "then wait"],
            (
                [s.position + 1, _step_text(read, s.position), f"{s.delay_minutes} min"]
                for s in read.steps
            ),
        )
    )


@policy_app.command("create")
@handle_errors(options={"file": "--file"})
def create_policy(
    file: Annotated[Path, typer.Option("--file", help="A JSON file: the API's body.")],
) -> None:
    """Create a policy from a JSON file; prints its id."""
    try:
        body = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        fail(f"cannot read {file}: {exc}", field="--file")
    data = PolicyCreate.model_validate(body)
    with open_container() as container, unit_of_work(container) as session:
        policy = policy_service.create(session, container.clock, actor=CLI_OPERATOR, data=data)
        policy_id, name = policy.id, policy.name
    typer.echo(policy_id)
    note(f"Policy {name} created.")


def _step_text(policy: PolicyRead, index: int) -> str:
    if index >= len(policy.steps):
        return ""
    step = policy.steps[index]
    names = [f"{t.name} ({t.type})" for t in step.targets]
    if step.notify_account_csm:
        names.append("account CSMs")
    return ", ".join(names)
