"""The escalation engine, on the durable jobs.

`trigger` copies the incident's policy onto it (editing the policy never changes an
escalation in flight), moves its generation on and queues step 1. Each step is a job
keyed by (incident, generation, round, step); its handler locks the incident row and does
nothing unless the incident is still triggered, in that generation, waiting for that
step. So a stale timer (acknowledged, resolved, re-triggered since) or a duplicate one is
a no-op, and with any number of workers each step pages once: the row lock serialises
them, the generation and the pending step decide, the job's idempotency key and the
outbox's dedup key make a retry write nothing twice.

Paging "nobody" (an empty schedule, a policy that does not exist) is written on the
timeline; when it happens on the very first step, the incident's alerts are flagged
unrouted and the alarm goes off, by a job of its own (it writes alerts, which the ingest
path locks before incidents: doing it under the incident's row lock could deadlock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalate.accounts.models import Account, ServiceUsage
from escalate.alerts import alarm
from escalate.alerts.schemas import RouteTestResult
from escalate.auth.models import User
from escalate.clock import Clock
from escalate.incidents import lifecycle
from escalate.incidents import service as incident_service
from escalate.incidents.models import Incident, IncidentStatus
from escalate.jobs import service as job_service
from escalate.jobs.registry import JobContext, JobRegistry
from escalate.notify import links, outbox
from escalate.oncall import lookup
from escalate.oncall import policies as policy_service
from escalate.oncall.models import EscalationPolicy
from escalate.settings import Settings

TRIGGER = incident_service.TRIGGER_ESCALATION
PAGE_STEP = "escalation.page_step"
NOBODY_PAGED = "escalation.nobody_paged"


# --- the plan ------------------------------------------------------------------------------


def plan_of(policy: EscalationPolicy) -> dict[str, Any]:
    """The policy as plain JSON, as it is copied onto an incident."""
    return {
        "policy_id": policy.id,
        "name": policy.name,
        "repeat_count": policy.repeat_count,
        "steps": [
            {
                "delay_minutes": step.delay_minutes,
                "notify_account_csm": step.notify_account_csm,
                "targets": [
                    {"user_id": t.user_id, "label": t.user.name if t.user else str(t.user_id)}
                    if t.user_id is not None
                    else {
                        "schedule_id": t.schedule_id,
                        "label": t.schedule.name if t.schedule else str(t.schedule_id),
                    }
                    for t in step.targets
                ],
            }
            for step in policy.steps
        ],
    }


@dataclass(frozen=True)
class Paged:
    """One person a step reaches, and why."""

    user: User
    why: str


@dataclass(frozen=True)
class StepPeople:
    people: list[Paged]
    # Why some targets reached nobody ("nobody on call in schedule Support").
    misses: list[str]


def people_of_step(
    session: Session, now: datetime, step: dict[str, Any], *, service_id: int | None
) -> StepPeople:
    """Whom a plan step pages at `now`: its people, whoever is on call in its schedules,
    and the CSMs of the accounts using the service; each person once, inactive people
    never."""
    found: dict[int, str] = {}
    misses: list[str] = []
    targets = step.get("targets") or []
    schedule_ids = [int(t["schedule_id"]) for t in targets if t.get("schedule_id") is not None]
    schedules = lookup.load_schedules(session, schedule_ids)
    for target in targets:
        if target.get("user_id") is not None:
            found.setdefault(int(target["user_id"]), "named in the policy")
            continue
        schedule = schedules.get(int(target["schedule_id"]))
        label = schedule.name if schedule is not None else target.get("label", "?")
        try:
            on_call = lookup.on_call_user_id(schedule, now) if schedule is not None else None
        except (ValueError, KeyError) as exc:  # ScheduleError, an unknown zone
            # One broken schedule must not keep the step's other targets from being paged.
            misses.append(f"schedule {label} cannot be computed ({exc})")
            continue
        if on_call is None:
            misses.append(f"nobody on call in schedule {label}")
        else:
            found.setdefault(on_call, f"on call in schedule {label}")
    if step.get("notify_account_csm"):
        csms = _csms(session, service_id)
        if not csms:
            misses.append("no account using the service has a CSM")
        for user_id, account in csms:
            found.setdefault(user_id, f"CSM of {account}")
    users = (
        {
            u.id: u
            for u in session.scalars(
                select(User).where(User.id.in_(list(found)), User.is_active.is_(True))
            )
        }
        if found
        else {}
    )
    people = [Paged(users[uid], why) for uid, why in found.items() if uid in users]
    misses += [f"user {uid} is deactivated" for uid in found if uid not in users]
    return StepPeople(people, misses)


def _csms(session: Session, service_id: int | None) -> list[tuple[int, str]]:
    if service_id is None:
        return []
    rows = session.execute(
        select(Account.csm_user_id, Account.name)
        .join(ServiceUsage, ServiceUsage.account_id == Account.id)
        .where(ServiceUsage.service_id == service_id, Account.csm_user_id.is_not(None))
        .distinct()
        .order_by(Account.name)
    ).all()
    return [(int(user_id), name) for user_id, name in rows if user_id is not None]


def preview(
    session: Session, clock: Clock, *, policy_name: str | None, service_id: int | None
) -> list[str] | None:
    """Who step 1 of the named policy would page right now, as "Name (why)"; None when no
    policy is named, [] when it does not exist or reaches nobody. Writes nothing."""
    if not policy_name:
        return None
    policy = policy_service.get_by_name(session, name=policy_name)
    if policy is None or not policy.steps:
        return []
    step = plan_of(policy)["steps"][0]
    found = people_of_step(session, clock.now(), step, service_id=service_id)
    return [f"{p.user.name} ({p.why})" for p in found.people]


def with_people(session: Session, clock: Clock, result: RouteTestResult) -> RouteTestResult:
    """The route tester's answer with `people`: who step 1 of its policy pages right now
    (nobody for a suppressed alert)."""
    people = (
        []
        if result.suppressed_by is not None
        else preview(
            session,
            clock,
            policy_name=result.escalation_policy,
            service_id=result.service.id if result.service else None,
        )
    )
    return result.model_copy(update={"people": people})


# --- trigger -------------------------------------------------------------------------------


def trigger(session: Session, clock: Clock, incident: Incident) -> bool:
    """Start (or restart) the incident's escalation from step 1 of its policy; the caller
    holds the incident's row lock. False when nothing started (not triggered any more, no
    policy, or an unknown one)."""
    if incident.status != IncidentStatus.TRIGGERED or not incident.escalation_policy:
        return False
    now = clock.now()
    incident.escalation_generation += 1
    incident.escalation_round = 0
    policy = policy_service.get_by_name(session, name=incident.escalation_policy)
    if policy is None or not policy.steps:
        incident.escalation_plan = None
        incident.escalation_step = None
        incident.next_escalation_at = None
        reason = f"policy {incident.escalation_policy} does not exist: nobody was paged"
        lifecycle.record_event(
            session, incident_id=incident.id, at=now, kind="not_paged", summary=reason
        )
        _queue_nobody_paged(session, clock, incident, reason)
        session.flush()
        return False
    plan = plan_of(policy)
    incident.escalation_plan = plan
    incident.escalation_step = 0
    incident.next_escalation_at = now
    _queue_step(session, clock, incident, round_=0, step=0, at=now)
    repeats = f", repeated {policy.repeat_count} more time(s)" if policy.repeat_count else ""
    lifecycle.record_event(
        session,
        incident_id=incident.id,
        at=now,
        kind="escalation_started",
        summary=f"Escalation started: policy {policy.name}, {len(plan['steps'])} step(s)" + repeats,
        data={"generation": incident.escalation_generation, "policy": policy.name},
    )
    session.flush()
    return True


def _queue_step(
    session: Session, clock: Clock, incident: Incident, *, round_: int, step: int, at: datetime
) -> None:
    generation = incident.escalation_generation
    job_service.enqueue(
        session,
        clock,
        kind=PAGE_STEP,
        payload={
            "incident_id": incident.id,
            "generation": generation,
            "round": round_,
            "step": step,
        },
        run_at=at,
        idempotency_key=f"esc:{incident.id}:{generation}:{round_}:{step}",
    )


def _queue_nobody_paged(session: Session, clock: Clock, incident: Incident, reason: str) -> None:
    job_service.enqueue(
        session,
        clock,
        kind=NOBODY_PAGED,
        payload={"incident_id": incident.id, "reason": reason},
        idempotency_key=f"{NOBODY_PAGED}:{incident.id}:{incident.escalation_generation}",
    )


# --- one step ------------------------------------------------------------------------------


def page_step(
    session: Session,
    clock: Clock,
    settings: Settings,
    *,
    incident_id: int,
    generation: int,
    round_: int,
    step: int,
) -> list[int]:
    """Page one step if it is still due; returns the ids of the people paged."""
    incident = _locked(session, incident_id)
    if (
        incident is None
        or incident.status != IncidentStatus.TRIGGERED
        or incident.escalation_generation != generation
        or incident.escalation_round != round_
        or incident.escalation_step != step
        or not incident.escalation_plan
    ):
        return []  # stale or duplicate: acknowledged, resolved, restarted, or done already
    plan = incident.escalation_plan
    steps: list[dict[str, Any]] = plan["steps"]
    if step >= len(steps):
        return []
    now = clock.now()
    found = people_of_step(session, now, steps[step], service_id=incident.service_id)
    where = f"step {step + 1} of policy {plan['name']}" + (
        f", round {round_ + 1}" if round_ else ""
    )
    prefix = f"page:{incident.id}:{generation}:{round_}:{step}"
    for paged in found.people:
        outbox.page_user(
            session,
            clock,
            user=paged.user,
            message=_message(session, clock, settings, incident, paged.user),
            dedup_prefix=prefix,
        )
        lifecycle.record_event(
            session,
            incident_id=incident.id,
            at=now,
            kind="paged",
            summary=f"Paged {where}: {paged.user.name} ({paged.why})",
            data={
                "user_id": paged.user.id,
                "generation": generation,
                "round": round_,
                "step": step,
                "why": paged.why,
            },
        )
    misses = "; ".join(found.misses) or "no targets"
    if found.misses or not found.people:
        lifecycle.record_event(
            session,
            incident_id=incident.id,
            at=now,
            kind="not_paged",
            summary=f"{'Not everyone' if found.people else 'Nobody'} paged at {where}: {misses}",
            data={"generation": generation, "round": round_, "step": step},
        )
    if not found.people and round_ == 0 and step == 0:
        reason = f"policy {plan['name']} has nobody on call ({misses})"
        _queue_nobody_paged(session, clock, incident, reason)
    _advance(session, clock, incident, plan, round_=round_, step=step, now=now)
    session.flush()
    return [p.user.id for p in found.people]


def _advance(
    session: Session,
    clock: Clock,
    incident: Incident,
    plan: dict[str, Any],
    *,
    round_: int,
    step: int,
    now: datetime,
) -> None:
    """Queue the next step (or the next round) after this step's delay, or end."""
    steps = plan["steps"]
    if step + 1 < len(steps):
        following: tuple[int, int] | None = (round_, step + 1)
    elif round_ < int(plan.get("repeat_count") or 0):
        following = (round_ + 1, 0)
    else:
        following = None
    if following is None:
        incident.escalation_step = None
        incident.next_escalation_at = None
        return
    due = now + timedelta(minutes=int(steps[step]["delay_minutes"]))
    incident.escalation_round, incident.escalation_step = following
    incident.next_escalation_at = due
    _queue_step(session, clock, incident, round_=following[0], step=following[1], at=due)


