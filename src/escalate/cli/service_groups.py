"""`escalate service-group list|show|create|update|delete`: the groups of services each
public status page (`/status/<slug>`) shows. A group is named by its slug, name or id."""

from __future__ import annotations

from typing import Annotated

import typer

from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.runtime import handle_errors, note, open_container, unit_of_work
from escalate.pagination import MAX_LIMIT, PageParams
from escalate.statuspage import groups as group_service
from escalate.statuspage.schemas import ServiceGroupCreate, ServiceGroupRead, ServiceGroupUpdate

service_group_app = typer.Typer(
    help="Service groups: which services each public status page shows.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")]
GroupArgument = Annotated[
    str, typer.Argument(metavar="GROUP", help="The group's slug, name or id.")
]
ServicesOption = Annotated[
    list[str] | None,
    typer.Option("--service", help="A member service (name or id), repeated in page order."),
]
# Domain field names shown as this command's options.
OPTIONS = {"group": "GROUP", "services": "--service", "is_public": "--public/--private"}


@service_group_app.command("list")
@handle_errors()
def list_groups(
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Rows to show.")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Rows to skip.")] = 0,
) -> None:
    """Groups in page order."""
    with open_container() as container, unit_of_work(container) as session:
        page = group_service.list_groups(
            session, actor=CLI_OPERATOR, page=PageParams(limit=limit, offset=offset)
        )
        items = group_service.to_reads(session, page.items)
    if as_json:
        output.emit_page(items, page.total)
        return
    output.show(
        output.table(
            "Service groups",
            ["id", "name", "slug", "public", "position", "services"],
            ([g.id, g.name, g.slug, g.is_public, g.position, ", ".join(g.services)] for g in items),
        )
    )
    output.page_footer(len(items), page.total, offset)


@service_group_app.command("show")
@handle_errors(options=OPTIONS)
def show_group(group: GroupArgument, as_json: JsonOption = False) -> None:
    """One group with its services."""
    with open_container() as container, unit_of_work(container) as session:
        read = group_service.to_read(
            session, group_service.find_by_slug_or_id(session, actor=CLI_OPERATOR, key=group)
        )
    if as_json:
        output.emit_json(read)
        return
    _show(read)


@service_group_app.command("create")
@handle_errors(options=OPTIONS)
def create_group(
    name: Annotated[str, typer.Option(help="The group's name (the page's title).")],
    slug: Annotated[str, typer.Option(help="Its page's address: /status/<slug>.")],
    service: ServicesOption = None,
    description: Annotated[str | None, typer.Option(help="Shown under the title.")] = None,
    public: Annotated[bool, typer.Option("--public/--private", help="Shown publicly.")] = True,
    position: Annotated[int, typer.Option(help="Order among the groups.")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Create a group; prints it."""
    data = ServiceGroupCreate(
        name=name,
        slug=slug,
        description=description,
        is_public=public,
        position=position,
        services=service or [],
    )
    with open_container() as container, unit_of_work(container) as session:
        created = group_service.to_read(
            session, group_service.create(session, actor=CLI_OPERATOR, data=data)
        )
    if as_json:
        output.emit_json(created)
        return
    output.show(f"Created service group {created.name} (id {created.id}): /status/{created.slug}")


@service_group_app.command("update")
@handle_errors(options=OPTIONS)
def update_group(
    group: GroupArgument,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    slug: Annotated[str | None, typer.Option(help="A new page address.")] = None,
    service: ServicesOption = None,
    no_services: Annotated[
        bool, typer.Option("--no-services", help="Remove every member service.")
    ] = False,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    public: Annotated[
        bool | None, typer.Option("--public/--private", help="Shown publicly or not.")
    ] = None,
    position: Annotated[int | None, typer.Option(help="Order among the groups.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a group; `--service` (repeated) replaces its members."""
    changes: dict[str, object] = {
        key: value
        for key, value in {
            "name": name,
            "slug": slug,
            "description": description,
            "is_public": public,
            "position": position,
        }.items()
        if value is not None
    }
    if service:
        changes["services"] = service
    elif no_services:
        changes["services"] = []
    data = ServiceGroupUpdate.model_validate(changes)
    with open_container() as container, unit_of_work(container) as session:
        found = group_service.find_by_slug_or_id(session, actor=CLI_OPERATOR, key=group)
        group_service.update(session, actor=CLI_OPERATOR, group=found, data=data)
        read = group_service.to_read(session, found)
    if as_json:
        output.emit_json(read)
        return
    _show(read)


@service_group_app.command("delete")
@handle_errors(options=OPTIONS)
def delete_group(group: GroupArgument) -> None:
    """Delete a group: its status page and its e-mail subscribers."""
    with open_container() as container, unit_of_work(container) as session:
        found = group_service.find_by_slug_or_id(session, actor=CLI_OPERATOR, key=group)
        name = found.name
        group_service.delete(session, actor=CLI_OPERATOR, group=found)
    note(f"Service group {name} deleted.")


def _show(read: ServiceGroupRead) -> None:
    visibility = "public" if read.is_public else "private"
    output.show(
        output.table(
            f"{read.name} (/status/{read.slug}, {visibility}, position {read.position})",
            ["position", "service id", "service"],
            (
                [i + 1, sid, name]
                for i, (sid, name) in enumerate(zip(read.service_ids, read.services, strict=True))
            ),
        )
    )
    if read.description:
        output.show(read.description)
