"""On-call schedules: CRUD, overrides, who is on call, the timeline, gaps, fairness, the
caller's own shifts, coverage warnings and secret calendar-feed URLs."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from pydantic import AwareDatetime

from escalate.bootstrap import Container
from escalate.errors import ValidationFailed
from escalate.oncall import calendar as calendar_service
from escalate.oncall import reads
from escalate.oncall import schedules as schedule_service
from escalate.oncall.models import CalendarFeed
from escalate.oncall.schemas import (
    CalendarFeedCreated,
    CoverageRead,
    FairnessRead,
    GapsRead,
    MyShiftsRead,
    OnCallRead,
    OverrideIn,
    OverrideRead,
    ScheduleIn,
    SchedulePage,
    ScheduleRead,
    ScheduleSummary,
    TimelineRead,
)
from escalate.web.deps import ActorDep, ContainerDep, PageDep, SessionDep

router = APIRouter(tags=["schedules"])

# Naive datetimes are refused (422 naming the parameter): an instant needs an offset.
StartQuery = Annotated[AwareDatetime, Query(description="ISO-8601 with an offset.")]
EndQuery = Annotated[AwareDatetime, Query(description="ISO-8601 with an offset.")]


@router.get("/schedules", response_model=SchedulePage)
def list_schedules(session: SessionDep, actor: ActorDep, page: PageDep) -> SchedulePage:
    """Schedules by name."""
    result = schedule_service.list_schedules(session, actor=actor, page=page)
    return SchedulePage(
        items=[ScheduleSummary.model_validate(item) for item in result.items], total=result.total
    )


@router.post("/schedules", response_model=ScheduleRead, status_code=status.HTTP_201_CREATED)
def create_schedule(
    data: ScheduleIn, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> ScheduleRead:
    """Create a schedule with its layers (participants by user id or e-mail)."""
    return schedule_service.to_read(
        schedule_service.create(session, container.clock, actor=actor, data=data)
    )


@router.get("/schedules/{schedule_id}", response_model=ScheduleRead)
def get_schedule(schedule_id: int, session: SessionDep, actor: ActorDep) -> ScheduleRead:
    return schedule_service.to_read(
        schedule_service.get(session, actor=actor, schedule_id=schedule_id)
    )


@router.put("/schedules/{schedule_id}", response_model=ScheduleRead)
def replace_schedule(
    schedule_id: int,
    data: ScheduleIn,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
) -> ScheduleRead:
    """Replace the schedule's name, zone and layers; its overrides stay."""
    schedule = schedule_service.get(session, actor=actor, schedule_id=schedule_id)
    return schedule_service.to_read(
        schedule_service.replace(
            session, container.clock, actor=actor, schedule=schedule, data=data
        )
    )


@router.delete("/schedules/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_schedule(schedule_id: int, session: SessionDep, actor: ActorDep) -> Response:
    schedule = schedule_service.get(session, actor=actor, schedule_id=schedule_id)
    schedule_service.delete(session, actor=actor, schedule=schedule)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/schedules/{schedule_id}/overrides",
    response_model=OverrideRead,
    status_code=status.HTTP_201_CREATED,
)
def add_override(
    schedule_id: int,
    data: OverrideIn,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
) -> OverrideRead:
    """Person X covers from A to B; it must not overlap another override."""
    schedule = schedule_service.get(session, actor=actor, schedule_id=schedule_id)
    override = schedule_service.add_override(
        session, container.clock, actor=actor, schedule=schedule, data=data
    )
    return reads.override_read(override)


