"""`escalate user ...` and `escalate token ...`: staff users, passwords and API tokens."""

from __future__ import annotations

from typing import Annotated

import typer

from escalate.auth import service as auth_service
from escalate.auth.models import Role
from escalate.auth.permissions import CLI_OPERATOR
from escalate.auth.schemas import TokenRead, UserCreate, UserRead
from escalate.cli import output
from escalate.cli.runtime import (
    fail,
    handle_errors,
    note,
    open_container,
    stdin_is_tty,
    unit_of_work,
)
from escalate.pagination import MAX_LIMIT, PageParams

user_app = typer.Typer(
    help="Staff users: create, list, set passwords.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
token_app = typer.Typer(
    help="API tokens: create (printed once), list, revoke.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)

EmailOption = Annotated[str, typer.Option("--email", help="The user's e-mail address.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")]
LimitOption = Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Rows to show.")]
OffsetOption = Annotated[int, typer.Option(min=0, help="Rows to skip.")]


def _ask_password() -> str:
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return password


@user_app.command("create")
@handle_errors()
def create_user(
    email: EmailOption,
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[Role, typer.Option(help="What the user may do.")],
    title: Annotated[str | None, typer.Option(help="Job title, e.g. 'Account Executive'.")] = None,
    password: Annotated[
        str | None,
        typer.Option(
            help="Password (at least 8 characters). Without it, you are asked for one on a "
            "terminal; with no terminal the user is created without a password."
        ),
    ] = None,
) -> None:
    """Create a staff user."""
    if password is None and stdin_is_tty():
        password = _ask_password()
    data = UserCreate(email=email, name=name, role=role, title=title, password=password)
    with open_container() as container, unit_of_work(container) as session:
        user = auth_service.create(session, container.clock, actor=CLI_OPERATOR, data=data)
        created = UserRead.model_validate(user)
    output.show(f"Created user {created.email} (id {created.id}, role {created.role}).")
    if password is None:
        note(
            "No password set (no --password and no terminal to ask on); set one with "
            f"`escalate user set-password --email {created.email}`."
        )


@user_app.command("list")
@handle_errors()
def list_users(
    as_json: JsonOption = False,
    limit: LimitOption = 100,
    offset: OffsetOption = 0,
) -> None:
    """List staff users by name."""
    with open_container() as container, unit_of_work(container) as session:
        page = auth_service.list_users(
            session, actor=CLI_OPERATOR, page=PageParams(limit=limit, offset=offset)
        )
        users = [UserRead.model_validate(u) for u in page.items]
    if as_json:
        output.emit_page(users, page.total)
        return
    output.show(
        output.table(
            "Users",
            ["id", "e-mail", "name", "role", "title", "active", "created"],
            (
                [u.id, u.email, u.name, u.role.value, u.title, u.is_active, u.created_at]
                for u in users
            ),
        )
    )
    output.page_footer(len(users), page.total, offset)


@user_app.command("set-password")
@handle_errors()
def set_password(
    email: EmailOption,
    password: Annotated[
        str | None,
        typer.Option(
            help="The new password. Without it you are asked on a terminal; otherwise the "
            "first line of standard input is read."
        ),
    ] = None,
) -> None:
    """Set or replace a user's password."""
    if password is None:
        password = _ask_password() if stdin_is_tty() else typer.get_text_stream("stdin").readline()
        password = password.rstrip("\r\n")
    if not password:
        fail("no password given", field="--password")
    with open_container() as container, unit_of_work(container) as session:
        user = auth_service.require_by_email(session, email=email)
        auth_service.set_password(session, actor=CLI_OPERATOR, user=user, password=password)
    output.show(f"Password set for {user.email}.")


@token_app.command("create")
@handle_errors()
def create_token(
    email: Annotated[str, typer.Option("--email", help="Whose token it is.")],
    name: Annotated[str, typer.Option(help="What the token is for, e.g. 'grafana'.")],
) -> None:
    """Create an API token and print it, alone, on stdout (it is shown this once)."""
    with open_container() as container, unit_of_work(container) as session:
        user = auth_service.require_by_email(session, email=email)
        token, secret = auth_service.create_token(
            session, container.clock, actor=CLI_OPERATOR, user=user, name=name
        )
        token_id, owner = token.id, user.email
    typer.echo(secret)
    note(f"Token {name!r} (id {token_id}) for {owner}; it is not shown again.")


@token_app.command("list")
@handle_errors()
def list_tokens(
    email: EmailOption,
    as_json: JsonOption = False,
    limit: LimitOption = 100,
    offset: OffsetOption = 0,
) -> None:
    """List a user's tokens, newest first (never the secrets)."""
    with open_container() as container, unit_of_work(container) as session:
        user = auth_service.require_by_email(session, email=email)
        page = auth_service.list_tokens(
            session, actor=CLI_OPERATOR, user=user, page=PageParams(limit=limit, offset=offset)
        )
        tokens = [TokenRead.model_validate(t) for t in page.items]
    if as_json:
        output.emit_page(tokens, page.total)
        return
    output.show(
        output.table(
            f"Tokens of {email}",
            ["id", "name", "prefix", "created", "last used", "revoked"],
            (
                [t.id, t.name, t.prefix + "…", t.created_at, t.last_used_at, t.revoked_at]
                for t in tokens
            ),
        )
    )
    output.page_footer(len(tokens), page.total, offset)


@token_app.command("revoke")
@handle_errors(options={"token_id": "TOKEN_ID"})
def revoke_token(
    token_id: Annotated[int, typer.Argument(metavar="TOKEN_ID", help="The token's id.")],
) -> None:
    """Revoke a token; revoking twice is harmless."""
    with open_container() as container, unit_of_work(container) as session:
        token = auth_service.revoke_token(
            session, container.clock, actor=CLI_OPERATOR, token_id=token_id
        )
        revoked = TokenRead.model_validate(token)
    assert revoked.revoked_at is not None
    output.show(
        f"Token {revoked.id} ({revoked.name}) revoked at {output.when(revoked.revoked_at)}."
    )
