"""The SLA clocks of an incident, one set per affected account, kept in `sla_clocks`.

`sync` recomputes them (sla.calculator does the arithmetic) from what is stored: the
incident's severity, its customer-facing updates and its resolution, and each
non-excluded affected account's impact start (the incident's start unless edited) and
contract in force then. It is idempotent: run
twice, the second run writes nothing. The incidents domain calls it through
incidents.observers after every change that matters (the composition root registers it);
the reminder and breach jobs it queues call it again when they run, so a job whose clock
was met or moved since finds nothing to do.

An open clock's stored `breached`/`late_minutes` say when the breach was first found;
sla.reads computes the live lateness at read time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalate.accounts import service as account_service
from escalate.accounts.models import Account, Contract
from escalate.clock import Clock
from escalate.incidents import checklists, lifecycle
from escalate.incidents.models import (
    AffectedAccount,
    Audience,
    Incident,
    IncidentEvent,
    StatusUpdate,
    UpdateDelivery,
    UpdateKind,
)
from escalate.jobs import service as job_service
from escalate.sla import calculator
from escalate.sla.calculator import ClockValue, Targets
from escalate.sla.models import ClockKind, SlaClock, SlaTarget

REMIND = "sla.remind"
CHECK_BREACH = "sla.check_breach"
NO_CONTRACT_EVENT = "sla_no_contract"
BREACH_EVENT = "sla_breach"
CUSTOMER_FACING = (Audience.CUSTOMERS, Audience.PUBLIC)
DEFAULT_REMINDER_LEAD = timedelta(minutes=5)
# The breach check runs when the first whole minute of lateness is complete: at the due
# time itself the promise is still kept.
BREACH_CHECK_DELAY = timedelta(minutes=1)

KIND_LABELS = {
    ClockKind.ACKNOWLEDGEMENT: "customer acknowledgement",
    ClockKind.UPDATE: "customer update",
    ClockKind.RESOLUTION: "resolution",
}

# The key under which the composition root puts the reminder lead in every session's
# `info` (bootstrap.build, from the settings): the observer interface passes only session,
# clock and incident id, and a container's sessions are what carry its configuration.
REMINDER_LEAD_INFO = "sla_reminder_lead"


def session_info(*, reminder_lead_minutes: int) -> dict[str, object]:
    """What the container's session factory carries for this domain."""
    return {REMINDER_LEAD_INFO: timedelta(minutes=reminder_lead_minutes)}


def reminder_lead(session: Session) -> timedelta:
    """How long before a due time the reminder goes, for this session's container."""
    lead = session.info.get(REMINDER_LEAD_INFO, DEFAULT_REMINDER_LEAD)
    assert isinstance(lead, timedelta)
    return lead


ClockKey = tuple[int, ClockKind, int]


def clock_label(kind: ClockKind | str, sequence: int) -> str:
    """ "customer acknowledgement", "first customer update", "customer update", "resolution"."""
    kind = ClockKind(kind)
    if kind == ClockKind.UPDATE and sequence == 0:
        return "first customer update"
    return KIND_LABELS[kind]


def incident_start(incident: Incident) -> datetime:
    """When the clocks of an account with no impact start of its own start: the incident's
    start, or when it was opened."""
    return incident.started_at or incident.opened_at


def contract_in_force(session: Session, *, account_id: int, at: datetime) -> Contract | None:
    """The account's contract whose term covers `at`, on the account's own calendar (the
    latest-starting one if several)."""
    account = session.get(Account, account_id)
    if account is None:
        return None
    day = account_service.local_today(account, now=at)
    return session.scalar(
        select(Contract)
        .where(
            Contract.account_id == account_id,
            Contract.term_start <= day,
            Contract.term_end >= day,
        )
        .order_by(Contract.term_start.desc(), Contract.id.desc())
        .limit(1)
    )


