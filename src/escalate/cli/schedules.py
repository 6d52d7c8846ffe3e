"""`escalate schedule ...`: on-call schedules, who is on call, gaps, overrides."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.text import Text

from escalate.auth.permissions import CLI_OPERATOR
from escalate.cli import output
from escalate.cli.runtime import fail, handle_errors, note, open_container, unit_of_work
from escalate.oncall import reads
from escalate.oncall import schedules as schedule_service
from escalate.oncall.schemas import OverrideIn, ScheduleIn, ScheduleRead, ScheduleSummary
from escalate.pagination import MAX_LIMIT, PageParams

schedule_app = typer.Typer(
    help="On-call schedules: list, show, create, who is on call, gaps, overrides.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
override_app = typer.Typer(
    help="Overrides: person X covers a schedule from A to B.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
schedule_app.add_typer(override_app, name="override")

ScheduleArg = Annotated[
    str, typer.Argument(metavar="NAME_OR_ID", help="The schedule's name or id.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")]
# Typer's own datetime type knows no offsets; these are ISO-8601, UTC when none is given.
MomentOption = Annotated[str, typer.Option(help="ISO-8601, e.g. 2025-10-22T09:00+02:00.")]
NAME_OR_ID = {"schedule": "NAME_OR_ID", "schedule_id": "NAME_OR_ID"}


@schedule_app.command("list")
@handle_errors()
def list_schedules(
    as_json: JsonOption = False,
    limit: Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Rows to show.")] = 100,
    offset: Annotated[int, typer.Option(min=0, help="Rows to skip.")] = 0,
) -> None:
    """List schedules by name, with who is on call now."""
    with open_container() as container, unit_of_work(container) as session:
        page = schedule_service.list_schedules(
            session, actor=CLI_OPERATOR, page=PageParams(limit=limit, offset=offset)
        )
        items = [ScheduleSummary.model_validate(item) for item in page.items]
        now = container.clock.now()
        current = {
            item.id: schedule_service.on_call(
                session,
                actor=CLI_OPERATOR,
                schedule=schedule_service.get(session, actor=CLI_OPERATOR, schedule_id=item.id),
                at=now,
            ).shift
            for item in items
        }
    if as_json:
        output.emit_page(items, page.total)
        return
    output.show(
        output.table(
            "Schedules",
            ["id", "name", "time zone", "on call now", "until"],
            (
                [
                    s.id,
                    s.name,
                    s.time_zone,
                    shift.user.name if (shift := current[s.id]) else "NOBODY",
                    output.when(shift.end, s.time_zone) if shift else None,
                ]
                for s in items
            ),
        )
    )
    output.page_footer(len(items), page.total, offset)


@schedule_app.command("show")
@handle_errors(options=NAME_OR_ID)
def show_schedule(schedule: ScheduleArg, as_json: JsonOption = False) -> None:
    """Show a schedule's layers and overrides."""
    with open_container() as container, unit_of_work(container) as session:
        found = schedule_service.to_read(
            schedule_service.find_by_name_or_id(session, actor=CLI_OPERATOR, key=schedule)
        )
    if as_json:
        output.emit_json(found)
        return
    _render(found)


