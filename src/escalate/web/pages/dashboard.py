"""The dashboard: alerts nobody would be paged for (the unrouted alarm), who is on call now
and where the schedules have holes, open incidents, how healthy the accounts are, and
which ones need attention now."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from escalate.accounts import service as account_service
from escalate.accounts.models import Health
from escalate.alerts import service as alert_service
from escalate.alerts.models import Alert
from escalate.auth.permissions import Actor
from escalate.incidents import service as incident_service
from escalate.incidents.models import IncidentStatus
from escalate.oncall import schedules as schedule_service
from escalate.pagination import PageParams
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.sessions import LoginDep

router = APIRouter(route_class=PageRoute)

ATTENTION_LIMIT = 10
ON_CALL_LIMIT = 20
UNROUTED_LIMIT = 5
OPEN_INCIDENT = (IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED)


@router.get("/")
def dashboard(
    request: Request, session: SessionDep, container: ContainerDep, login: LoginDep
) -> Response:
    counts: dict[str, int] = {}
    attention = []
    for health in Health:
        # Critical and at-risk accounts are listed; the others are only counted.
        wanted = ATTENTION_LIMIT if health in (Health.CRITICAL, Health.AT_RISK) else 1
        page = account_service.list_accounts(
            session, actor=login.actor, page=PageParams(limit=wanted), health=health
        )
        counts[health.value] = page.total
        if wanted > 1:
            attention.extend(page.items)
    attention_total = counts[Health.CRITICAL.value] + counts[Health.AT_RISK.value]
    unrouted_total, unrouted = _open_unrouted(session, login.actor)
    incidents = {
        status.value: incident_service.list_incidents(
            session, actor=login.actor, page=PageParams(limit=1), status=status
        ).total
        for status in OPEN_INCIDENT
    }
    return render(
        request,
        "dashboard.html",
        {
            "nav": "dashboard",
            "counts": counts,
            "total": sum(counts.values()),
            "attention": attention,
            "attention_more": attention_total - len(attention),
            "unrouted_total": unrouted_total,
            "alerts": unrouted,
            "incidents": incidents,
            "on_call": schedule_service.on_call_now(
                session, container.clock, actor=login.actor, limit=ON_CALL_LIMIT
            ),
            "coverage": schedule_service.coverage_warnings(
                session, container.clock, actor=login.actor
            ),
            "coverage_days": schedule_service.COVERAGE_DAYS,
        },
    )


def _open_unrouted(session: Session, actor: Actor) -> tuple[int, list[Alert]]:
    """The alarm: open alerts that no rule routes and no silence covers, newest first."""
    page = alert_service.list_alerts(
        session,
        actor=actor,
        page=PageParams(limit=UNROUTED_LIMIT),
        routed=False,
        suppressed=False,
        open_only=True,
    )
    return page.total, page.items
