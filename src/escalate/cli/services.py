"""`escalate service ...`: the services the vendor runs, and which accounts use them."""

from __future__ import annotations

from typing import Annotated

import typer

from escalate.accounts import service as account_service
from escalate.accounts.models import Environment
from escalate.accounts.schemas import ServiceCreate, ServiceRead, ServiceUsageIn
from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.runtime import handle_errors, open_container, unit_of_work
from escalate.errors import NotFound
from escalate.pagination import MAX_LIMIT, PageParams

service_app = typer.Typer(
    help="Services the vendor runs (e.g. 'Production API') and the accounts using them.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@service_app.command("create")
@handle_errors()
def create_service(
    name: Annotated[str, typer.Option(help="The service's name.")],
    description: Annotated[str | None, typer.Option(help="What it is.")] = None,
) -> None:
    """Create a service."""
    data = ServiceCreate(name=name, description=description)
    with open_container() as container, unit_of_work(container) as session:
        created = ServiceRead.model_validate(
            account_service.create_service(session, actor=CLI_OPERATOR, data=data)
        )
    output.show(f"Created service {created.name} (id {created.id}).")


@service_app.command("list")
@handle_errors()
def list_services(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")] = False,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Rows to show.")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Rows to skip.")] = 0,
) -> None:
    """List services by name."""
    with open_container() as container, unit_of_work(container) as session:
        page = account_service.list_services(
            session, actor=CLI_OPERATOR, page=PageParams(limit=limit, offset=offset)
        )
        services = [ServiceRead.model_validate(s) for s in page.items]
    if as_json:
        output.emit_page(services, page.total)
        return
    output.show(
        output.table(
            "Services",
            ["id", "name", "description"],
            ([s.id, s.name, s.description] for s in services),
        )
    )
    output.page_footer(len(services), page.total, offset)


@service_app.command("use")
@handle_errors(options={"service_id": "--service"})
def use_service(
    account: Annotated[str, typer.Option(help="The account's name.")],
    service: Annotated[str, typer.Option(help="The service's name.")],
    environment: Annotated[
        Environment, typer.Option(help="Where the account uses it.")
    ] = Environment.PRODUCTION,
) -> None:
    """Record that an account uses a service in an environment."""
    with open_container() as container, unit_of_work(container) as session:
        found = account_service.require_by_name(session, actor=CLI_OPERATOR, name=account)
        used = account_service.get_service_by_name(session, name=service)
        if used is None:
            raise NotFound(f"no service named {service!r}", field="service")
        account_service.add_service_usage(
            session,
            actor=CLI_OPERATOR,
            account=found,
            data=ServiceUsageIn(service_id=used.id, environment=environment),
        )
        message = f"{found.name} uses {used.name} in {environment.value}."
    output.show(message)
