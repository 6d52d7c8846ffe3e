"""On-call schedules: create, change and delete them with their layers and overrides, and
ask who is on call, where the gaps are and how fairly the hours fall. Functions flush,
never commit; every check happens before the first row is written."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from escalate.auth.models import User
from escalate.auth.permissions import SYSTEM, Actor, Permission, authorize
from escalate.clock import Clock
from escalate.db import find
from escalate.errors import Conflict, NotFound, ValidationFailed
from escalate.oncall import calculator
from escalate.oncall.lookup import calculator_schedule, load_schedules, restriction_of
from escalate.oncall.models import (
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Schedule,
    ScheduleLayer,
    ScheduleLayerMember,
    ScheduleOverride,
)
from escalate.oncall.schemas import (
    LayerIn,
    LayerRead,
    OverrideIn,
    OverrideRead,
    RestrictionRead,
    ScheduleIn,
    ScheduleRead,
    UserBrief,
    UserRef,
)
from escalate.pagination import Page, PageParams, paginate

# Schedules are paging configuration, like routing rules: managers and admins change them.
SCHEDULES_WRITE = Permission.INTEGRATIONS_MANAGE
# A longer range is a report nobody reads and a render nobody should wait for.
MAX_RANGE = timedelta(days=93)
COVERAGE_DAYS = 14

T = TypeVar("T")


@dataclass(frozen=True)
class ShiftView:
    """A shift of the final timeline with its person, as the adapters show it."""

    user: User
    start: datetime
    end: datetime
    source: str


@dataclass(frozen=True)
class OnCall:
    at: datetime
    shift: ShiftView | None


@dataclass(frozen=True)
class Fairness:
    user: User
    hours: float
    off_hours: float


@dataclass(frozen=True)
class MyShift:
    schedule: Schedule
    start: datetime
    end: datetime
    source: str


@dataclass(frozen=True)
class Coverage:
    schedule: Schedule
    used_by_policy: bool
    gaps: list[tuple[datetime, datetime]]


# --- reading ---------------------------------------------------------------------------------


def get(session: Session, *, actor: Actor, schedule_id: int) -> Schedule:
    """Return the schedule with its layers, members and overrides."""
    authorize(actor, Permission.READ)
    if find(session, Schedule, schedule_id) is None:
        raise NotFound(f"schedule {schedule_id} not found", field="schedule_id")
    return load_schedules(session, [schedule_id])[schedule_id]


def get_by_name(session: Session, *, name: str) -> Schedule | None:
    """Return the schedule with this name (case-insensitive), if any."""
    return session.scalar(select(Schedule).where(func.lower(Schedule.name) == name.lower()))


def find_by_name_or_id(session: Session, *, actor: Actor, key: str) -> Schedule:
    """A schedule by name, or by id when no schedule has that name and the key is a number."""
    authorize(actor, Permission.READ)
    found = get_by_name(session, name=key.strip())
    if found is not None:
        return get(session, actor=actor, schedule_id=found.id)
    if key.strip().isdigit():
        return get(session, actor=actor, schedule_id=int(key))
    raise NotFound(f"no schedule named {key!r}", field="schedule")


def list_schedules(session: Session, *, actor: Actor, page: PageParams) -> Page[Schedule]:
    """Schedules by name."""
    authorize(actor, Permission.READ)
    return paginate(session, select(Schedule).order_by(Schedule.name, Schedule.id), page)


def users_by_id(session: Session, user_ids: Iterable[int]) -> dict[int, User]:
    wanted = set(user_ids)
    if not wanted:
        return {}
    return {user.id: user for user in session.scalars(select(User).where(User.id.in_(wanted)))}


def schedule_ids_used_by_policies(session: Session) -> set[int]:
    """Schedules some escalation policy pages."""
    rows = session.scalars(
        select(EscalationTarget.schedule_id).where(EscalationTarget.schedule_id.is_not(None))
    )
    return {row for row in rows if row is not None}


def policy_names_using(session: Session, schedule_id: int) -> list[str]:
    stmt = (
        select(EscalationPolicy.name)
        .join(EscalationStep, EscalationStep.policy_id == EscalationPolicy.id)
        .join(EscalationTarget, EscalationTarget.step_id == EscalationStep.id)
        .where(EscalationTarget.schedule_id == schedule_id)
        .distinct()
    )
    return sorted(session.scalars(stmt))


# --- writing ---------------------------------------------------------------------------------


def create(session: Session, clock: Clock, *, actor: Actor, data: ScheduleIn) -> Schedule:
    """Create a schedule with its layers; nothing is written unless all of it is valid."""
    authorize(actor, SCHEDULES_WRITE)
    if get_by_name(session, name=data.name) is not None:
        raise Conflict(f"a schedule named {data.name!r} already exists", field="name")
    layers = _checked_layers(session, data)
    now = clock.now()
    schedule = Schedule(
        name=data.name,
        description=data.description,
        time_zone=data.time_zone,
        created_at=now,
        updated_at=now,
    )
    schedule.layers = layers
    session.add(schedule)
    session.flush()
    return get(session, actor=actor, schedule_id=schedule.id)


def replace(
    session: Session, clock: Clock, *, actor: Actor, schedule: Schedule, data: ScheduleIn
) -> Schedule:
    """Replace a schedule's name, zone and layers; its overrides stay as they are."""
    authorize(actor, SCHEDULES_WRITE)
    other = get_by_name(session, name=data.name)
    if other is not None and other.id != schedule.id:
        raise Conflict(f"a schedule named {data.name!r} already exists", field="name")
    layers = _checked_layers(session, data)
    schedule.name = data.name
    schedule.description = data.description
    schedule.time_zone = data.time_zone
    schedule.layers = layers
    schedule.updated_at = clock.now()
    session.flush()
    session.expire(schedule)
    return get(session, actor=actor, schedule_id=schedule.id)


