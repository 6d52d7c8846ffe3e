"""On-call pages: the schedules, one schedule with its visual timeline and its forms
(schedule, overrides, calendar link), and "my shifts"."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from escalate import errors
from escalate.clock import Clock
from escalate.oncall import calendar as calendar_service
from escalate.oncall import schedules as schedule_service
from escalate.oncall.models import Schedule
from escalate.oncall.schemas import MAX_LAYERS, OverrideIn
from escalate.pagination import PageParams
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages import forms, listing
from escalate.web.pages import schedule_forms as sf
from escalate.web.pages.forms import FormState
from escalate.web.pages.rendering import render, sentence, zone
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.schedule_timeline import day_rows, local_midnight
from escalate.web.pages.sessions import FormDep, FormLoginDep, Login, LoginDep
from escalate.web.status import status_for, validation_errors

router = APIRouter(route_class=PageRoute)

LIST_LIMIT = 100
TIMELINE_DAYS = (7, 14, 28)
MY_SHIFTS_DAYS = 28
MAX_TIMELINE_DISTANCE = timedelta(days=3 * 366)
ROTATIONS = [("weekly", "Weekly"), ("daily", "Daily"), ("hours", "Every N hours")]
SAVED_NOTICES = {
    "created": "Schedule created.",
    "saved": "Schedule saved.",
    "override": "Override added.",
    "override-removed": "Override removed.",
    "deleted": "Schedule deleted.",
}


# --- the list ------------------------------------------------------------------------------


@router.get("/schedules")
def list_schedules(
    request: Request, session: SessionDep, container: ContainerDep, login: LoginDep
) -> Response:
    notice = SAVED_NOTICES.get(request.query_params.get("saved", ""))
    return _list_page(request, session, container.clock, login, notice=notice)


@router.post("/schedules")
def create_schedule(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    slots = _slots(form)
    state = FormState(values=sf.values_from_form(form, slots))
    created: list[Schedule] = []
    _attempt(
        state,
        slots,
        lambda: created.append(
            schedule_service.create(
                session,
                container.clock,
                actor=login.actor,
                data=sf.schedule_in(state.values, slots),
            )
        ),
    )
    if state.failed:
        session.rollback()
        return _list_page(request, session, container.clock, login, form=state, slots=slots)
    return RedirectResponse(f"/schedules/{created[0].id}?saved=created", status_code=303)


def _list_page(
    request: Request,
    session: Session,
    clock: Clock,
    login: Login,
    *,
    notice: str | None = None,
    form: FormState | None = None,
    slots: int = 2,
) -> Response:
    rows = schedule_service.on_call_now(session, clock, actor=login.actor, limit=LIST_LIMIT)
    total = schedule_service.list_schedules(
        session, actor=login.actor, page=PageParams(limit=1)
    ).total
    state = form or FormState(values=_blank_values(clock, slots))
    return render(
        request,
        "schedules/list.html",
        {
            "nav": "schedules",
            "rows": rows,
            "total": total,
            "notice": notice,
            "form": state,
            "slots": slots,
            "rotations": ROTATIONS,
            "can_write": login.can(schedule_service.SCHEDULES_WRITE),
            "now": clock.now(),
        },
        status_code=state.status if state.failed else 200,
    )


# --- one schedule --------------------------------------------------------------------------


@router.get("/schedules/{schedule_id}")
def show_schedule(
    schedule_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: LoginDep,
) -> Response:
    schedule = _schedule(session, login, schedule_id)
    notice = SAVED_NOTICES.get(request.query_params.get("saved", ""))
    return _schedule_page(request, session, container.clock, login, schedule, notice=notice)


@router.post("/schedules/{schedule_id}")
def edit_schedule(
    schedule_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    schedule = _schedule(session, login, schedule_id)
    slots = _slots(form)
    state = FormState(values=sf.values_from_form(form, slots))
    _attempt(
        state,
        slots,
        lambda: schedule_service.replace(
            session,
            container.clock,
            actor=login.actor,
            schedule=schedule,
            data=sf.schedule_in(state.values, slots),
        ),
    )
    if state.failed:
        session.rollback()
        schedule = _schedule(session, login, schedule_id)
        return _schedule_page(
            request, session, container.clock, login, schedule, edit_form=state, slots=slots
        )
    return RedirectResponse(f"/schedules/{schedule.id}?saved=saved", status_code=303)


@router.post("/schedules/{schedule_id}/delete")
def delete_schedule(
    schedule_id: str, session: SessionDep, container: ContainerDep, login: FormLoginDep
) -> Response:
    schedule = _schedule(session, login, schedule_id)
    schedule_service.delete(session, actor=login.actor, schedule=schedule)
    return RedirectResponse("/schedules?saved=deleted", status_code=303)


@router.post("/schedules/{schedule_id}/overrides")
def add_override(
    schedule_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    schedule = _schedule(session, login, schedule_id)
    names = ("user", "start_at", "end_at", "note")
    state = FormState(values={name: forms.text(form, name) for name in names})
    tz = zone(schedule.time_zone)

    def add() -> None:
        values = state.values
        data = OverrideIn.model_validate(
            {
                "user": values["user"],
                "start_at": _local(values["start_at"], tz, "start_at"),
                "end_at": _local(values["end_at"], tz, "end_at"),
                "note": values["note"] or None,
            }
        )
        schedule_service.add_override(
            session, container.clock, actor=login.actor, schedule=schedule, data=data
        )

    forms.attempt(state, add)
    if state.failed:
        session.rollback()
        schedule = _schedule(session, login, schedule_id)
        return _schedule_page(
            request, session, container.clock, login, schedule, override_form=state
        )
    return RedirectResponse(f"/schedules/{schedule.id}?saved=override#overrides", 303)


@router.post("/schedules/{schedule_id}/overrides/{override_id}/delete")
def remove_override(
    schedule_id: str,
    override_id: str,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
) -> Response:
    schedule = _schedule(session, login, schedule_id)
    schedule_service.delete_override(
        session,
        actor=login.actor,
        schedule=schedule,
        override_id=listing.path_id(override_id, noun="override", field="override_id"),
    )
    return RedirectResponse(f"/schedules/{schedule.id}?saved=override-removed#overrides", 303)


@router.post("/schedules/{schedule_id}/calendar-feed")
def create_schedule_feed(
    schedule_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
) -> Response:
    """The new secret URL is shown on this one answer only (it is not stored)."""
    schedule = _schedule(session, login, schedule_id)
    _, token = calendar_service.create_schedule_feed(
        session, container.clock, actor=login.actor, schedule=schedule
    )
    session.flush()
    return _schedule_page(
        request,
        session,
        container.clock,
        login,
        schedule,
        feed_url=_feed_url(container, token),
    )


def _schedule_page(
    request: Request,
    session: Session,
    clock: Clock,
    login: Login,
    schedule: Schedule,
    *,
    notice: str | None = None,
    edit_form: FormState | None = None,
    override_form: FormState | None = None,
    slots: int | None = None,
    feed_url: str | None = None,
) -> Response:
    tz = zone(schedule.time_zone)
    params = request.query_params
    days = listing.query_int(params.get("days"), TIMELINE_DAYS[0])
    days = days if days in TIMELINE_DAYS else TIMELINE_DAYS[0]
    today = clock.now().astimezone(tz).date()
    first_day = _date(params.get("from")) or today
    if abs(first_day - today) > MAX_TIMELINE_DISTANCE:
        first_day = today  # a hand-edited address still shows a page
    start = local_midnight(first_day, tz)
    end = local_midnight(first_day + timedelta(days=days), tz)
    actor = login.actor
    shifts = schedule_service.timeline(
        session, actor=actor, schedule=schedule, start=start, end=end
    )
    holes = schedule_service.gaps(session, actor=actor, schedule=schedule, start=start, end=end)
    rows, legend = day_rows(shifts, holes, first_day=first_day, days=days, zone=tz)
    now = clock.now()
    current = schedule_service.on_call(session, actor=actor, schedule=schedule, at=now).shift
    fairness = schedule_service.fairness(
        session, actor=actor, schedule=schedule, start=start, end=end
    )
    slot_count = slots or min(len(schedule.layers) + 1, MAX_LAYERS)
    edit = edit_form or FormState(values=_edit_values(schedule, slot_count))
    overrides = override_form or FormState(values=_override_defaults(clock, tz))
    failed = next((f for f in (edit, overrides) if f.failed), None)
    return render(
        request,
        "schedules/detail.html",
        {
            "nav": "schedules",
            "schedule": schedule,
            "notice": notice,
            "rows": rows,
            "legend": legend,
            "gaps": holes,
            "days": days,
            "day_choices": TIMELINE_DAYS,
            "first_day": first_day,
            "prev_day": first_day - timedelta(days=days),
            "next_day": first_day + timedelta(days=days),
            "current": current,
            "fairness": fairness,
            "now": now,
            "edit_form": edit,
            "override_form": overrides,
            "slots": slot_count,
            "rotations": ROTATIONS,
            "restriction_text": sf.restriction_text,
            "feed_url": feed_url,
            "used_by": schedule_service.policy_names_using(session, schedule.id),
            "can_write": login.can(schedule_service.SCHEDULES_WRITE),
        },
        status_code=failed.status if failed else 200,
    )


# --- my shifts -----------------------------------------------------------------------------


@router.get("/my-shifts")
def my_shifts(
    request: Request, session: SessionDep, container: ContainerDep, login: LoginDep
) -> Response:
    return _my_shifts_page(request, session, container.clock, login)


@router.post("/my-shifts/calendar-feed")
def create_my_feed(
    request: Request, session: SessionDep, container: ContainerDep, login: FormLoginDep
) -> Response:
    _, token = calendar_service.create_user_feed(session, container.clock, actor=login.actor)
    session.flush()
    return _my_shifts_page(
        request, session, container.clock, login, feed_url=_feed_url(container, token)
    )


def _my_shifts_page(
    request: Request, session: Session, clock: Clock, login: Login, *, feed_url: str | None = None
) -> Response:
    now = clock.now()
    shifts = schedule_service.my_shifts(
        session,
        actor=login.actor,
        user_id=login.user_id,
        start=now,
        end=now + timedelta(days=MY_SHIFTS_DAYS),
    )
    return render(
        request,
        "schedules/my_shifts.html",
        {
            "nav": "my-shifts",
            "shifts": shifts,
            "days": MY_SHIFTS_DAYS,
            "now": now,
            "feed_url": feed_url,
        },
    )


# --- helpers -------------------------------------------------------------------------------


def _schedule(session: Session, login: Login, schedule_id: str) -> Schedule:
    key = listing.path_id(schedule_id, noun="schedule", field="schedule_id")
    return schedule_service.get(session, actor=login.actor, schedule_id=key)


def _slots(form: Any) -> int:
    return min(max(listing.query_int(forms.text(form, "slots"), 2), 1), MAX_LAYERS)


def _attempt(state: FormState, slots: int, action: Callable[[], object]) -> None:
    """forms.attempt, with the service's layer paths turned into this form's field names."""
    layer_slots = sf.filled_slots(state.values, slots)
    try:
        action()
    except ValidationError as exc:
        for item in validation_errors([dict(e) for e in exc.errors()]):
            state.add(sf.form_field(item["field"], layer_slots), sentence(item["message"]))
        state.status = 422
    except forms.FIXABLE_ERRORS as exc:
        state.add(sf.form_field(exc.field, layer_slots), sentence(exc.detail))
        state.status = status_for(exc)


def _blank_values(clock: Clock, slots: int) -> dict[str, Any]:
    values = sf.values_from_form({}, slots)
    values["time_zone"] = "UTC"
    monday = clock.now().date() - timedelta(days=clock.now().weekday())
    values[sf.field_name(0, "rotation")] = "weekly"
    values[sf.field_name(0, "handoff")] = f"{monday.isoformat()}T09:00"
    return values


def _edit_values(schedule: Schedule, slots: int) -> dict[str, Any]:
    values = sf.values_from_form({}, slots)
    values.update(sf.values_from_schedule(schedule))
    return values


def _override_defaults(clock: Clock, tz: Any) -> dict[str, Any]:
    start = clock.now().astimezone(tz).replace(minute=0, second=0, microsecond=0)
    start += timedelta(hours=1)
    return {
        "start_at": start.strftime(sf.LOCAL_INPUT),
        "end_at": (start + timedelta(hours=8)).strftime(sf.LOCAL_INPUT),
    }


def _local(text: str, tz: Any, field: str) -> datetime:
    if not text:
        raise errors.ValidationFailed("this field is required", field=field)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise errors.ValidationFailed(
            "give a date and time, as 2025-10-22T18:00", field=field
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=tz)


def _date(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def _feed_url(container: Any, token: str) -> str:
    return f"{container.settings.base_url.rstrip('/')}/calendar/{token}.ics"
