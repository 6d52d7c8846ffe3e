"""The unrouted-alert alarm. An alert that matched only the catch-all, or whose route
pages nobody, is flagged on the alert (routed = false, with the reason), counted on the
dashboard, and mailed to every active admin by a durable job queued in the same
transaction as the alert, so the alarm cannot be lost between the two."""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from escalate import mailer
from escalate.alerts.models import Alert
from escalate.auth.models import Role, User
from escalate.clock import Clock
from escalate.jobs import service as job_service
from escalate.jobs.registry import JobContext, JobRegistry, RetryPolicy
from escalate.settings import Settings

NOTIFY_UNROUTED = "alerts.notify_unrouted"
# SMTP outages are usually short; keep trying for about a day.
NOTIFY_RETRY = RetryPolicy(max_attempts=12)

log = logging.getLogger(__name__)


def raise_unrouted(session: Session, clock: Clock, *, alert_id: int) -> None:
    """Queue the admins' notice for this alert (once, whatever retries happen)."""
    job_service.enqueue(
        session,
        clock,
        kind=NOTIFY_UNROUTED,
        payload={"alert_id": alert_id},
        idempotency_key=f"{NOTIFY_UNROUTED}:{alert_id}",
        max_attempts=NOTIFY_RETRY.max_attempts,
    )


def register(registry: JobRegistry, settings: Settings) -> None:
    def notify(ctx: JobContext) -> None:
        notify_admins(ctx.session, settings, alert_id=int(ctx.payload["alert_id"]))

    registry.register(NOTIFY_UNROUTED, notify, retry=NOTIFY_RETRY)


def notify_admins(session: Session, settings: Settings, *, alert_id: int) -> list[str]:
    """Mail the alarm to every active admin; return who it went to."""
    alert = session.get(Alert, alert_id)
    if alert is None or alert.routed:
        return []  # deleted, or its route was fixed and it re-routed before the job ran
    admins = list(
        session.scalars(
            select(User.email)
            .where(User.role == Role.ADMIN, User.is_active.is_(True))
            .order_by(User.id)
        )
    )
    if not admins:
        return []
    if not settings.smtp_host:
        log.warning(
            "unrouted alert %s: no ESCALATE_SMTP_HOST, admins are not mailed (the dashboard "
            "still shows it)",
            alert_id,
        )
        return []
    mailer.send(
        settings, to=admins, subject=unrouted_subject(alert), text=unrouted_text(alert, settings)
    )
    return admins


def unrouted_subject(alert: Alert) -> str:
    return f"[Escalate] Unrouted alert: {alert.summary[:150]}"


def unrouted_text(alert: Alert, settings: Settings) -> str:
    base = settings.base_url.rstrip("/")
    labels = "\n".join(f"  {name}={value}" for name, value in sorted(alert.labels.items()))
    return (
        f"An alert reached Escalate that no routing rule sends to an on-call team.\n\n"
        f"Alert:       {alert.summary}\n"
        f"Severity:    {alert.severity}\n"
        f"Integration: {alert.integration.name}\n"
        f"Why:         {alert.unrouted_reason}\n"
        f"Labels:\n{labels or '  (none)'}\n\n"
        f"See the alert:     {base}/alerts/{alert.id}\n"
        f"Fix the routing:   {base}/integrations/{alert.integration_id}/routing\n"
    )


def raise_nobody_paged(session: Session, clock: Clock, *, incident_id: int, reason: str) -> int:
    """The route of these alerts leads to a policy that paged nobody (no such policy, or
    nobody on call in its first step): flag the incident's routed alerts unrouted with the
    reason and raise the alarm for each. Returns how many were flagged."""
    flagged = list(
        session.scalars(
            update(Alert)
            .where(Alert.incident_id == incident_id, Alert.routed.is_(True))
            .values(routed=False, unrouted_reason=reason[:1000])
            .returning(Alert.id)
            .execution_options(synchronize_session=False)
        )
    )
    for alert_id in flagged:
        raise_unrouted(session, clock, alert_id=alert_id)
    return len(flagged)