def delete(session: Session, *, actor: Actor, schedule: Schedule) -> None:
    """Delete a schedule, unless an escalation policy still pages it."""
    authorize(actor, SCHEDULES_WRITE)
    policies = policy_names_using(session, schedule.id)
    if policies:
        raise Conflict(
            f"schedule {schedule.name!r} is used by escalation policy {', '.join(policies)}; "
            "remove it from the policy first",
            field="schedule_id",
        )
    session.delete(schedule)
    session.flush()


def add_override(
    session: Session, clock: Clock, *, actor: Actor, schedule: Schedule, data: OverrideIn
) -> ScheduleOverride:
    """Person X covers from A to B; refused if it overlaps another override."""
    authorize(actor, SCHEDULES_WRITE)
    user = _active_user(session, data.user, "user")
    if data.end_at <= data.start_at:
        raise ValidationFailed("end_at must be after start_at", field="end_at")
    # Two people adding overrides at once must not both pass the overlap check: the
    # schedule's row lock serializes them (SQLite has one writer anyway), and the check
    # reads the overrides afresh, after the lock.
    session.execute(select(Schedule.id).where(Schedule.id == schedule.id).with_for_update())
    overlapping = session.scalars(
        select(ScheduleOverride)
        .where(
            ScheduleOverride.schedule_id == schedule.id,
            ScheduleOverride.start_at < data.end_at,
            ScheduleOverride.end_at > data.start_at,
        )
        .order_by(ScheduleOverride.start_at)
    )
    existing = next(iter(overlapping), None)
    if existing is not None:
        raise ValidationFailed(
            f"overlaps override {existing.id} "
            f"({existing.start_at.isoformat()} to {existing.end_at.isoformat()})",
            field="start_at",
        )
    override = ScheduleOverride(
        schedule_id=schedule.id,
        user_id=user.id,
        start_at=data.start_at,
        end_at=data.end_at,
        note=data.note,
        created_at=clock.now(),
    )
    session.add(override)
    schedule.updated_at = clock.now()
    session.flush()
    session.refresh(schedule, ["overrides"])
    return override


def delete_override(
    session: Session, *, actor: Actor, schedule: Schedule, override_id: int
) -> None:
    """Remove an override of this schedule (another schedule's override is not found)."""
    authorize(actor, SCHEDULES_WRITE)
    override = find(session, ScheduleOverride, override_id)
    if override is None or override.schedule_id != schedule.id:
        raise NotFound(f"override {override_id} not found in this schedule", field="override_id")
    session.delete(override)
    session.flush()
    session.refresh(schedule, ["overrides"])


def _checked_layers(session: Session, data: ScheduleIn) -> list[ScheduleLayer]:
    """The layers as rows, after the calculator and the user table have accepted them."""
    member_ids = [
        [
            _active_user(session, ref, f"layers[{index}].participants[{position}]").id
            for position, ref in enumerate(layer.participants)
        ]
        for index, layer in enumerate(data.layers)
    ]
    layers = [
        _layer_row(index, layer, ids)
        for index, (layer, ids) in enumerate(zip(data.layers, member_ids, strict=True))
    ]
    draft = calculator.Schedule(
        time_zone=data.time_zone,
        layers=tuple(_calculator_layer(row) for row in layers),
    )
    try:
        calculator.validate(draft)
    except calculator.ScheduleError as exc:
        raise ValidationFailed(str(exc), field=_input_field(exc.field)) from None
    return layers


# The calculator names a layer's fields its own way; the error names what was sent.
_LAYER_FIELDS = {"start": "start_at", "end": "end_at", "hours": "rotation_hours"}