def _locked(session: Session, incident_id: int) -> Incident | None:
    return session.get(Incident, incident_id, with_for_update=True, populate_existing=True)


def _message(
    session: Session, clock: Clock, settings: Settings, incident: Incident, user: User
) -> outbox.Message:
    base = settings.base_url.rstrip("/")
    urls = {
        action.value: links.create(
            session, clock, settings, incident_id=incident.id, user_id=user.id, action=action
        )
        for action in links.LinkAction
    }
    urls["incident"] = f"{base}/incidents/{incident.id}"
    severity = str(incident.severity)
    subject = f"[Escalate] #{incident.number} {severity} {incident.title}"[:500]
    body = (
        f"Incident #{incident.number} ({severity}) needs you: {incident.title}\n\n"
        f"Acknowledge: {urls['acknowledge']}\n"
        f"Resolve:     {urls['resolve']}\n"
        f"Open:        {urls['incident']}\n\n"
        f"The links act as you, once, for {int(links.DEFAULT_TTL.total_seconds() // 3600)} hours.\n"
    )
    return outbox.Message(
        kind="page",
        subject=subject,
        body=body,
        incident_id=incident.id,
        data={
            "incident_id": incident.id,
            "number": incident.number,
            "severity": severity,
            "title": incident.title,
            "links": urls,
        },
    )


# --- job handlers --------------------------------------------------------------------------


def register(registry: JobRegistry, settings: Settings) -> None:
    def run_trigger(ctx: JobContext) -> None:
        incident = _locked(ctx.session, int(ctx.payload["incident_id"]))
        if incident is not None:
            trigger(ctx.session, ctx.clock, incident)

    def run_step(ctx: JobContext) -> None:
        page_step(
            ctx.session,
            ctx.clock,
            settings,
            incident_id=int(ctx.payload["incident_id"]),
            generation=int(ctx.payload["generation"]),
            round_=int(ctx.payload["round"]),
            step=int(ctx.payload["step"]),
        )

    def run_nobody_paged(ctx: JobContext) -> None:
        alarm.raise_nobody_paged(
            ctx.session,
            ctx.clock,
            incident_id=int(ctx.payload["incident_id"]),
            reason=str(ctx.payload["reason"]),
        )

    registry.register(TRIGGER, run_trigger)
    registry.register(PAGE_STEP, run_step)
    registry.register(NOBODY_PAGED, run_nobody_paged)