def targets_for(session: Session, *, account_id: int, at: datetime, severity: str) -> Targets | str:
    """The targets that bind the incident for this account, or why there are none."""
    contract = contract_in_force(session, account_id=account_id, at=at)
    if contract is None:
        return "no contract in force at the incident's start"
    target = session.scalar(
        select(SlaTarget).where(
            SlaTarget.policy_id == contract.sla_policy_id, SlaTarget.severity == str(severity)
        )
    )
    if target is None:
        return f"its SLA policy has no {severity} targets"
    return Targets(
        acknowledgement_minutes=target.acknowledgement_minutes,
        first_update_minutes=target.first_update_minutes,
        update_interval_minutes=target.update_interval_minutes,
        resolution_minutes=target.resolution_minutes,
    )


@dataclass(frozen=True)
class CustomerUpdates:
    """The incident's customer-facing updates (customers or public), oldest first, and
    which accounts each was mailed to."""

    rows: list[tuple[int, datetime, str]]  # (id, posted at, kind)
    delivered: set[tuple[int, int]]  # (update id, account id)

    def told(self, account_id: int, joined_at: datetime) -> list[calculator.Update]:
        """What counts for one account: the updates mailed to it, and those posted once it
        was among the affected (it reads them in the portal). An update that went out
        before the account was drawn in never reached it, and meets none of its clocks."""
        return [
            calculator.Update(at=at, acknowledgement_only=kind == UpdateKind.ACKNOWLEDGEMENT)
            for update_id, at, kind in self.rows
            if at >= joined_at or (update_id, account_id) in self.delivered
        ]


def customer_updates(session: Session, incident_id: int) -> CustomerUpdates:
    rows = session.execute(
        select(StatusUpdate.id, StatusUpdate.posted_at, StatusUpdate.kind)
        .where(
            StatusUpdate.incident_id == incident_id,
            StatusUpdate.audience.in_([a.value for a in CUSTOMER_FACING]),
        )
        .order_by(StatusUpdate.posted_at, StatusUpdate.id)
    ).all()
    delivered = session.execute(
        select(UpdateDelivery.status_update_id, UpdateDelivery.account_id)
        .join(StatusUpdate, StatusUpdate.id == UpdateDelivery.status_update_id)
        .where(StatusUpdate.incident_id == incident_id)
        .distinct()
    ).all()
    return CustomerUpdates(
        rows=[(update_id, at, str(kind)) for update_id, at, kind in rows],
        delivered={(update_id, account_id) for update_id, account_id in delivered},
    )


def sync(session: Session, clock: Clock, incident_id: int) -> list[SlaClock]:
    """Recompute and store the incident's clocks; queue their reminders and breach checks;
    note once on the timeline an affected account without SLA targets and each breach.
    Returns the incident's clocks. Flushes, never commits."""
    session.flush()
    # Serialises concurrent syncs of one incident (a no-op on SQLite, whose writers are
    # serialised anyway); a column select, so the caller's loaded objects stay as they are.
    session.execute(select(Incident.id).where(Incident.id == incident_id).with_for_update())
    incident = session.get(Incident, incident_id)
    if incident is None:
        return []
    now = clock.now()
    start = incident_start(incident)
    updates = customer_updates(session, incident_id)
    wanted: dict[ClockKey, ClockValue] = {}
    affected = session.execute(
        select(
            AffectedAccount.account_id, AffectedAccount.impact_start, AffectedAccount.created_at
        ).where(AffectedAccount.incident_id == incident_id, AffectedAccount.excluded.is_(False))
    ).all()
    for account_id, impact_start, joined_at in affected:
        # An account's promises run from when its own impact began (an account drawn in
        # later, or whose window was corrected, is not owed an answer from before).
        account_start = impact_start or start
        targets = targets_for(
            session, account_id=account_id, at=account_start, severity=incident.severity
        )
        if isinstance(targets, str):
            _note_no_targets(session, incident, account_id, targets, now)
            continue
        values = calculator.compute(
            start=account_start,
            targets=targets,
            updates=updates.told(account_id, joined_at),
            resolved_at=incident.resolved_at,
            now=now,
        )
        for value in values:
            wanted[(account_id, value.kind, value.sequence)] = value
    rows = _store(session, incident_id, wanted)
    session.flush()
    for key, row in rows.items():
        value = wanted[key]
        if value.breached:
            _note_breach(session, incident, row, value, now)
        if value.is_open:
            _queue_timers(session, clock, row)
    if incident.resolved_at is not None:
        _judge_update_cadence(session, clock, incident, list(rows.values()))
    session.flush()
    return list(rows.values())