def _input_field(field: str) -> str:
    """ "layers[0].hours" -> "layers[0].rotation_hours"; restriction paths already match."""
    head, _, tail = field.rpartition(".")
    if head.startswith("layers[") and "." not in head and tail in _LAYER_FIELDS:
        return f"{head}.{_LAYER_FIELDS[tail]}"
    return field


def _layer_row(position: int, layer: LayerIn, member_ids: list[int]) -> ScheduleLayer:
    row = ScheduleLayer(
        position=position,
        name=layer.name,
        rotation=layer.rotation.value,
        # Hours mean nothing to a daily or weekly rotation; keeping them would mislead.
        rotation_hours=layer.rotation_hours
        if layer.rotation is calculator.Rotation.HOURS
        else None,
        start_at=layer.start_at,
        end_at=layer.end_at,
        restrictions=[
            {
                "weekdays": sorted(set(item.weekdays)),
                "start": item.start.strftime("%H:%M"),
                "end": item.end.strftime("%H:%M"),
            }
            for item in layer.restrictions
        ],
    )
    row.members = [
        ScheduleLayerMember(position=index, user_id=user_id)
        for index, user_id in enumerate(member_ids)
    ]
    return row


def _calculator_layer(row: ScheduleLayer) -> calculator.Layer:
    return calculator.Layer(
        name=row.name,
        participants=tuple(str(member.user_id) for member in row.members),
        rotation=calculator.Rotation(row.rotation),
        start=row.start_at,
        hours=row.rotation_hours,
        end=row.end_at,
        restrictions=tuple(restriction_of(item) for item in row.restrictions),
    )


def _active_user(session: Session, ref: UserRef, field: str) -> User:
    """A participant named by id or e-mail; unknown and deactivated people are refused."""
    if isinstance(ref, int) or ref.strip().isdigit():
        user = find(session, User, int(ref))
    else:
        user = session.scalar(select(User).where(func.lower(User.email) == ref.strip().lower()))
    if user is None:
        raise ValidationFailed(f"no user {ref}", field=field)
    if not user.is_active:
        raise ValidationFailed(f"user {user.email} is deactivated", field=field)
    return user


# --- questions -------------------------------------------------------------------------------


def check_range(start: datetime, end: datetime) -> None:
    """Refuse a range that is naive, backwards or longer than MAX_RANGE, naming the field."""
    for name, moment in (("start", start), ("end", end)):
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValidationFailed(f"{name} must carry a time zone offset", field=name)
    if end <= start:
        raise ValidationFailed("end must be after start", field="end")
    if end - start > MAX_RANGE:
        raise ValidationFailed(f"a range may span at most {MAX_RANGE.days} days", field="end")


def on_call(session: Session, *, actor: Actor, schedule: Schedule, at: datetime) -> OnCall:
    """Who is on call at `at`, with the bounds of their shift."""
    authorize(actor, Permission.READ)
    if at.tzinfo is None:
        raise ValidationFailed("at must carry a time zone offset", field="at")
    shift = _rendered(lambda: calculator.on_call_at(calculator_schedule(schedule), at))
    if shift is None:
        return OnCall(at=at, shift=None)
    return OnCall(at=at, shift=_views(session, [shift])[0])


def timeline(
    session: Session, *, actor: Actor, schedule: Schedule, start: datetime, end: datetime
) -> list[ShiftView]:
    """The final timeline over [start, end): who is on call when, and from which layer."""
    authorize(actor, Permission.READ)
    check_range(start, end)
    shifts = _rendered(lambda: calculator.final_timeline(calculator_schedule(schedule), start, end))
    return _views(session, shifts)


