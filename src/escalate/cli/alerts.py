"""`escalate integration ...` and `escalate alert ...`: where alerts come in, and the alerts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from escalate.accounts import service as account_service
from escalate.alerts import service as alert_service
from escalate.alerts.models import AlertStatus, IntegrationKind
from escalate.alerts.schemas import (
    AlertRead,
    GenericMapping,
    IntegrationCreate,
    IntegrationMappingRead,
    IntegrationRead,
    MappingPreview,
    validate_mapping,
)
from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.runtime import ExitCode, fail, handle_errors, note, open_container, unit_of_work
from escalate.errors import NotFound, ValidationFailed
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
IntegrationArgument = Annotated[
    str, typer.Argument(metavar="NAME_OR_ID", help="The integration's name or id.")
]
JsonFileOption = Annotated[
    Path,
    typer.Option("--file", exists=True, dir_okay=False, readable=True, help="A JSON file."),
]
# The domain's field names for the integration, shown as the argument that names it.
INTEGRATION_FIELDS = {"integration": "NAME_OR_ID", "integration_id": "NAME_OR_ID"}

mapping_app = typer.Typer(
    help="How a generic integration reads its JSON (or an e-mail one its mail).",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
integration_app.add_typer(mapping_app, name="mapping")


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


def _read_json(path: Path, option: str) -> Any:
    try:
        return json.loads(path.read_bytes())
    except ValueError as exc:
        raise ValidationFailed(f"{path} is not valid JSON: {exc}", field=option) from None


def _mapping_read(in_use: alert_service.MappingInUse) -> IntegrationMappingRead:
    return IntegrationMappingRead(
        integration_id=in_use.integration.id,
        kind=in_use.integration.kind,
        customized=in_use.customized,
        mapping=in_use.mapping,
    )


@mapping_app.command("show")
@handle_errors(options=INTEGRATION_FIELDS)
def show_mapping(integration: IntegrationArgument) -> None:
    """Print the mapping an integration uses now, defaults filled in, as JSON."""
    with open_container() as container, unit_of_work(container) as session:
        found = alert_service.find_integration(session, actor=CLI_OPERATOR, key=integration)
        read = _mapping_read(
            alert_service.get_mapping(session, actor=CLI_OPERATOR, integration_id=found.id)
        )
    output.emit_json(read)


@mapping_app.command("set")
@handle_errors(options={**INTEGRATION_FIELDS, "mapping": "--file"})
def set_mapping(file: JsonFileOption, integration: IntegrationArgument) -> None:
    """Set a generic integration's mapping (or an e-mail integration's rules) from a JSON
    file, and print it as it now applies."""
    data = _read_json(file, "--file")
    with open_container() as container, unit_of_work(container) as session:
        found = alert_service.find_integration(session, actor=CLI_OPERATOR, key=integration)
        read = _mapping_read(
            alert_service.set_mapping(
                session, actor=CLI_OPERATOR, integration_id=found.id, data=data
            )
        )
    output.emit_json(read)
    note(f"Mapping of {found.name!r} set; events from now on are read with it.")


@mapping_app.command("preview")
@handle_errors(options=INTEGRATION_FIELDS)
def preview_mapping(
    file: JsonFileOption,
    integration: IntegrationArgument,
    mapping: Annotated[
        Path | None,
        typer.Option(
            "--mapping",
            exists=True,
            dir_okay=False,
            readable=True,
            help="A mapping file to try instead of the integration's own.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show what a sample body becomes, event by event, writing nothing. Exits 1 when the
    body would be refused."""
    sample = _read_json(file, "--file")
    candidate = None
    if mapping is not None:
        try:
            checked = validate_mapping(IntegrationKind.GENERIC, _read_json(mapping, "--mapping"))
        except ValidationFailed as exc:
            fail(exc.detail, field=f"--mapping {exc.field}")
        assert isinstance(checked, GenericMapping)
        candidate = checked
    with open_container() as container, unit_of_work(container) as session:
        found = alert_service.find_integration(session, actor=CLI_OPERATOR, key=integration)
        preview = alert_service.preview_mapping(
            session,
            actor=CLI_OPERATOR,
            integration_id=found.id,
            sample=sample,
            candidate=candidate,
        )
    if as_json:
        output.emit_json(preview)
    else:
        _show_preview(preview)
    if preview.errors:
        raise typer.Exit(int(ExitCode.INVALID))


def _show_preview(preview: MappingPreview) -> None:
    output.show(
        output.table(
            "Events",
            ["#", "action", "severity", "title", "dedup key", "labels"],
            (
                [
                    e.index,
                    e.action,
                    e.severity.value if e.severity else None,
                    e.title,
                    e.dedup_key,
                    ", ".join(f"{k}={v}" for k, v in (e.labels or {}).items()) or None,
                ]
                for e in preview.events
                if not e.errors
            ),
        )
    )
    if preview.errors:
        output.show(
            output.table(
                "Would be refused (422)",
                ["field", "problem"],
                ([p.field, p.message] for p in preview.errors),
            )
        )


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