def _judge_update_cadence(
    session: Session, clock: Clock, incident: Incident, rows: list[SlaClock]
) -> None:
    """At resolution the update clocks say whether the protocol's "updates every N minutes"
    item was kept: every one met in time ticks it (done at the resolution); any breach
    leaves it undone, so the postmortem's compliance reads "missed", and the timeline says
    once which promises were broken. Without update clocks (no account under contract)
    people judge it by hand."""
    updates = [row for row in rows if ClockKind(row.kind) == ClockKind.UPDATE]
    if not updates:
        return
    assert incident.resolved_at is not None
    late = [row for row in updates if row.breached]
    if not late:
        checklists.record(
            session, clock, incident.id, checklists.UPDATE_CADENCE, incident.resolved_at, None
        )
        return
    if _has_event(session, incident.id, "checklist", {"check": checklists.UPDATE_CADENCE}):
        return
    worst = max(row.late_minutes or 0 for row in late)
    accounts = len({row.account_id for row in late})
    lifecycle.record_event(
        session,
        incident_id=incident.id,
        at=incident.resolved_at,
        kind="checklist",
        summary=f"Checklist: update cadence not kept: {len(late)} customer update(s) late "
        f"for {accounts} account(s), the worst by {worst} min",
        actor_label="sla",
        data={"check": checklists.UPDATE_CADENCE, "late_updates": len(late), "worst": worst},
    )


def on_incident_changed(session: Session, clock: Clock, incident_id: int) -> None:
    """The incidents.observers hook: keep the clocks in step with the incident."""
    sync(session, clock, incident_id)


def _store(
    session: Session, incident_id: int, wanted: dict[ClockKey, ClockValue]
) -> dict[ClockKey, SlaClock]:
    existing = {
        (row.account_id, ClockKind(row.kind), row.sequence): row
        for row in session.scalars(select(SlaClock).where(SlaClock.incident_id == incident_id))
    }
    for key, row in existing.items():
        if key not in wanted:
            session.delete(row)
    rows: dict[ClockKey, SlaClock] = {}
    for key, value in wanted.items():
        found = existing.get(key)
        if found is None:
            row = SlaClock(
                incident_id=incident_id,
                account_id=key[0],
                kind=value.kind,
                sequence=value.sequence,
            )
            session.add(row)
        else:
            row = found
        _assign(row, value)
        rows[key] = row
    return rows


def _assign(row: SlaClock, value: ClockValue) -> None:
    """Set only what changed, so a second sync writes (and audits) nothing."""
    late = value.late_minutes
    if value.is_open and value.breached and row.breached and row.met_at is None:
        late = row.late_minutes  # an open breach keeps the lateness it was found with
    fields = {
        "target_minutes": value.target_minutes,
        "started_at": value.started_at,
        "due_at": value.due_at,
        "met_at": value.met_at,
        "breached": value.breached,
        "late_minutes": late,
    }
    for name, new in fields.items():
        if getattr(row, name, None) != new:
            setattr(row, name, new)


def _note_no_targets(
    session: Session, incident: Incident, account_id: int, reason: str, now: datetime
) -> None:
    if _has_event(session, incident.id, NO_CONTRACT_EVENT, {"account_id": account_id}):
        return
    account = session.get(Account, account_id)
    name = account.name if account is not None else f"account {account_id}"
    lifecycle.record_event(
        session,
        incident_id=incident.id,
        at=now,
        kind=NO_CONTRACT_EVENT,
        summary=f"No SLA clocks for {name}: {reason}",
        actor_label="sla",
        data={"account_id": account_id, "reason": reason},
    )