@schedule_app.command("create")
@handle_errors(options={"time_zone": "--time-zone", "layers[0].participants": "--participant"})
def create_schedule(
    file: Annotated[
        Path | None,
        typer.Option(help="A JSON file in the API's shape (name, time_zone, layers)."),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Without --file: the name.")] = None,
    time_zone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    participant: Annotated[
        list[str] | None,
        typer.Option(help="E-mail or id, in rotation order; repeat for each person."),
    ] = None,
    rotation: Annotated[str, typer.Option(help="daily, weekly or hours.")] = "weekly",
    hours: Annotated[int | None, typer.Option(help="Shift length for --rotation hours.")] = None,
    handoff: Annotated[
        str | None, typer.Option(help="The first hand-off, ISO-8601 (default now).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a schedule from a JSON file, or one layer from flags. Prints its id."""
    with open_container() as container, unit_of_work(container) as session:
        if file is not None:
            data = ScheduleIn.model_validate(_read_json(file))
        else:
            if not name:
                fail("give --file, or --name with --participant", field="--name")
            start = _moment(handoff, "--handoff") if handoff else container.clock.now()
            data = ScheduleIn.model_validate(
                {
                    "name": name,
                    "time_zone": time_zone,
                    "layers": [
                        {
                            "name": "Primary",
                            "rotation": rotation,
                            "rotation_hours": hours,
                            "start_at": start,
                            "participants": participant or [],
                        }
                    ],
                }
            )
        created = schedule_service.to_read(
            schedule_service.create(session, container.clock, actor=CLI_OPERATOR, data=data)
        )
    if as_json:
        output.emit_json(created)
        return
    typer.echo(created.id)
    note(f"Schedule {created.name!r} created.")


@schedule_app.command("delete")
@handle_errors(options=NAME_OR_ID)
def delete_schedule(schedule: ScheduleArg) -> None:
    """Delete a schedule (refused while an escalation policy pages it)."""
    with open_container() as container, unit_of_work(container) as session:
        found = schedule_service.find_by_name_or_id(session, actor=CLI_OPERATOR, key=schedule)
        name = found.name
        schedule_service.delete(session, actor=CLI_OPERATOR, schedule=found)
    note(f"Schedule {name!r} deleted.")


@schedule_app.command("oncall")
@handle_errors(options=NAME_OR_ID)
def on_call(
    schedule: ScheduleArg,
    at: Annotated[str | None, typer.Option(help="ISO-8601 (default now).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Who is on call at a moment, with the start and end of their shift."""
    with open_container() as container, unit_of_work(container) as session:
        found = schedule_service.find_by_name_or_id(session, actor=CLI_OPERATOR, key=schedule)
        moment = _moment(at, "--at") if at else container.clock.now()
        answer = reads.on_call_read(
            found.id,
            schedule_service.on_call(session, actor=CLI_OPERATOR, schedule=found, at=moment),
        )
        zone = found.time_zone
    if as_json:
        output.emit_json(answer)
        return
    if answer.user is None or answer.start is None or answer.end is None:
        output.show(Text(f"Nobody is on call at {output.when(moment, zone)}.", style="bold red"))
        return
    output.show(
        f"{answer.user.name} <{answer.user.email}> from {output.when(answer.start, zone)} "
        f"until {output.when(answer.end, zone)} ({answer.source})"
    )


@schedule_app.command("gaps")
@handle_errors(options=NAME_OR_ID)
def gaps(
    schedule: ScheduleArg,
    start: Annotated[str | None, typer.Option(help="ISO-8601 (default now).")] = None,
    end: Annotated[str | None, typer.Option(help="ISO-8601 (default start + 14 days).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every interval in which nobody is on call."""
    with open_container() as container, unit_of_work(container) as session:
        found = schedule_service.find_by_name_or_id(session, actor=CLI_OPERATOR, key=schedule)
        range_start = _moment(start, "--start") if start else container.clock.now()
        range_end = _moment(end, "--end") if end else range_start + timedelta(days=14)
        holes = schedule_service.gaps(
            session, actor=CLI_OPERATOR, schedule=found, start=range_start, end=range_end
        )
        answer = reads.gaps_read(found.id, range_start, range_end, holes)
        zone = found.time_zone
    if as_json:
        output.emit_json(answer)
        return
    if not answer.gaps:
        output.show(f"No gaps: someone is on call all the time in {found.name!r}.")
        return
    output.show(
        output.table(
            f"Gaps in {found.name}",
            ["from", "until", "hours"],
            (
                [output.when(g.start, zone), output.when(g.end, zone), _hours(g.end - g.start)]
                for g in answer.gaps
            ),
        )
    )


@override_app.command("add")
@handle_errors(options={**NAME_OR_ID, "start_at": "--start", "end_at": "--end"})
def add_override(
    schedule: ScheduleArg,
    user: Annotated[str, typer.Option(help="Who covers: e-mail or user id.")],
    start: MomentOption,
    end: MomentOption,
    note_text: Annotated[str | None, typer.Option("--note", help="Why.")] = None,
) -> None:
    """Person X covers the schedule from --start to --end. Prints the override's id."""
    with open_container() as container, unit_of_work(container) as session:
        found = schedule_service.find_by_name_or_id(session, actor=CLI_OPERATOR, key=schedule)
        data = OverrideIn.model_validate(
            {
                "user": int(user) if user.strip().isdigit() else user,
                "start_at": _moment(start, "--start"),
                "end_at": _moment(end, "--end"),
                "note": note_text,
            }
        )
        override = schedule_service.add_override(
            session, container.clock, actor=CLI_OPERATOR, schedule=found, data=data
        )
        override_id = override.id
    typer.echo(override_id)


@override_app.command("remove")
@handle_errors(options=NAME_OR_ID)
def remove_override(
    schedule: ScheduleArg,
    override_id: Annotated[int, typer.Argument(metavar="OVERRIDE_ID")],
) -> None:
    """Remove an override from a schedule."""
    with open_container() as container, unit_of_work(container) as session:
        found = schedule_service.find_by_name_or_id(session, actor=CLI_OPERATOR, key=schedule)
        schedule_service.delete_override(
            session, actor=CLI_OPERATOR, schedule=found, override_id=override_id
        )
    note(f"Override {override_id} removed.")


def _render(schedule: ScheduleRead) -> None:
    zone = schedule.time_zone
    output.show(Text.assemble((schedule.name, "bold"), f"  (id {schedule.id}) · time zone {zone}"))
    output.show(
        output.table(
            "Layers (a later layer wins)",
            ["layer", "rotation", "first hand-off", "participants", "restrictions"],
            (
                [
                    layer.name,
                    f"{layer.rotation_hours} hours" if layer.rotation_hours else layer.rotation,
                    output.when(layer.start_at, zone),
                    ", ".join(p.name for p in layer.participants),
                    "; ".join(
                        f"days {','.join(map(str, r.weekdays))} {r.start}-{r.end}"
                        for r in layer.restrictions
                    )
                    or None,
                ]
                for layer in schedule.layers
            ),
        ),
        output.table(
            "Overrides",
            ["id", "who", "from", "until", "note"],
            (
                [
                    o.id,
                    o.user.name,
                    output.when(o.start_at, zone),
                    output.when(o.end_at, zone),
                    o.note,
                ]
                for o in schedule.overrides
            ),
        ),
    )


def _moment(text: str, option: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f"not an ISO-8601 date and time: {text!r}", field=option)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}", field="--file")
    except json.JSONDecodeError as exc:
        fail(f"{path} is not valid JSON: {exc.msg} (line {exc.lineno})", field="--file")


def _hours(span: timedelta) -> str:
    return f"{span / timedelta(hours=1):g}"
