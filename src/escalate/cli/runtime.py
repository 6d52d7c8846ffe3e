"""What every command shares: exit codes, error translation, the container, the unit of work.

Exit codes (documented in `escalate --help` too):

| code | meaning |
|---|---|
| 0 | success |
| 1 | invalid input, conflict with existing data, or a refused state change |
| 2 | usage error: unknown command or option, missing or malformed argument (Typer's) |
| 3 | not found: the named user, account, service, SLA policy or token does not exist |
| 4 | database schema not current: run `escalate db upgrade` |
| 5 | database unreachable or failing |
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from enum import IntEnum
from typing import Literal, NoReturn, ParamSpec, TypeVar

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from escalate import bootstrap, errors, migrate
from escalate.auth.permissions import CLI_OPERATOR
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.settings import Settings


class ExitCode(IntEnum):
    OK = 0
    INVALID = 1
    USAGE = 2
    NOT_FOUND = 3
    SCHEMA = 4
    DATABASE = 5


EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 invalid input or conflict; 2 usage error; 3 not found; "
    "4 database schema not current (run `escalate db upgrade`); 5 database unreachable."
)


def exit_code_for(error: errors.EscalateError) -> ExitCode:
    if isinstance(error, errors.NotFound):
        return ExitCode.NOT_FOUND
    if isinstance(error, errors.SchemaOutOfDate):
        return ExitCode.SCHEMA
    return ExitCode.INVALID


# --- consoles --------------------------------------------------------------------------
# Made per call, so they follow whatever sys.stdout/sys.stderr and COLUMNS are right now.


def out() -> Console:
    return Console(highlight=False)


def err() -> Console:
    return Console(stderr=True, highlight=False)


def note(message: str) -> None:
    """A remark for the person at the terminal, on stderr (stdout stays for results)."""
    err().print(escape(message), style="dim", soft_wrap=True)


def fail(message: str, *, field: str | None = None, code: ExitCode = ExitCode.INVALID) -> NoReturn:
    """Print a red error naming the field on stderr and leave with `code`."""
    prefix = f"error: {field}: " if field else "error: "
    err().print(escape(prefix + message), style="bold red", soft_wrap=True)
    raise typer.Exit(int(code))


# --- error translation -----------------------------------------------------------------

P = ParamSpec("P")
R = TypeVar("R")


def handle_errors(
    options: dict[str, str] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Translate domain, validation and database errors into a message and an exit code.

    `options` maps the domain's field names to the command's option names where they
    differ (e.g. {"monthly_fee": "--fee"}); a field named like a parameter of the command
    is shown as that option (`email` -> `--email`)."""

    def decorate(command: Callable[P, R]) -> Callable[P, R]:
        params = set(inspect.signature(command).parameters)

        def label(field: str | None) -> str | None:
            if not field:
                return None
            if options and field in options:
                return options[field]
            if field in params:
                return "--" + field.replace("_", "-")
            return field

        @functools.wraps(command)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return command(*args, **kwargs)
            except errors.EscalateError as exc:
                fail(exc.detail, field=label(exc.field), code=exit_code_for(exc))
            except ValidationError as exc:
                field, message = first_validation_error(exc)
                fail(message, field=label(field))
            except IntegrityError as exc:
                fail(f"conflicts with existing data ({_first_line(exc.orig)})")
            except OperationalError as exc:
                fail(f"database error: {_first_line(exc.orig)}", code=ExitCode.DATABASE)

        return wrapper

    return decorate


def first_validation_error(exc: ValidationError) -> tuple[str | None, str]:
    """The first error as (field path, message), with model-level "field: message" split."""
    error = exc.errors()[0]
    field = ".".join(str(part) for part in error.get("loc", ()))
    message = str(error.get("msg", "invalid"))
    message = message.removeprefix("Value error, ")
    if not field and ": " in message:
        head, _, tail = message.partition(": ")
        if head.replace("_", "").isalnum():
            field, message = head, tail
    extra = len(exc.errors()) - 1
    if extra:
        message += f" (and {extra} more problem{'s' if extra > 1 else ''})"
    return field or None, message


def _first_line(error: object) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


# --- the container and the unit of work ------------------------------------------------


def load_settings() -> Settings:
    """Settings from the environment, with a bad ESCALATE_* variable named."""
    try:
        return Settings()
    except ValidationError as exc:
        field, message = first_validation_error(exc)
        name = f"ESCALATE_{field.upper()}" if field else "environment"
        fail(message, field=name)


def may_auto_upgrade(settings: Settings) -> bool:
    """Only the embedded SQLite database is migrated without being asked."""
    return settings.is_sqlite and settings.auto_upgrade_sqlite


def check_schema(engine: Engine, *, auto_upgrade: bool) -> str | None:
    """Make sure the schema is current: upgrade it when allowed (returning what was done),
    or raise SchemaOutOfDate with what the operator should do."""
    state = migrate.schema_state(engine)
    problem = state.problem()
    if problem is None:
        return None
    if auto_upgrade and state.known:
        migrate.upgrade(engine)
        return f"upgraded the database schema from {state.current or 'empty'} to {state.head}"
    raise errors.SchemaOutOfDate(problem)


@contextmanager
def open_container(
    *,
    schema: Literal["require", "auto", "ignore"] = "require",
    settings: Settings | None = None,
) -> Iterator[Container]:
    """The container for one command, built from `settings` (by default, the environment)
    and disposed after.

    `schema`: "require" refuses an out-of-date database (exit 4); "auto" upgrades the
    embedded SQLite database when settings allow and otherwise refuses; "ignore" skips the
    check (the `db` commands)."""
    settings = settings or load_settings()
    container = bootstrap.build(settings)
    try:
        if schema != "ignore":
            try:
                done = check_schema(
                    container.engine,
                    auto_upgrade=schema == "auto" and may_auto_upgrade(settings),
                )
            except OperationalError as exc:
                fail(
                    f"cannot reach the database: {_first_line(exc.orig)}",
                    field="ESCALATE_DATABASE_URL",
                    code=ExitCode.DATABASE,
                )
            if done:
                note(done)
        yield container
    finally:
        container.dispose()


def unit_of_work(container: Container) -> AbstractContextManager[Session]:
    """One transaction for one command, audited as the CLI operator."""
    return transaction(container.session_factory, clock=container.clock, actor=CLI_OPERATOR)


def stdin_is_tty() -> bool:
    return sys.stdin.isatty()