@router.delete(
    "/schedules/{schedule_id}/overrides/{override_id}", status_code=status.HTTP_204_NO_CONTENT
)
def delete_override(
    schedule_id: int, override_id: int, session: SessionDep, actor: ActorDep
) -> Response:
    schedule = schedule_service.get(session, actor=actor, schedule_id=schedule_id)
    schedule_service.delete_override(
        session, actor=actor, schedule=schedule, override_id=override_id
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/schedules/{schedule_id}/oncall", response_model=OnCallRead)
def on_call(
    schedule_id: int,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
    at: Annotated[
        AwareDatetime | None, Query(description="ISO-8601 with an offset; default now.")
    ] = None,
) -> OnCallRead:
    """Who is on call at `at` (default now), with the start and end of their shift."""
    schedule = schedule_service.get(session, actor=actor, schedule_id=schedule_id)
    moment = at if at is not None else container.clock.now()
    result = schedule_service.on_call(session, actor=actor, schedule=schedule, at=moment)
    return reads.on_call_read(schedule.id, result)


@router.get("/schedules/{schedule_id}/timeline", response_model=TimelineRead)
def timeline(
    schedule_id: int, start: StartQuery, end: EndQuery, session: SessionDep, actor: ActorDep
) -> TimelineRead:
    """The final timeline over [start, end): shifts with their person and source, and gaps."""
    schedule = schedule_service.get(session, actor=actor, schedule_id=schedule_id)
    shifts = schedule_service.timeline(
        session, actor=actor, schedule=schedule, start=start, end=end
    )
    holes = schedule_service.gaps(session, actor=actor, schedule=schedule, start=start, end=end)
    return reads.timeline_read(schedule.id, start, end, shifts, holes)


@router.get("/schedules/{schedule_id}/gaps", response_model=GapsRead)
def gaps(
    schedule_id: int, start: StartQuery, end: EndQuery, session: SessionDep, actor: ActorDep
) -> GapsRead:
    """Every interval of [start, end) in which nobody is on call."""
    schedule = schedule_service.get(session, actor=actor, schedule_id=schedule_id)
    holes = schedule_service.gaps(session, actor=actor, schedule=schedule, start=start, end=end)
    return reads.gaps_read(schedule.id, start, end, holes)


@router.get("/schedules/{schedule_id}/fairness", response_model=FairnessRead)
def fairness(
    schedule_id: int, start: StartQuery, end: EndQuery, session: SessionDep, actor: ActorDep
) -> FairnessRead:
    """Hours on call per person, and those outside business hours (Mon-Fri 09-17 local)."""
    schedule = schedule_service.get(session, actor=actor, schedule_id=schedule_id)
    rows = schedule_service.fairness(session, actor=actor, schedule=schedule, start=start, end=end)
    return reads.fairness_read(schedule.id, start, end, rows)


@router.get("/me/shifts", response_model=MyShiftsRead)
def my_shifts(
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
    start: Annotated[AwareDatetime | None, Query(description="Default now.")] = None,
    end: Annotated[AwareDatetime | None, Query(description="Default start + 14 days.")] = None,
) -> MyShiftsRead:
    """The caller's shifts across every schedule."""
    if actor.user_id is None:
        raise ValidationFailed("only a person has shifts", field="user")
    range_start = start if start is not None else container.clock.now()
    range_end = end if end is not None else range_start + timedelta(days=14)
    items = schedule_service.my_shifts(
        session, actor=actor, user_id=actor.user_id, start=range_start, end=range_end
    )
    return reads.my_shifts_read(actor.user_id, range_start, range_end, items)


@router.get("/oncall/coverage", response_model=CoverageRead)
def coverage(session: SessionDep, actor: ActorDep, container: ContainerDep) -> CoverageRead:
    """Schedules with nobody on call at some time in the next 14 days; those an escalation
    policy pages come first."""
    start = container.clock.now()
    warnings = schedule_service.coverage_warnings(session, container.clock, actor=actor)
    end = start + timedelta(days=schedule_service.COVERAGE_DAYS)
    return reads.coverage_read(start, end, warnings)


@router.post(
    "/schedules/{schedule_id}/calendar-feed",
    response_model=CalendarFeedCreated,
    status_code=status.HTTP_201_CREATED,
)
def create_schedule_feed(
    schedule_id: int, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> CalendarFeedCreated:
    """A new secret iCalendar URL for the schedule (shown once; the previous one stops)."""
    schedule = schedule_service.get(session, actor=actor, schedule_id=schedule_id)
    feed, token = calendar_service.create_schedule_feed(
        session, container.clock, actor=actor, schedule=schedule
    )
    return _created(container, feed, token)


@router.post(
    "/me/calendar-feed", response_model=CalendarFeedCreated, status_code=status.HTTP_201_CREATED
)
def create_my_feed(
    session: SessionDep, actor: ActorDep, container: ContainerDep
) -> CalendarFeedCreated:
    """A new secret iCalendar URL for the caller's shifts (shown once; the previous one stops)."""
    feed, token = calendar_service.create_user_feed(session, container.clock, actor=actor)
    return _created(container, feed, token)


def _created(container: Container, feed: CalendarFeed, token: str) -> CalendarFeedCreated:
    return CalendarFeedCreated(id=feed.id, url=feed_url(container, token), token=token)


def feed_url(container: Container, token: str) -> str:
    return f"{container.settings.base_url.rstrip('/')}/calendar/{token}.ics"
