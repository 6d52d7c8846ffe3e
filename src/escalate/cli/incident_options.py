"""What the `escalate incident ...` commands share: the incident's number, `--as EMAIL`
(act as that person, so the timeline names them), `--json`, and the names of people."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from escalate.auth import service as auth_service
from escalate.auth.permissions import CLI_OPERATOR, Actor
from escalate.errors import NotFound
from escalate.pagination import MAX_LIMIT

NumberArgument = Annotated[int, typer.Argument(metavar="N", help="The incident's number.")]
AsOption = Annotated[
    str | None, typer.Option("--as", help="Act as this person (their e-mail).", show_default=False)
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")]
LimitOption = Annotated[int, typer.Option(min=1, max=MAX_LIMIT, help="Rows to show.")]
OffsetOption = Annotated[int, typer.Option(min=0, help="Rows to skip.")]


def error_options(**extra: str) -> dict[str, str]:
    """handle_errors' field -> option map every incident command starts from: the incident
    is N (the domain names it by id or number) and the acting person is `--as`."""
    return {"number": "N", "incident_id": "N", "as_user": "--as", **extra}


def acting_as(session: Session, as_user: str | None) -> Actor:
    """The CLI operator, or the person with this e-mail; the session's audit actor follows.
    An unknown e-mail is reported against `--as` (field "as_user"), so a command that also
    takes someone's e-mail as an argument names the right one."""
    actor = CLI_OPERATOR
    if as_user is not None:
        user = auth_service.get_by_email(session, email=as_user)
        if user is None:
            raise NotFound(f"no user with email {as_user}", field="as_user")
        actor = auth_service.actor_for(user)
    session.info["actor"] = actor
    return actor


def names_of(session: Session, user_ids: Iterable[int | None]) -> dict[int, str]:
    """People's names by user id (for tables; JSON keeps the ids, as the API does)."""
    return {
        uid: auth_service.get(session, user_id=uid).name
        for uid in {uid for uid in user_ids if uid is not None}
    }