def _note_breach(
    session: Session, incident: Incident, row: SlaClock, value: ClockValue, now: datetime
) -> None:
    key = {"account_id": row.account_id, "kind": str(row.kind), "sequence": row.sequence}
    if _has_event(session, incident.id, BREACH_EVENT, key):
        return
    account = session.get(Account, row.account_id)
    name = account.name if account is not None else f"account {row.account_id}"
    label = clock_label(row.kind, row.sequence)
    due = f"{value.due_at:%H:%M} UTC"
    if value.met_at is not None:
        how = f"met {value.late_minutes} min late (due {due}, met {value.met_at:%H:%M} UTC)"
    elif value.closed_at is not None:
        how = f"{value.late_minutes} min late: due {due}, not met before resolution"
    else:
        how = f"overdue since {due}, not met yet"
    lifecycle.record_event(
        session,
        incident_id=incident.id,
        at=min(now, _breach_known_at(value)),
        kind=BREACH_EVENT,
        summary=f"SLA breach for {name}: {label} {how}",
        actor_label="sla",
        data={
            **key,
            "account": name,
            "due_at": value.due_at.isoformat(),
            "late_minutes": value.late_minutes,
        },
    )


def _breach_known_at(value: ClockValue) -> datetime:
    """When the line's words were true. Live, the breach is noted a whole minute after the
    due time, while still open; noted after the fact (the demo's load, a late sync), the
    line also tells how it ended, so it goes where that became known: at the update that
    finally met it, or at the resolution that closed it."""
    return value.met_at or value.closed_at or value.due_at + BREACH_CHECK_DELAY


def _has_event(session: Session, incident_id: int, kind: str, match: dict[str, object]) -> bool:
    # An incident's timeline is short; JSON matching in Python works the same on both engines.
    datas = session.scalars(
        select(IncidentEvent.data).where(
            IncidentEvent.incident_id == incident_id, IncidentEvent.kind == kind
        )
    )
    return any(all(data.get(k) == v for k, v in match.items()) for data in datas)


def timer_payload(row: SlaClock) -> dict[str, object]:
    return {
        "incident_id": row.incident_id,
        "account_id": row.account_id,
        "kind": str(row.kind),
        "sequence": row.sequence,
        "due_at": row.due_at.isoformat(),
    }


def timer_key(row: SlaClock) -> str:
    """A clock's promise: which account, which clock, due when. Not the row's id: a clock
    deleted and re-created (an account excluded, then included again) is the same promise,
    and must not be reminded or paged for twice."""
    due = f"{row.due_at:%Y%m%dT%H%M%S}"
    return f"{row.incident_id}:{row.account_id}:{row.kind}:{row.sequence}:{due}"


def _queue_timers(session: Session, clock: Clock, row: SlaClock) -> None:
    """A reminder `lead` before the due time (at once when that is past) and a breach check
    after it, keyed by clock and due time: a re-sync never queues them twice, and a moved
    due time gets timers of its own (the old ones find the clock moved and do nothing)."""
    now = clock.now()
    key = timer_key(row)
    payload = timer_payload(row)
    if now < row.due_at:
        job_service.enqueue(
            session,
            clock,
            kind=REMIND,
            payload=payload,
            run_at=max(row.due_at - reminder_lead(session), now),
            idempotency_key=f"{REMIND}:{key}",
        )
    if not row.breached:
        job_service.enqueue(
            session,
            clock,
            kind=CHECK_BREACH,
            payload=payload,
            run_at=max(row.due_at + BREACH_CHECK_DELAY, now),
            idempotency_key=f"{CHECK_BREACH}:{key}",
        )
