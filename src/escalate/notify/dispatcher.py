"""The dispatcher: delivers the outbox, with retries, backoff and fallback between methods.

Each round has three steps, and only the middle one touches the network:

1. **Claim**, one short transaction: due rows (`pending` with `due_at <= now`, or `sending`
   whose lease ran out because its dispatcher died) are locked (`FOR UPDATE SKIP LOCKED` on
   PostgreSQL; on SQLite every transaction is `BEGIN IMMEDIATE`, so the single writer
   serialises claims), marked `sending` under this dispatcher's id with a lease, and their
   `attempts` bumped. A row whose condition no longer holds (an "unacknowledged" page for an
   incident acknowledged or resolved since) is cancelled here instead.
2. **Deliver**, outside any transaction: never hold SQLite's write lock, or a PostgreSQL
   row lock, across a network call that may take seconds.
3. **Record**, one short transaction: the outcome is written by an UPDATE guarded by
   (id, locked_by, attempts, status `sending`), so a dispatcher that lost its lease cannot
   overwrite the result of the one that took the row over. With the outcome go a line on
   the incident's timeline and, when the method is given up on, a fallback notification
   to the person's next contact method.

Delivery is at-least-once: a crash between 2 and 3 leaves the row `sending` until its
lease runs out, and then it is sent again. Every attempt of one notification carries the
same identity (`X-Escalate-Delivery: <id>` on webhooks, `Message-ID:
<notification-<id>@...>` on e-mail), so receivers can drop that rare resend.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select, true, update
from sqlalchemy.orm import Session, sessionmaker

from escalate.background import BackgroundLoop
from escalate.clock import Clock
from escalate.db import transaction
from escalate.incidents.models import Incident, IncidentEvent, IncidentStatus
from escalate.jobs.worker import default_worker_id
from escalate.notify import channels, outbox
from escalate.notify.channels import DeliveryFailed, Outgoing
from escalate.notify.models import Channel, ContactMethod, Notification, NotificationStatus
from escalate.settings import Settings

log = logging.getLogger(__name__)

BACKOFF_BASE = timedelta(seconds=10)
BACKOFF_CAP = timedelta(minutes=10)
BACKOFF_JITTER = 0.1  # at most +10 %, so retries of many rows do not arrive in lockstep
TIMELINE_ACTOR = "notifier"
MAX_ERROR_CHARS = 500


def retry_delay(
    attempt: int,
    *,
    base: timedelta = BACKOFF_BASE,
    cap: timedelta = BACKOFF_CAP,
    jitter: float = BACKOFF_JITTER,
    rand: Callable[[], float] = random.random,
    retry_after: float | None = None,
) -> timedelta:
    """How long to wait after failed attempt number `attempt` (1-based): base * 2^(n-1),
    capped, stretched by at most `jitter`; never less than the receiver's Retry-After
    (itself capped, so a receiver cannot park a page for a day)."""
    exponent = min(max(attempt, 1) - 1, 30)
    delay = min(base * (2**exponent), cap)
    delay = delay * (1 + jitter * rand())
    if retry_after is not None:
        delay = max(delay, min(timedelta(seconds=retry_after), cap))
    return delay


@dataclass(frozen=True)
class Claimed:
    """A notification this dispatcher holds, with what recording its outcome needs."""

    outgoing: Outgoing
    max_attempts: int
    dedup_key: str
    user_id: int | None
    contact_method_id: int | None
    condition: str | None
    fallback_of_id: int | None


class Dispatcher(BackgroundLoop):
    thread_name = "escalate-notify"

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        clock: Clock,
        settings: Settings,
        *,
        dispatcher_id: str | None = None,
        batch_size: int = 20,
        jitter: float = BACKOFF_JITTER,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.settings = settings
        self.dispatcher_id = dispatcher_id or f"notify:{default_worker_id()}"
        self.lease = timedelta(seconds=settings.notify_lease_seconds)
        self.batch_size = batch_size
        self.poll_interval = settings.notify_poll_seconds
        self.jitter = jitter
        self._transport = transport
        self._client: httpx.Client | None = None
        super().__init__()

    # -- one round ---------------------------------------------------------------------

    def run_once(self, limit: int | None = None) -> int:
        """Claim what is due now and deliver it; return how many rows left the due queue
        (delivered, retried later, failed or cancelled)."""
        claimed, cancelled = self.claim(limit or self.batch_size)
        for item in claimed:
            self.deliver(item)
        return len(claimed) + cancelled

    def drain(self) -> int:
        """Run rounds until nothing is due now."""
        total = 0
        while done := self.run_once():
            total += done
        return total

    def claim(self, limit: int) -> tuple[list[Claimed], int]:
        """Take up to `limit` due notifications; return them and how many others left the
        due queue without a send (cancelled, or given up after a lost last attempt)."""
        with transaction(self.session_factory, clock=self.clock) as session:
            now = self.clock.now()
            rows = self._due_rows(session, now, limit)
            secrets = _secrets_of(session, rows)
            statuses = _incident_statuses(session, rows)
            claimed: list[Claimed] = []
            settled = 0
            for row in rows:
                secret = secrets.get(row.contact_method_id or 0)
                incident_status = statuses.get(row.incident_id or 0)
                if _condition_gone(row.condition, incident_status):
                    settled += 1
                    self._cancel(session, row, incident_status, now)
                    continue
                if row.status == NotificationStatus.SENDING and row.attempts >= row.max_attempts:
                    # Its last attempt's dispatcher died mid-send; it may have arrived.
                    settled += 1
                    self._give_up(session, _claimed(row, secret), "lease expired", now)
                    continue
                row.status = NotificationStatus.SENDING
                row.locked_by = self.dispatcher_id
                row.lease_expires_at = now + self.lease
                row.attempts += 1
                claimed.append(_claimed(row, secret))
        return claimed, settled

    def _due_rows(self, session: Session, now: datetime, limit: int) -> list[Notification]:
        """Lock up to `limit` due rows: expired leases first (rare, and overdue), then
        pending rows by due time. Two queries, so each walks the (status, due_at) index in
        order instead of sorting every due row of an OR."""
        expired = session.scalars(
            select(Notification)
            .where(
                Notification.status == NotificationStatus.SENDING,
                Notification.lease_expires_at < now,
            )
            .order_by(Notification.lease_expires_at, Notification.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if len(expired) >= limit:
            return list(expired)
        pending = session.scalars(
            select(Notification)
            .where(Notification.status == NotificationStatus.PENDING, Notification.due_at <= now)
            .order_by(Notification.due_at, Notification.id)
            .limit(limit - len(expired))
            .with_for_update(skip_locked=True)
        ).all()
        return [*expired, *pending]

    def deliver(self, item: Claimed) -> str:
        """Deliver one claimed notification and record the outcome; return the status."""
        started = self.clock.now()
        try:
            channels.deliver(self.settings, self.client, item.outgoing, now=started)
        except DeliveryFailed as exc:
            return self._record_failure(item, exc)
        except Exception as exc:  # a bug in a channel must not kill the loop
            log.exception("notification %s: unexpected delivery error", item.outgoing.id)
            return self._record_failure(item, channels.TransientFailure(type(exc).__name__))
        return self._record_success(item)

    # -- recording ---------------------------------------------------------------------

    def _record_success(self, item: Claimed) -> str:
        out = item.outgoing
        with transaction(self.session_factory, clock=self.clock) as session:
            now = self.clock.now()
            if not self._guarded(
                session,
                item,
                status=NotificationStatus.DELIVERED,
                delivered_at=now,
                lease_expires_at=None,
                last_error=None,
            ):
                return _lease_lost(item)
            self._timeline(
                session, item, now, f"{channels.describe(out.channel, out.address)} delivered"
            )
        return NotificationStatus.DELIVERED

    def _record_failure(self, item: Claimed, exc: DeliveryFailed) -> str:
        out = item.outgoing
        with transaction(self.session_factory, clock=self.clock) as session:
            now = self.clock.now()
            reason = exc.reason[:MAX_ERROR_CHARS]
            if not exc.permanent and out.attempt < item.max_attempts:
                delay = retry_delay(out.attempt, jitter=self.jitter, retry_after=exc.retry_after)
                if not self._guarded(
                    session,
                    item,
                    status=NotificationStatus.PENDING,
                    due_at=now + delay,
                    locked_by=None,
                    lease_expires_at=None,
                    last_error=reason,
                ):
                    return _lease_lost(item)
                seconds = round(delay.total_seconds())
                summary = (
                    f"{channels.describe(out.channel, out.address)} failed: {reason}, "
                    f"retry in {seconds} s"
                )
                self._timeline(session, item, now, summary, error=reason, retry_in=seconds)
                log.warning("notification %s attempt %s: %s", out.id, out.attempt, reason)
                return NotificationStatus.PENDING
            if not self._guarded(session, item, status=NotificationStatus.SENDING):
                return _lease_lost(item)
            why = reason if exc.permanent else f"{reason}, after {out.attempt} attempts"
            self._give_up(session, item, why, now)
        return NotificationStatus.FAILED

    def _give_up(self, session: Session, item: Claimed, reason: str, now: datetime) -> None:
        """Mark the notification failed and queue the next contact method, if any."""
        out = item.outgoing
        session.execute(
            update(Notification)
            .where(Notification.id == out.id)
            .values(status=NotificationStatus.FAILED, lease_expires_at=None, last_error=reason)
            .execution_options(synchronize_session=False)
        )
        fallback = _queue_fallback(session, self.clock, item)
        summary = f"{channels.describe(out.channel, out.address)} failed: {reason}"
        if fallback is not None:
            summary += f"; falling back to {channels.describe(*fallback[1:])}"
        self._timeline(
            session,
            item,
            now,
            summary,
            error=reason,
            final=True,
            fallback_notification_id=fallback[0] if fallback else None,
        )
        log.warning("notification %s failed for good: %s", out.id, reason)

    def _cancel(
        self, session: Session, row: Notification, incident_status: str | None, now: datetime
    ) -> None:
        row.status = NotificationStatus.CANCELLED
        row.lease_expires_at = None
        row.last_error = f"incident {incident_status}"
        if row.incident_id is not None:
            session.add(
                IncidentEvent(
                    incident_id=row.incident_id,
                    at=now,
                    kind="notification",
                    actor_user_id=None,
                    actor_label=TIMELINE_ACTOR,
                    summary=f"{channels.describe(row.channel, row.address)} cancelled: "
                    f"incident {incident_status}",
                    data={
                        "notification_id": row.id,
                        "channel": str(row.channel),
                        "user_id": row.user_id,
                        "status": NotificationStatus.CANCELLED.value,
                    },
                )
            )

    def _guarded(self, session: Session, item: Claimed, **values: Any) -> bool:
        """Update the row only while this dispatcher's claim on this attempt still stands."""
        result = session.execute(
            update(Notification)
            .where(
                Notification.id == item.outgoing.id,
                Notification.locked_by == self.dispatcher_id,
                Notification.attempts == item.outgoing.attempt,
                Notification.status == NotificationStatus.SENDING,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    def _timeline(
        self, session: Session, item: Claimed, now: datetime, summary: str, **extra: Any
    ) -> None:
        out = item.outgoing
        if out.incident_id is None:
            return
        data = {
            "notification_id": out.id,
            "channel": str(out.channel),
            "attempt": out.attempt,
            "user_id": item.user_id,
            "contact_method_id": item.contact_method_id,
            **{key: value for key, value in extra.items() if value is not None},
        }
        session.add(
            IncidentEvent(
                incident_id=out.incident_id,
                at=now,
                kind="notification",
                actor_user_id=None,
                actor_label=TIMELINE_ACTOR,
                summary=summary,
                data=data,
            )
        )

    # -- the loop ----------------------------------------------------------------------

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            self._client = httpx.Client(transport=self._transport, follow_redirects=False)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def run_forever(self, stop_event: threading.Event | None = None) -> None:
        """Deliver until `stop_event` is set (or `stop()` is called)."""
        stop = self._stop = stop_event or self._stop
        log.info("notification dispatcher %s started", self.dispatcher_id)
        try:
            while not stop.is_set():
                self._wake.clear()  # before looking, so a wake during the round is kept
                try:
                    done = self.run_once()
                except Exception:
                    log.exception("notification dispatcher %s: round failed", self.dispatcher_id)
                    done = 0
                if not done and not stop.is_set():
                    self._wake.wait(self.poll_interval)
        finally:
            self.close()
            log.info("notification dispatcher %s stopped", self.dispatcher_id)


def _secrets_of(session: Session, rows: list[Notification]) -> dict[int, str | None]:
    ids = {row.contact_method_id for row in rows if row.contact_method_id is not None}
    if not ids:
        return {}
    found = session.execute(
        select(ContactMethod.id, ContactMethod.secret).where(ContactMethod.id.in_(ids))
    ).all()
    return {method_id: secret for method_id, secret in found}


def _incident_statuses(session: Session, rows: list[Notification]) -> dict[int, str]:
    ids = {row.incident_id for row in rows if row.incident_id is not None}
    if not ids:
        return {}
    found = session.execute(select(Incident.id, Incident.status).where(Incident.id.in_(ids)))
    return {incident_id: str(status) for incident_id, status in found.all()}


def _condition_gone(condition: str | None, incident_status: str | None) -> bool:
    return condition == outbox.UNACKNOWLEDGED and incident_status in (
        IncidentStatus.ACKNOWLEDGED,
        IncidentStatus.RESOLVED,
    )


def _claimed(row: Notification, secret: str | None) -> Claimed:
    return Claimed(
        outgoing=Outgoing(
            id=row.id,
            channel=Channel(row.channel),
            address=row.address,
            secret=secret,
            kind=row.kind,
            subject=row.subject,
            body=row.body,
            incident_id=row.incident_id,
            attempt=row.attempts,
            data=dict(row.data or {}),
        ),
        max_attempts=row.max_attempts,
        dedup_key=row.dedup_key,
        user_id=row.user_id,
        contact_method_id=row.contact_method_id,
        condition=row.condition,
        fallback_of_id=row.fallback_of_id,
    )


def _queue_fallback(
    session: Session, clock: Clock, item: Claimed
) -> tuple[int, Channel, str] | None:
    """Queue the page on the person's first active method (by position) not yet tried for
    it; return (id, channel, address) of the new row, or None if every method was tried."""
    if item.user_id is None:
        return None
    tried, root_key = _tried_methods(session, item)
    method = session.scalar(
        select(ContactMethod)
        .where(
            ContactMethod.user_id == item.user_id,
            ContactMethod.is_active.is_(True),
            ContactMethod.id.not_in(tried) if tried else true(),
        )
        .order_by(ContactMethod.position, ContactMethod.id)
        .limit(1)
    )
    if method is None:
        return None
    out = item.outgoing
    row_id = outbox.add(
        session,
        clock,
        dedup_key=f"{root_key}:fb:m{method.id}",
        user_id=item.user_id,
        reach=outbox.Reach(Channel(method.channel), method.address, method.id, timedelta()),
        message=outbox.Message(
            kind=out.kind,
            subject=out.subject,
            body=out.body,
            incident_id=out.incident_id,
            data=out.data,
        ),
        # A fallback for a page arrives late; once someone acknowledged, it is noise.
        condition=item.condition or (outbox.UNACKNOWLEDGED if out.kind == "page" else None),
        fallback_of_id=out.id,
    )
    if row_id is None:
        return None
    return row_id, Channel(method.channel), method.address


def _tried_methods(session: Session, item: Claimed) -> tuple[list[int], str]:
    """The methods already used along this page's chain of fallbacks, and the chain's first
    dedup key (what the fallbacks' dedup keys are made from)."""
    tried = [item.contact_method_id] if item.contact_method_id is not None else []
    root_key = item.dedup_key
    parent_id = item.fallback_of_id
    seen: set[int] = set()
    while parent_id is not None and parent_id not in seen:
        seen.add(parent_id)
        parent = session.execute(
            select(
                Notification.contact_method_id,
                Notification.dedup_key,
                Notification.fallback_of_id,
            ).where(Notification.id == parent_id)
        ).one_or_none()
        if parent is None:
            break
        if parent.contact_method_id is not None:
            tried.append(parent.contact_method_id)
        root_key = parent.dedup_key
        parent_id = parent.fallback_of_id
    return tried, root_key


def _lease_lost(item: Claimed) -> str:
    log.warning(
        "notification %s attempt %s: lease lost to another dispatcher; outcome not recorded",
        item.outgoing.id,
        item.outgoing.attempt,
    )
    return "lease_lost"
