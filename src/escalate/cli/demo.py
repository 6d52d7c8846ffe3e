"""`escalate demo load`: the TechCorp Solutions escalation story as demo data."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from escalate.cli import output
from escalate.cli.runtime import handle_errors, note, open_container, unit_of_work
from escalate.demo import data as demo_data
from escalate.demo import loader

demo_app = typer.Typer(
    help="The demo data: TechCorp Solutions and its October 2025 escalation.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@demo_app.command("load")
@handle_errors()
def load(
    shift_to_yesterday: Annotated[
        bool,
        typer.Option(
            "--shift-to-yesterday",
            help="Move the whole story by whole days so the review meeting "
            f"({demo_data.REVIEW_MEETING_DATE}) was yesterday.",
        ),
    ] = False,
) -> None:
    """Load the demo story; loading it again changes nothing.

    Like `serve`, this migrates the embedded SQLite database first when allowed."""
    with open_container(schema="auto") as container:
        shift = (
            loader.shift_to_yesterday(container.clock.now()) if shift_to_yesterday else timedelta(0)
        )
        with unit_of_work(container) as session:
            summary = loader.load(session, container.clock, shift=shift)
        base_url = container.settings.base_url
    output.show(
        output.table(
            "Demo data" + (f" (story moved by {shift.days} days)" if shift else ""),
            ["rows", "created", "already there"],
            (
                [kind.replace("_", " "), summary.created[kind], summary.existing[kind]]
                for kind in summary.kinds
            ),
        )
    )
    if not summary.changed:
        note("The demo was already loaded; nothing changed.")
    output.show(
        f"Log in at {base_url} as {demo_data.ADMIN.email} (or {demo_data.ALEX.email}) "
        f"with the password {demo_data.DEMO_PASSWORD!r}."
    )
