"""`escalate demo load`: the TechCorp Solutions escalation story as demo data."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from escalate.cli import output
from escalate.cli.runtime import (
    fail,
    handle_errors,
    load_settings,
    note,
    open_container,
    unit_of_work,
)
from escalate.demo import data as demo_data
from escalate.demo import loader

ALLOW_SHARED = "--allow-shared-database"

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
    allow_shared_database: Annotated[
        bool,
        typer.Option(
            ALLOW_SHARED,
            help="Load into a database other than the embedded SQLite one (e.g. a scratch "
            "PostgreSQL), accepting that its demo users have a published password.",
        ),
    ] = False,
) -> None:
    """Load the demo story; loading it again changes nothing.

    The demo users, an admin among them, share a published password, so only the embedded
    SQLite database gets them unless --allow-shared-database is given. Like `serve`, this
    migrates the embedded SQLite database first when allowed."""
    settings = load_settings()
    if not settings.is_sqlite and not allow_shared_database:
        fail(
            "refusing to load the demo into a database other than the embedded SQLite one "
            f"(ESCALATE_DATABASE_URL): it creates "
            f"{demo_data.ADMIN.email} and other users with the published password "
            f"{demo_data.DEMO_PASSWORD!r}, which anyone who can reach the app could use. "
            f"Use the embedded SQLite database, or pass {ALLOW_SHARED} if this database is "
            "a scratch one that nobody else relies on."
        )
    with open_container(schema="auto", settings=settings) as container:
        shift = (
            loader.shift_to_yesterday(container.clock.now()) if shift_to_yesterday else timedelta(0)
        )
        with unit_of_work(container) as session:
            summary = loader.load(session, container.clock, shift=shift)
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
    # No address here: only the server knows where it listens (`serve --demo-hint` says).
    output.show(
        f"Log in as {demo_data.ADMIN.email} (or {demo_data.ALEX.email}) with the password "
        f"{demo_data.DEMO_PASSWORD!r}; `escalate serve --demo-hint` prints the address."
    )
