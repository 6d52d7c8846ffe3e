"""Incidents: the list, and one incident with its alerts, its escalation and its timeline
(the paging history), with acknowledge and resolve buttons."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from escalate.alerts import service as alert_service
from escalate.auth.models import User
from escalate.incidents import lifecycle
from escalate.incidents import service as incident_service
from escalate.incidents.models import IncidentStatus
from escalate.pagination import MAX_LIMIT, PageParams
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages import listing
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute, error_page
from escalate.web.pages.sessions import FormLoginDep, LoginDep

router = APIRouter(route_class=PageRoute)

ALERTS_PREFIX = "alerts_"


@router.get("/incidents")
def list_incidents(request: Request, session: SessionDep, login: LoginDep) -> Response:
    status_text = request.query_params.get("status", "")
    if status_text and status_text not in {s.value for s in IncidentStatus}:
        return error_page(request, 400, detail="Unknown status in the filter.")
    page = incident_service.list_incidents(
        session,
        actor=login.actor,
        page=listing.page_params(request),
        status=IncidentStatus(status_text) if status_text else None,
    )
    return render(
        request,
        "incidents/list.html",
        {
            "nav": "incidents",
            "incidents": page.items,
            "pager": listing.pager(request, page, path="/incidents"),
            "status": status_text,
            "statuses": [(s.value, s.value.capitalize()) for s in IncidentStatus],
        },
    )


@router.get("/incidents/{incident_id}")
def show_incident(
    incident_id: str, request: Request, session: SessionDep, login: LoginDep
) -> Response:
    incident = incident_service.get_incident(
        session,
        actor=login.actor,
        incident_id=listing.path_id(incident_id, noun="incident", field="incident_id"),
    )
    alerts = alert_service.list_alerts(
        session,
        actor=login.actor,
        page=listing.page_params(request, prefix=ALERTS_PREFIX),
        incident_id=incident.id,
    )
    events = lifecycle.timeline(
        session,
        actor=login.actor,
        incident_id=incident.id,
        page=PageParams(limit=MAX_LIMIT, offset=0),
    )
    acknowledged_by = (
        session.get(User, incident.acknowledged_by_user_id)
        if incident.acknowledged_by_user_id
        else None
    )
    plan = incident.escalation_plan or {}
    return render(
        request,
        "incidents/detail.html",
        {
            "nav": "incidents",
            "incident": incident,
            "events": events.items,
            "events_total": events.total,
            "acknowledged_by": acknowledged_by,
            "plan_steps": len(plan.get("steps") or []),
            "saved": request.query_params.get("saved", ""),
            "can_respond": login.role in lifecycle.RESPONDERS,
            "alerts": alerts.items,
            "alerts_pager": listing.pager(
                request, alerts, path=f"/incidents/{incident.id}", prefix=ALERTS_PREFIX
            ),
        },
    )


@router.post("/incidents/{incident_id}/acknowledge")
def acknowledge_incident(
    incident_id: str, session: SessionDep, container: ContainerDep, login: FormLoginDep
) -> Response:
    found = listing.path_id(incident_id, noun="incident", field="incident_id")
    lifecycle.acknowledge(session, container.clock, actor=login.actor, incident_id=found)
    return RedirectResponse(f"/incidents/{found}?saved=acknowledged", status_code=303)


@router.post("/incidents/{incident_id}/resolve")
def resolve_incident(
    incident_id: str, session: SessionDep, container: ContainerDep, login: FormLoginDep
) -> Response:
    found = listing.path_id(incident_id, noun="incident", field="incident_id")
    lifecycle.resolve(session, container.clock, actor=login.actor, incident_id=found)
    return RedirectResponse(f"/incidents/{found}?saved=resolved", status_code=303)
