"""`escalate integration ...` and `escalate alert ...`: where alerts come in, and the alerts."""

from __future__ import annotations

from typing import Annotated

import typer

from escalate.accounts import service as account_service
from escalate.alerts import service as alert_service
from escalate.alerts.models import AlertStatus, IntegrationKind
from escalate.alerts.schemas import AlertRead, IntegrationCreate, IntegrationRead
from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.runtime import handle_errors, note, open_container, unit_of_work
from escalate.errors import NotFound
from escalate.pagination import MAX_LIMIT, PageParams

integration_app = typer.Typer(
    help="Integrations: the doors monitoring tools send alerts through, each with a key.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
alert_app = typer.Typer(
    help="Alerts received from monitoring tools.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")]
LimitOption = Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Rows to show.")]
OffsetOption = Annotated[int, typer.Option(min=0, help="Rows to skip.")]
IntegrationIdArgument = Annotated[
    int, typer.Argument(metavar="INTEGRATION_ID", help="The integration's id.")
]


@integration_app.command("create")
@handle_errors(options={"default_service_id": "--service"})
def create_integration(
    kind: Annotated[IntegrationKind, typer.Option(help="What sends to it.")],
    name: Annotated[str, typer.Option(help="The integration's name.")],
    service: Annotated[
        str | None, typer.Option(help="The service its alerts belong to by default (name).")
    ] = None,
) -> None:
    """Create an integration and print its key, alone, on stdout (it is shown this once)."""
    with open_container() as container, unit_of_work(container) as session:
        service_id = None
        if service is not None:
            found = account_service.get_service_by_name(session, name=service)
            if found is None:
                raise NotFound(f"no service named {service!r}", field="service")
            service_id = found.id
        data = IntegrationCreate(name=name, kind=kind, default_service_id=service_id)
        integration, key = alert_service.create_integration(
            session, container.clock, actor=CLI_OPERATOR, data=data
        )
        created = IntegrationRead.model_validate(integration)
    typer.echo(key)
    note(
        f"Integration {created.name!r} (id {created.id}, {created.kind}); "
        "its key is not shown again."
    )


@integration_app.command("list")
@handle_errors()
def list_integrations(
    as_json: JsonOption = False, limit: LimitOption = 100, offset: OffsetOption = 0
) -> None:
    """List integrations by name (never their keys)."""
    with open_container() as container, unit_of_work(container) as session:
        page = alert_service.list_integrations(
            session, actor=CLI_OPERATOR, page=PageParams(limit=limit, offset=offset)
        )
        items = [IntegrationRead.model_validate(i) for i in page.items]
    if as_json:
        output.emit_page(items, page.total)
        return
    output.show(
        output.table(
            "Integrations",
            ["id", "name", "kind", "key", "default service", "active", "created"],
            (
                [
                    i.id,
                    i.name,
                    i.kind.value,
                    i.key_prefix + "…",
                    i.default_service_id,
                    i.is_active,
                    i.created_at,
                ]
                for i in items
            ),
        )
    )
    output.page_footer(len(items), page.total, offset)


@integration_app.command("rotate-key")
@handle_errors(options={"integration_id": "INTEGRATION_ID"})
def rotate_key(integration_id: IntegrationIdArgument) -> None:
    """Give an integration a new key and print it, alone, on stdout; the old one stops
    working at once."""
    with open_container() as container, unit_of_work(container) as session:
        integration, key = alert_service.rotate_key(
            session, container.clock, actor=CLI_OPERATOR, integration_id=integration_id
        )
        name = integration.name
    typer.echo(key)
    note(f"New key for {name!r}; the old key no longer works, and this one is not shown again.")


@alert_app.command("list")
@handle_errors()
def list_alerts(
    status: Annotated[AlertStatus | None, typer.Option(help="Only alerts in this state.")] = None,
    as_json: JsonOption = False,
    limit: LimitOption = 100,
    offset: OffsetOption = 0,
) -> None:
    """List alerts, most recently seen first."""
    with open_container() as container, unit_of_work(container) as session:
        page = alert_service.list_alerts(
            session,
            actor=CLI_OPERATOR,
            page=PageParams(limit=limit, offset=offset),
            status=status,
        )
        alerts = [AlertRead.model_validate(a) for a in page.items]
    if as_json:
        output.emit_page(alerts, page.total)
        return
    output.show(
        output.table(
            "Alerts",
            ["id", "status", "severity", "summary", "count", "dedup key", "last seen"],
            (
                [
                    a.id,
                    a.status.value,
                    a.severity.value,
                    a.summary,
                    a.count,
                    a.dedup_key,
                    a.last_seen_at,
                ]
                for a in alerts
            ),
        )
    )
    output.page_footer(len(alerts), page.total, offset)
