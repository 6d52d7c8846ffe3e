"""Writing notifications into the outbox, inside the caller's transaction.

Dispatchers deliver them afterwards (notify.dispatcher); a row's `dedup_key` makes writing
the same notification twice (a retried job, a duplicate timer) a no-op."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker

from escalate.auth.models import User
from escalate.clock import Clock
from escalate.db import dialect_insert
from escalate.notify.models import (
    Channel,
    ContactMethod,
    Notification,
    NotificationRule,
    NotificationStatus,
)

UNACKNOWLEDGED = "unacknowledged"
DEFAULT_MAX_ATTEMPTS = 6
# Set on a session that wrote a notification; the in-process dispatcher wakes on its commit.
WAKE_FLAG = "notifications_written"


@dataclass(frozen=True)
class Message:
    """What to tell a person; each channel renders it its own way."""

    kind: str
    subject: str
    body: str
    incident_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reach:
    """One way to reach a person: a method, and how long after the page to use it."""

    channel: Channel
    address: str
    contact_method_id: int | None
    delay: timedelta


def reaches_of(session: Session, user: User) -> list[Reach]:
    """The user's notification rules; with none, the first active contact method at once;
    with no contact method at all, their login e-mail at once (nobody is unreachable)."""
    rules = session.execute(
        select(NotificationRule.delay_minutes, ContactMethod)
        .join(ContactMethod, NotificationRule.contact_method_id == ContactMethod.id)
        .where(NotificationRule.user_id == user.id, ContactMethod.is_active.is_(True))
        .order_by(NotificationRule.delay_minutes, ContactMethod.position, ContactMethod.id)
    ).all()
    if rules:
        return [
            Reach(Channel(method.channel), method.address, method.id, timedelta(minutes=delay))
            for delay, method in rules
        ]
    method = session.scalar(
        select(ContactMethod)
        .where(ContactMethod.user_id == user.id, ContactMethod.is_active.is_(True))
        .order_by(ContactMethod.position, ContactMethod.id)
        .limit(1)
    )
    if method is not None:
        return [Reach(Channel(method.channel), method.address, method.id, timedelta())]
    return [Reach(Channel.EMAIL, user.email, None, timedelta())]


def page_user(
    session: Session, clock: Clock, *, user: User, message: Message, dedup_prefix: str
) -> list[int]:
    """Queue a page to one person by every notification rule of theirs. Rules with a delay
    are conditional: cancelled instead of sent if the incident is acknowledged by then.
    Returns the ids of the rows written (none when they were all written before)."""
    written = []
    for index, reach in enumerate(reaches_of(session, user)):
        row_id = add(
            session,
            clock,
            dedup_key=f"{dedup_prefix}:u{user.id}:r{index}",
            user_id=user.id,
            reach=reach,
            message=message,
            condition=UNACKNOWLEDGED if reach.delay > timedelta() else None,
        )
        if row_id is not None:
            written.append(row_id)
    return written


def add(
    session: Session,
    clock: Clock,
    *,
    dedup_key: str,
    user_id: int | None,
    reach: Reach,
    message: Message,
    condition: str | None = None,
    fallback_of_id: int | None = None,
) -> int | None:
    """Write one notification; None when one with this dedup key exists already."""
    now = clock.now()
    values = {
        "dedup_key": dedup_key[:255],
        "kind": message.kind,
        "incident_id": message.incident_id,
        "user_id": user_id,
        "contact_method_id": reach.contact_method_id,
        # Channel(...): a channel read from the database is a plain str.
        "channel": Channel(reach.channel).value,
        "address": reach.address,
        "subject": message.subject,
        "body": message.body,
        "data": message.data,
        "condition": condition,
        "status": NotificationStatus.PENDING.value,
        "due_at": now + reach.delay,
        "attempts": 0,
        "max_attempts": DEFAULT_MAX_ATTEMPTS,
        "created_at": now,
        "fallback_of_id": fallback_of_id,
    }
    dialect = session.get_bind().dialect.name
    insert = dialect_insert(dialect)
    stmt = (
        insert(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["dedup_key"])
        .returning(Notification.id)
    )
    row_id = session.execute(stmt).scalar_one_or_none()
    if row_id is not None:
        session.info[WAKE_FLAG] = True
    return row_id


def install_wake_hook(factory: sessionmaker[Session], wake: Callable[[], None]) -> None:
    """Call `wake` after every commit of a session from `factory` that wrote a notification
    (the dispatcher then delivers it at once instead of at its next poll)."""

    def _after_commit(session: Session) -> None:
        if session.info.pop(WAKE_FLAG, False):
            wake()

    def _after_rollback(session: Session) -> None:
        session.info.pop(WAKE_FLAG, None)

    event.listen(factory, "after_commit", _after_commit)
    event.listen(factory, "after_rollback", _after_rollback)


def depth(session: Session, *, now: datetime) -> dict[str, int]:
    """Outbox depth for /metrics: rows due now, waiting (later or for a retry), being sent,
    and failed. Delivered and cancelled rows are the bulk and never interesting here."""
    due = (Notification.status == NotificationStatus.PENDING) & (Notification.due_at <= now)
    waiting = (Notification.status == NotificationStatus.PENDING) & (Notification.due_at > now)
    row = session.execute(
        select(
            func.count().filter(due),
            func.count().filter(waiting),
            func.count().filter(Notification.status == NotificationStatus.SENDING),
            func.count().filter(Notification.status == NotificationStatus.FAILED),
        ).where(
            Notification.status.in_(
                [NotificationStatus.PENDING, NotificationStatus.SENDING, NotificationStatus.FAILED]
            )
        )
    ).one()
    return dict(zip(("due", "waiting", "sending", "failed"), (int(n) for n in row), strict=True))
