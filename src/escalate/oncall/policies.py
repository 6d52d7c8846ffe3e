"""Escalation policies: create, read, change, delete. Functions flush, never commit.

Routing rules name a policy by its name, so a policy a rule names can be neither renamed
nor deleted (that would silently unroute the rule's alerts)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from escalate.alerts.models import RoutingRule
from escalate.auth.models import User
from escalate.auth.permissions import Actor, Permission, authorize
from escalate.clock import Clock
from escalate.db import find
from escalate.errors import Conflict, NotFound, ValidationFailed
from escalate.oncall.models import EscalationPolicy, EscalationStep, EscalationTarget, Schedule
from escalate.oncall.policy_schemas import (
    PolicyCreate,
    PolicyRead,
    PolicyUpdate,
    StepIn,
    StepRead,
    TargetRead,
)
from escalate.pagination import Page, PageParams, paginate

# Policies decide who is woken at night: the people who manage routing manage them too.
WRITE = Permission.INTEGRATIONS_MANAGE

_LOADED = (
    selectinload(EscalationPolicy.steps)
    .selectinload(EscalationStep.targets)
    .selectinload(EscalationTarget.user),
    selectinload(EscalationPolicy.steps)
    .selectinload(EscalationStep.targets)
    .selectinload(EscalationTarget.schedule),
)


def list_policies(session: Session, *, actor: Actor, page: PageParams) -> Page[EscalationPolicy]:
    """Policies by name, with their steps and targets."""
    authorize(actor, Permission.READ)
    stmt = select(EscalationPolicy).options(*_LOADED)
    return paginate(session, stmt.order_by(EscalationPolicy.name, EscalationPolicy.id), page)


def get(session: Session, *, actor: Actor, policy_id: int) -> EscalationPolicy:
    """One policy or NotFound."""
    authorize(actor, Permission.READ)
    policy = find(session, EscalationPolicy, policy_id, options=list(_LOADED))
    if policy is None:
        raise NotFound(f"escalation policy {policy_id} not found", field="policy_id")
    return policy


def get_by_name(session: Session, *, name: str) -> EscalationPolicy | None:
    """The policy with this name, whatever its case (as routing rules name it)."""
    return session.scalar(
        select(EscalationPolicy)
        .where(func.lower(EscalationPolicy.name) == name.strip().lower())
        .options(*_LOADED)
    )


def require_by_name(session: Session, *, name: str, field: str) -> EscalationPolicy:
    """The policy a request names in one of its fields; ValidationFailed naming the field
    when there is none (the request is wrong, not the address)."""
    policy = get_by_name(session, name=name)
    if policy is None:
        raise ValidationFailed(f"no escalation policy named {name!r}", field=field)
    return policy


def find_by_name_or_id(session: Session, *, actor: Actor, key: str) -> EscalationPolicy:
    """A policy by its name, or by its id when `key` is a number and no policy has it as name."""
    authorize(actor, Permission.READ)
    policy = get_by_name(session, name=key)
    if policy is None and key.strip().isdigit():
        return get(session, actor=actor, policy_id=int(key))
    if policy is None:
        raise NotFound(f"no escalation policy named {key!r}", field="policy")
    return policy


def create(session: Session, clock: Clock, *, actor: Actor, data: PolicyCreate) -> EscalationPolicy:
    """A new policy; every target must exist, and the name must be free."""
    authorize(actor, WRITE)
    _require_free_name(session, data.name)
    now = clock.now()
    policy = EscalationPolicy(
        name=data.name,
        description=data.description,
        repeat_count=data.repeat_count,
        created_at=now,
        updated_at=now,
    )
    policy.steps = _steps(session, data.steps)
    session.add(policy)
    session.flush()
    return policy


def update(
    session: Session, clock: Clock, *, actor: Actor, policy: EscalationPolicy, data: PolicyUpdate
) -> EscalationPolicy:
    """Change a policy. Escalations in flight keep the copy they started with."""
    authorize(actor, WRITE)
    fields = data.model_fields_set
    if "name" in fields and data.name is not None and data.name != policy.name:
        if data.name.lower() != policy.name.lower():
            _require_free_name(session, data.name)
            _require_unused(session, policy, doing="renamed")
        policy.name = data.name
    if "description" in fields:
        policy.description = data.description
    if "repeat_count" in fields and data.repeat_count is not None:
        policy.repeat_count = data.repeat_count
    if "steps" in fields and data.steps is not None:
        new_steps = _steps(session, data.steps)
        policy.steps.clear()
        session.flush()  # the old steps go before the new ones take their positions
        policy.steps.extend(new_steps)
    policy.updated_at = clock.now()
    session.flush()
    return policy


def delete(session: Session, *, actor: Actor, policy: EscalationPolicy) -> None:
    """Delete a policy no routing rule names."""
    authorize(actor, WRITE)
    _require_unused(session, policy, doing="deleted")
    session.delete(policy)
    session.flush()


def to_read(policy: EscalationPolicy) -> PolicyRead:
    return PolicyRead(
        id=policy.id,
        name=policy.name,
        description=policy.description,
        repeat_count=policy.repeat_count,
        steps=[
            StepRead(
                position=step.position,
                delay_minutes=step.delay_minutes,
                notify_account_csm=step.notify_account_csm,
                targets=[_target_read(target) for target in step.targets],
            )
            for step in policy.steps
        ],
        created_at=policy.created_at,
        updated_at=policy.updated_at,
    )


def _target_read(target: EscalationTarget) -> TargetRead:
    if target.user is not None:
        return TargetRead(type="user", id=target.user.id, name=target.user.name)
    assert target.schedule is not None
    return TargetRead(type="schedule", id=target.schedule.id, name=target.schedule.name)


# --- rules ---------------------------------------------------------------------------------


def _require_free_name(session: Session, name: str) -> None:
    if get_by_name(session, name=name) is not None:
        raise Conflict(f"an escalation policy named {name!r} exists already", field="name")


def _require_unused(session: Session, policy: EscalationPolicy, *, doing: str) -> None:
    rules = list(
        session.scalars(
            select(RoutingRule.name)
            .where(func.lower(RoutingRule.escalation_policy) == policy.name.lower())
            .order_by(RoutingRule.id)
            .limit(5)
        )
    )
    if rules:
        names = ", ".join(repr(name) for name in rules)
        raise Conflict(
            f"routing rules {names} name policy {policy.name!r}: point them elsewhere before "
            f"it is {doing}",
            field="name",
        )


def _steps(session: Session, steps: Sequence[StepIn]) -> list[EscalationStep]:
    """New step rows with their targets resolved; nothing is added to the session when a
    target is unknown (the error names it)."""
    built = []
    for position, step in enumerate(steps):
        targets = [
            EscalationTarget(user_id=_user_id(session, ref, field=f"steps[{position}].users[{i}]"))
            for i, ref in enumerate(step.users)
        ]
        targets += [
            EscalationTarget(
                schedule_id=_schedule_id(session, ref, field=f"steps[{position}].schedules[{i}]")
            )
            for i, ref in enumerate(step.schedules)
        ]
        built.append(
            EscalationStep(
                position=position,
                delay_minutes=step.delay_minutes,
                notify_account_csm=step.notify_account_csm,
                targets=targets,
            )
        )
    return built


def _user_id(session: Session, ref: str | int, *, field: str) -> int:
    text = str(ref).strip()
    if "@" in text:
        found = session.scalar(select(User.id).where(func.lower(User.email) == text.lower()))
    else:
        found = _id_of(session, User, text)
    if found is None:
        raise ValidationFailed(f"no user {text!r}", field=field)
    return found


def _schedule_id(session: Session, ref: str | int, *, field: str) -> int:
    text = str(ref).strip()
    found = session.scalar(select(Schedule.id).where(func.lower(Schedule.name) == text.lower()))
    if found is None:
        found = _id_of(session, Schedule, text)
    if found is None:
        raise ValidationFailed(f"no schedule {text!r}", field=field)
    return found


def _id_of(session: Session, model: type[User] | type[Schedule], text: str) -> int | None:
    if not text.isdigit():
        return None
    row = find(session, model, int(text))
    return row.id if row is not None else None
