"""`escalate db ...`: the database schema."""

from __future__ import annotations

import typer

from escalate import migrate
from escalate.cli import output
from escalate.cli.runtime import ExitCode, handle_errors, open_container
from escalate.errors import SchemaOutOfDate

db_app = typer.Typer(
    help="The database schema: upgrade it, or see where it stands.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


@db_app.command("upgrade")
@handle_errors()
def upgrade() -> None:
    """Migrate the database (ESCALATE_DATABASE_URL) to this version's schema."""
    with open_container(schema="ignore") as container:
        before = migrate.schema_state(container.engine)
        if not before.known:
            raise SchemaOutOfDate(before.problem() or "unknown revision")
        if before.is_current:
            output.show(f"Already current: revision {before.head}.")
            return
        migrate.upgrade(container.engine)
        after = migrate.schema_state(container.engine)
    output.show(f"Upgraded {before.current or '(empty database)'} -> {after.current}.")


@db_app.command("status")
@handle_errors()
def status() -> None:
    """Show the database's schema revision and this version's; exit 4 when they differ."""
    with open_container(schema="ignore") as container:
        state = migrate.schema_state(container.engine)
        url = container.engine.url.render_as_string(hide_password=True)
    problem = state.problem()
    output.show(
        f"database: {url}\n"
        f"current:  {state.current or '(no schema)'}\n"
        f"head:     {state.head}\n"
        f"status:   {problem or 'up to date'}"
    )
    if problem:
        raise typer.Exit(int(ExitCode.SCHEMA))