def gaps(
    session: Session, *, actor: Actor, schedule: Schedule, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """Every interval of [start, end) in which nobody is on call."""
    authorize(actor, Permission.READ)
    check_range(start, end)
    return _rendered(lambda: calculator.gaps(calculator_schedule(schedule), start, end))


def fairness(
    session: Session, *, actor: Actor, schedule: Schedule, start: datetime, end: datetime
) -> list[Fairness]:
    """Hours on call per person, and how many of them fall outside business hours."""
    authorize(actor, Permission.READ)
    check_range(start, end)
    plan = calculator_schedule(schedule)
    hours = _rendered(lambda: calculator.hours_by_participant(plan, start, end))
    off_hours = _rendered(lambda: calculator.off_hours_by_participant(plan, start, end))
    users = users_by_id(session, (int(person) for person in hours))
    rows = [
        Fairness(user=users[int(person)], hours=total, off_hours=off_hours[person])
        for person, total in hours.items()
    ]
    return sorted(rows, key=lambda row: (-row.hours, row.user.name))


def my_shifts(
    session: Session, *, actor: Actor, user_id: int, start: datetime, end: datetime
) -> list[MyShift]:
    """A person's shifts over [start, end) across every schedule, in time order."""
    authorize(actor, Permission.READ)
    check_range(start, end)
    return shifts_of_user(session, user_id=user_id, start=start, end=end)


def shifts_of_user(
    session: Session, *, user_id: int, start: datetime, end: datetime
) -> list[MyShift]:
    """my_shifts without the permission check and the range cap (the calendar feed's)."""
    involved = select(Schedule.id).where(
        or_(
            Schedule.id.in_(
                select(ScheduleLayer.schedule_id)
                .join(ScheduleLayerMember, ScheduleLayerMember.layer_id == ScheduleLayer.id)
                .where(ScheduleLayerMember.user_id == user_id)
            ),
            Schedule.id.in_(
                select(ScheduleOverride.schedule_id).where(ScheduleOverride.user_id == user_id)
            ),
        )
    )
    schedules = load_schedules(session, session.scalars(involved))
    mine = str(user_id)
    found = [
        MyShift(schedule=schedule, start=shift.start, end=shift.end, source=shift.source)
        for schedule in schedules.values()
        for shift in calculator.final_timeline(calculator_schedule(schedule), start, end)
        if shift.participant == mine
    ]
    return sorted(found, key=lambda item: (item.start, item.schedule.name))


def coverage_warnings(
    session: Session, clock: Clock, days: int = COVERAGE_DAYS, *, actor: Actor = SYSTEM
) -> list[Coverage]:
    """Every schedule with a gap in the next `days` days, those a policy pages first.

    A gap in a paged schedule means a page nobody receives: the outage of the story."""
    authorize(actor, Permission.READ)
    start = clock.now()
    end = start + timedelta(days=days)
    used = schedule_ids_used_by_policies(session)
    every_id = session.scalars(select(Schedule.id))
    warnings = []
    for schedule in load_schedules(session, every_id).values():
        holes = calculator.gaps(calculator_schedule(schedule), start, end)
        if holes:
            warnings.append(
                Coverage(schedule=schedule, used_by_policy=schedule.id in used, gaps=holes)
            )
    return sorted(warnings, key=lambda item: (not item.used_by_policy, item.schedule.name.lower()))


def on_call_now(
    session: Session, clock: Clock, *, actor: Actor, limit: int = 50
) -> list[tuple[Schedule, ShiftView | None, ShiftView | None]]:
    """For the dashboard: every schedule with who is on call now and who comes next."""
    authorize(actor, Permission.READ)
    now = clock.now()
    ids = session.scalars(select(Schedule.id).order_by(Schedule.name).limit(limit))
    rows = []
    for schedule in sorted(load_schedules(session, ids).values(), key=lambda s: s.name.lower()):
        plan = calculator_schedule(schedule)
        current = calculator.on_call_at(plan, now)
        after = current.end if current is not None else now
        following = calculator.final_timeline(plan, after, after + calculator.ON_CALL_LOOKAROUND)
        upcoming = next((shift for shift in following if shift.start >= after), None)
        rows.append((schedule, _view_or_none(session, current), _view_or_none(session, upcoming)))
    return rows


def _view_or_none(session: Session, shift: calculator.Shift | None) -> ShiftView | None:
    return _views(session, [shift])[0] if shift is not None else None


def _views(session: Session, shifts: Sequence[calculator.Shift]) -> list[ShiftView]:
    users = users_by_id(session, (int(shift.participant) for shift in shifts))
    return [
        ShiftView(
            user=users[int(shift.participant)],
            start=shift.start,
            end=shift.end,
            source=shift.source,
        )
        for shift in shifts
    ]


def _rendered(render: Callable[[], T]) -> T:
    """Run a calculation; a stored schedule it cannot render is reported by field."""
    try:
        return render()
    except calculator.ScheduleError as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None


def to_read(schedule: Schedule) -> ScheduleRead:
    """The full schedule view: layers with their participants, and overrides."""
    return ScheduleRead(
        id=schedule.id,
        name=schedule.name,
        description=schedule.description,
        time_zone=schedule.time_zone,
        created_at=schedule.created_at,
        updated_at=schedule.updated_at,
        layers=[
            LayerRead(
                id=layer.id,
                name=layer.name,
                rotation=calculator.Rotation(layer.rotation),
                rotation_hours=layer.rotation_hours,
                start_at=layer.start_at,
                end_at=layer.end_at,
                participants=[UserBrief.model_validate(m.user) for m in layer.members],
                restrictions=[RestrictionRead.model_validate(r) for r in layer.restrictions or []],
            )
            for layer in schedule.layers
        ],
        overrides=[
            OverrideRead(
                id=item.id,
                user=UserBrief.model_validate(item.user),
                start_at=item.start_at,
                end_at=item.end_at,
                note=item.note,
            )
            for item in schedule.overrides
        ],
    )
