"""Incidents: the list and one incident with its alerts. Modest on purpose: the incidents
issue grows these pages (acknowledge, resolve, timeline)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from escalate.alerts import service as alert_service
from escalate.incidents import service as incident_service
from escalate.incidents.models import IncidentStatus
from escalate.web.deps import SessionDep
from escalate.web.pages import listing
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute, error_page
from escalate.web.pages.sessions import LoginDep

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
    return render(
        request,
        "incidents/detail.html",
        {
            "nav": "incidents",
            "incident": incident,
            "alerts": alerts.items,
            "alerts_pager": listing.pager(
                request, alerts, path=f"/incidents/{incident.id}", prefix=ALERTS_PREFIX
            ),
        },
    )
