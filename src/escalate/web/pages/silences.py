"""Silences and maintenance windows: the list by state, creating one, and ending one now.
Times are typed and shown in UTC: an incident at 3 a.m. involves people in several zones,
and one zone on the form is the one nobody gets wrong."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from escalate import errors
from escalate.alerts import silences as silence_service
from escalate.alerts.models import Silence, SilenceKind
from escalate.alerts.schemas import SilenceCreate
from escalate.alerts.silences import SilenceState
from escalate.auth import service as auth_service
from escalate.auth.permissions import Permission, authorize
from escalate.clock import Clock
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages import choices, forms, lines, listing
from escalate.web.pages.forms import FormState
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute, error_page
from escalate.web.pages.sessions import FormDep, FormLoginDep, Login, LoginDep

router = APIRouter(route_class=PageRoute)

SAVED_NOTICES = {"created": "Silence created.", "expired": "Silence expired."}
DEFAULT_LENGTH = timedelta(hours=2)
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
KINDS = [
    (SilenceKind.SILENCE.value, "Silence"),
    (SilenceKind.MAINTENANCE.value, "Maintenance window"),
]


@router.get("/silences")
def list_silences(
    request: Request, session: SessionDep, container: ContainerDep, login: LoginDep
) -> Response:
    state_text = request.query_params.get("state", SilenceState.ACTIVE.value)
    if state_text not in {s.value for s in SilenceState}:
        return error_page(request, 400, detail="Unknown state: active, pending or expired.")
    notice = SAVED_NOTICES.get(request.query_params.get("saved", ""))
    return _page(request, session, container.clock, login, SilenceState(state_text), notice=notice)


@router.post("/silences")
def create_silence(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    authorize(login.actor, Permission.SILENCES_WRITE)
    names = ("kind", "comment", "matchers", "service_id", "starts_at", "ends_at")
    state = FormState(values={name: forms.text(form, name) for name in names})
    created: list[Silence] = []

    def create() -> None:
        values = state.values
        data = SilenceCreate.model_validate(
            {
                "kind": values["kind"],
                "comment": values["comment"],
                "matchers": [m.model_dump() for m in lines.parse_matchers(values["matchers"])],
                "service_id": values["service_id"] or None,
                "starts_at": parse_utc(values["starts_at"], field="starts_at"),
                "ends_at": parse_utc(values["ends_at"], field="ends_at", required=True),
            }
        )
        created.append(
            silence_service.create_silence(session, container.clock, actor=login.actor, data=data)
        )

    forms.attempt(state, create)
    if state.failed:
        session.rollback()
        return _page(
            request, session, container.clock, login, SilenceState.ACTIVE, create_form=state
        )
    landed = silence_service.state_of(created[0], container.clock)
    return RedirectResponse(f"/silences?state={landed.value}&saved=created", status_code=303)


@router.post("/silences/{silence_id}/expire")
def expire_silence(
    silence_id: str, session: SessionDep, container: ContainerDep, login: FormLoginDep
) -> Response:
    authorize(login.actor, Permission.SILENCES_WRITE)
    silence_service.expire_silence(
        session,
        container.clock,
        actor=login.actor,
        silence_id=listing.path_id(silence_id, noun="silence", field="silence_id"),
    )
    return RedirectResponse("/silences?state=expired&saved=expired", status_code=303)


def _page(
    request: Request,
    session: Session,
    clock: Clock,
    login: Login,
    state: SilenceState,
    *,
    notice: str | None = None,
    create_form: FormState | None = None,
) -> Response:
    page = silence_service.list_silences(
        session, clock, actor=login.actor, page=listing.page_params(request), state=state
    )
    creators = {
        s.created_by_id: auth_service.get(session, user_id=s.created_by_id).name
        for s in page.items
        if s.created_by_id is not None
    }
    form = create_form or FormState(values=_defaults(clock))
    return render(
        request,
        "silences/list.html",
        {
            "nav": "silences",
            "silences": page.items,
            "pager": listing.pager(request, page, path="/silences"),
            "state": state.value,
            "states": [
                (s.value, s.value.capitalize())
                for s in (SilenceState.ACTIVE, SilenceState.PENDING, SilenceState.EXPIRED)
            ],
            "creators": creators,
            "notice": notice,
            "create_form": form,
            "kinds": KINDS,
            "services": choices.services(session, login.actor),
            "can_write": login.can(Permission.SILENCES_WRITE),
            "now": clock.now(),
        },
        status_code=form.status if form.failed else 200,
    )


def _defaults(clock: Clock) -> dict[str, Any]:
    ends = clock.now().astimezone(UTC) + DEFAULT_LENGTH
    return {"kind": SilenceKind.SILENCE.value, "ends_at": ends.strftime(DATETIME_LOCAL)}


def parse_utc(text: str, *, field: str, required: bool = False) -> datetime | None:
    """A datetime-local value ("2025-10-22T14:00", seconds optional) read as UTC; one with
    an offset is taken at its word."""
    text = text.strip()
    if not text:
        if required:
            raise errors.ValidationFailed("this field is required", field=field)
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise errors.ValidationFailed(
            "give a date and time in UTC, as 2025-10-22T14:00", field=field
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
