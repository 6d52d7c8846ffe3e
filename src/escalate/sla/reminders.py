"""The clocks' durable timers: a reminder to the incident's communications lead (else its
commander) before a due time, and a breach check just after it.

Both handlers re-sync the incident's clocks first and act only on a clock that is still
open with the due time the job was queued for: a clock met or moved since makes the job a
no-op, and the outbox's dedup key (clock and due time) makes a retried job page nobody
twice."""

from __future__ import annotations

import math
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalate.accounts.models import Account
from escalate.auth.models import User
from escalate.clock import Clock
from escalate.incidents import lifecycle
from escalate.incidents.models import Incident, IncidentRole
from escalate.jobs.registry import JobContext, JobRegistry
from escalate.notify import outbox
from escalate.settings import Settings
from escalate.sla import clocks
from escalate.sla.models import ClockKind, SlaClock

# Who is reminded, in order of preference.
REMINDED_ROLES = ("communications_lead", "commander")
REMINDER_EVENT = "sla_reminder"


def who_to_remind(session: Session, *, incident_id: int) -> tuple[User, str] | None:
    """The incident's current communications lead, else its commander (active people only),
    with the role's name; None when it has neither."""
    rows = session.execute(
        select(IncidentRole.role, User)
        .join(User, User.id == IncidentRole.user_id)
        .where(
            IncidentRole.incident_id == incident_id,
            IncidentRole.role.in_(REMINDED_ROLES),
            IncidentRole.ended_at.is_(None),
            User.is_active.is_(True),
        )
        .order_by(IncidentRole.assigned_at.desc(), IncidentRole.id.desc())
    ).all()
    for role in REMINDED_ROLES:
        for held, user in rows:
            if held == role:
                return user, role
    return None


def _open_clock(
    session: Session,
    clock: Clock,
    *,
    incident_id: int,
    account_id: int,
    kind: str,
    sequence: int,
    due_at: datetime,
) -> SlaClock | None:
    """The clock after a fresh sync, if it is still open and still due at `due_at`."""
    clocks.sync(session, clock, incident_id)
    row = session.scalar(
        select(SlaClock).where(
            SlaClock.incident_id == incident_id,
            SlaClock.account_id == account_id,
            SlaClock.kind == kind,
            SlaClock.sequence == sequence,
        )
    )
    incident = session.get(Incident, incident_id)
    if row is None or incident is None or row.met_at is not None or row.due_at != due_at:
        return None
    if row.kind == ClockKind.UPDATE and incident.resolved_at is not None:
        return None  # closed by resolution
    return row


def reminder_text(account: str, label: str, due_at: datetime, now: datetime, number: int) -> str:
    """The reminder's words, e.g. "TechCorp: customer update due at 15:40 UTC (in 5 min)
    for incident #1"."""
    left = math.ceil((due_at - now).total_seconds() / 60)
    when = f"in {left} min" if left > 0 else "now"
    return f"{account}: {label} due at {due_at:%H:%M} UTC ({when}) for incident #{number}"


def remind(
    session: Session,
    clock: Clock,
    settings: Settings,
    *,
    incident_id: int,
    account_id: int,
    kind: str,
    sequence: int,
    due_at: datetime,
) -> int | None:
    """Page the person who keeps the promise; returns their user id (None: nothing to do,
    or nobody to remind, which the timeline then says)."""
    row = _open_clock(
        session,
        clock,
        incident_id=incident_id,
        account_id=account_id,
        kind=kind,
        sequence=sequence,
        due_at=due_at,
    )
    if row is None:
        return None
    incident = session.get(Incident, incident_id)
    assert incident is not None  # the clock's foreign key
    now = clock.now()
    names = _accounts_due_alike(session, row)
    who_for = names[0] if len(names) == 1 else f"{len(names)} accounts ({', '.join(names)})"
    text = reminder_text(
        who_for, clocks.clock_label(row.kind, row.sequence), row.due_at, now, incident.number
    )
    data = {**clocks.timer_payload(row), "account": ", ".join(names)}
    target = who_to_remind(session, incident_id=incident_id)
    if target is None:
        lifecycle.record_event(
            session,
            incident_id=incident_id,
            at=now,
            kind=REMINDER_EVENT,
            actor_label="sla",
            summary=f"{text}; nobody reminded: the incident has no communications lead "
            "or commander",
            data=data,
        )
        row.reminded_at = now
        session.flush()
        return None
    user, role = target
    url = f"{settings.base_url.rstrip('/')}/incidents/{incident.id}"
    message = outbox.Message(
        kind="sla_reminder",
        subject=f"[Escalate] {text}"[:500],
        body=f"{text}.\n\nIncident #{incident.number}: {incident.title}\nOpen: {url}\n",
        incident_id=incident.id,
        data={**data, "number": incident.number, "url": url},
    )
    # Not outbox.page_user: its delayed rules are cancelled once the incident is
    # acknowledged, and a customer promise outlives the acknowledgement. One page per
    # promise and due time, whatever the number of accounts it is due to: the first of
    # their reminder jobs sends it, naming them all, and the others find it sent.
    prefix = f"sla:{row.incident_id}:{row.kind}:{row.sequence}:{row.due_at:%Y%m%dT%H%M%S}"
    sent = [
        outbox.add(
            session,
            clock,
            dedup_key=f"{prefix}:u{user.id}:r{index}",
            user_id=user.id,
            reach=reach,
            message=message,
        )
        for index, reach in enumerate(outbox.reaches_of(session, user))
    ]
    row.reminded_at = now
    if any(sent):
        lifecycle.record_event(
            session,
            incident_id=incident_id,
            at=now,
            kind=REMINDER_EVENT,
            actor_label="sla",
            summary=f"Reminded {user.name} ({role.replace('_', ' ')}): {text}",
            data={**data, "user_id": user.id, "role": role},
        )
    session.flush()
    return user.id


def _accounts_due_alike(session: Session, row: SlaClock) -> list[str]:
    """The names of the accounts owed the same promise at the same time (this clock's
    included), open ones only."""
    return list(
        session.scalars(
            select(Account.name)
            .join(SlaClock, SlaClock.account_id == Account.id)
            .where(
                SlaClock.incident_id == row.incident_id,
                SlaClock.kind == row.kind,
                SlaClock.sequence == row.sequence,
                SlaClock.due_at == row.due_at,
                SlaClock.met_at.is_(None),
            )
            .order_by(Account.name)
        )
    )


def _payload_args(ctx: JobContext) -> dict[str, object]:
    p = ctx.payload
    return {
        "incident_id": int(p["incident_id"]),
        "account_id": int(p["account_id"]),
        "kind": str(p["kind"]),
        "sequence": int(p["sequence"]),
        "due_at": datetime.fromisoformat(str(p["due_at"])),
    }


def register(registry: JobRegistry, settings: Settings) -> None:
    def run_remind(ctx: JobContext) -> None:
        args = _payload_args(ctx)
        remind(ctx.session, ctx.clock, settings, **args)  # type: ignore[arg-type]

    def run_check_breach(ctx: JobContext) -> None:
        # The sync marks the clock breached and writes the timeline line once.
        clocks.sync(ctx.session, ctx.clock, int(ctx.payload["incident_id"]))

    registry.register(clocks.REMIND, run_remind)
    registry.register(clocks.CHECK_BREACH, run_check_breach)
