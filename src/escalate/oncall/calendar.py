"""iCalendar (RFC 5545) feeds of on-call shifts at secret URLs, one per schedule or per
person. The token in the URL is the only credential (calendar apps cannot log in), so it
carries 256 random bits and only its digest is stored; rotating revokes the old one."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar, Event
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from escalate import keys
from escalate.auth.models import User
from escalate.auth.permissions import Actor, Permission, authorize
from escalate.clock import Clock
from escalate.errors import NotAuthenticated, ValidationFailed
from escalate.oncall import calculator
from escalate.oncall import schedules as schedule_service
from escalate.oncall.lookup import calculator_schedule, load_schedules
from escalate.oncall.models import CalendarFeed, Schedule

TOKEN_PREFIX = "esc_cal_"
WINDOW_BEFORE = timedelta(days=7)
WINDOW_AFTER = timedelta(days=60)
# Rendered this much wider than the window, so a shift crossing its edge keeps its real
# start (and with it its UID) from one fetch to the next.
MARGIN = timedelta(days=31)
PRODID = "-//Escalate//On-call schedules//EN"


def create_schedule_feed(
    session: Session, clock: Clock, *, actor: Actor, schedule: Schedule
) -> tuple[CalendarFeed, str]:
    """A new secret URL for the schedule's feed; any earlier one stops working."""
    authorize(actor, schedule_service.SCHEDULES_WRITE)
    return _replace_feed(session, clock, schedule_id=schedule.id, user_id=None)


def create_user_feed(session: Session, clock: Clock, *, actor: Actor) -> tuple[CalendarFeed, str]:
    """A new secret URL for the actor's own shifts; any earlier one stops working."""
    authorize(actor, Permission.READ)
    if actor.user_id is None:
        raise ValidationFailed("only a signed-in person has shifts of their own", field="user")
    return _replace_feed(session, clock, schedule_id=None, user_id=actor.user_id)


def _replace_feed(
    session: Session, clock: Clock, *, schedule_id: int | None, user_id: int | None
) -> tuple[CalendarFeed, str]:
    now = clock.now()
    session.execute(
        update(CalendarFeed)
        .where(
            CalendarFeed.schedule_id.is_(None)
            if schedule_id is None
            else CalendarFeed.schedule_id == schedule_id,
            CalendarFeed.user_id.is_(None) if user_id is None else CalendarFeed.user_id == user_id,
            CalendarFeed.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    token = keys.new_secret(TOKEN_PREFIX)
    feed = CalendarFeed(
        token_hash=keys.digest(token),
        schedule_id=schedule_id,
        user_id=user_id,
        created_at=now,
    )
    session.add(feed)
    session.flush()
    return feed, token


def feed_for_token(session: Session, *, token: str) -> CalendarFeed:
    """The live feed this secret opens; unknown and revoked tokens open nothing."""
    feed = session.scalar(
        select(CalendarFeed).where(
            CalendarFeed.token_hash == keys.digest(token), CalendarFeed.revoked_at.is_(None)
        )
    )
    if feed is None:
        raise NotAuthenticated("unknown or revoked calendar link", field="token")
    return feed


def render_feed(session: Session, clock: Clock, *, token: str) -> bytes:
    """The feed's calendar: shifts from a week ago to two months ahead."""
    feed = feed_for_token(session, token=token)
    now = clock.now()
    start, end = now - WINDOW_BEFORE, now + WINDOW_AFTER
    calendar = _calendar()
    if feed.schedule_id is not None:
        schedule = load_schedules(session, [feed.schedule_id])[feed.schedule_id]
        calendar.add("x-wr-calname", f"On call: {schedule.name}")
        shifts = calculator.final_timeline(
            calculator_schedule(schedule), start - MARGIN, end + MARGIN
        )
        users = schedule_service.users_by_id(session, (int(s.participant) for s in shifts))
        for shift in shifts:
            if shift.end > start and shift.start < end:
                name = users[int(shift.participant)].name
                calendar.add_component(
                    _event(schedule, shift.start, shift.end, f"On call: {name}", now)
                )
    else:
        assert feed.user_id is not None  # the table's check constraint: one or the other
        owner = session.get(User, feed.user_id)
        calendar.add("x-wr-calname", f"On call: {owner.name if owner else 'shifts'}")
        mine = schedule_service.shifts_of_user(
            session, user_id=feed.user_id, start=start - MARGIN, end=end + MARGIN
        )
        for item in mine:
            if item.end > start and item.start < end:
                summary = f"On call: {item.schedule.name}"
                calendar.add_component(
                    _event(item.schedule, item.start, item.end, summary, now, feed.user_id)
                )
    return bytes(calendar.to_ical())


def _calendar() -> Calendar:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    return calendar


def _event(
    schedule: Schedule,
    start: datetime,
    end: datetime,
    summary: str,
    now: datetime,
    user_id: int | None = None,
) -> Event:
    event = Event()
    # Stable per shift: the same shift keeps its UID, so calendar apps update, not duplicate.
    owner = f"-u{user_id}" if user_id is not None else ""
    event.add("uid", f"shift-{schedule.id}{owner}-{start:%Y%m%dT%H%M%SZ}@escalate")
    event.add("dtstamp", now)
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    event.add("description", f"Schedule {schedule.name} ({schedule.time_zone})")
    event.add("transp", "TRANSPARENT")
    return event
