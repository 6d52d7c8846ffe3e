"""An incident's SLA clocks, per affected account, refreshed live in the browser.

`GET /incidents/{id}/sla` is a page of its own; with `?fragment=1` it answers only the
clocks (templates/incidents/_sla_clocks.html), which the page's script re-fetches every few
seconds. The incident page includes the same partial with `sla_context(...)`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from escalate.auth.permissions import Actor
from escalate.clock import Clock
from escalate.incidents import service as incident_service
from escalate.incidents.models import Incident
from escalate.pagination import MAX_LIMIT, PageParams
from escalate.sla import reads as sla_reads
from escalate.sla.reads import ClockView
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages import listing
from escalate.web.pages.alerts import REFRESH_RANGE, REFRESH_SECONDS
from escalate.web.pages.rendering import render, render_fragment
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.sessions import LoginDep

router = APIRouter(route_class=PageRoute)


@dataclass
class AccountClocks:
    account_id: int
    account_name: str
    clocks: list[ClockView] = field(default_factory=list)

    @property
    def breached(self) -> int:
        return sum(1 for c in self.clocks if c.breached)


def sla_context(
    session: Session, clock: Clock, *, actor: Actor, incident: Incident
) -> dict[str, Any]:
    """What templates/incidents/_sla_clocks.html needs: each account's clocks as of now."""
    page = sla_reads.list_for_incident(
        session,
        clock,
        actor=actor,
        incident_id=incident.id,
        page=PageParams(limit=MAX_LIMIT, offset=0),
    )
    groups: dict[int, AccountClocks] = {}
    for view in page.items:
        group = groups.setdefault(
            view.account_id, AccountClocks(view.account_id, view.account_name)
        )
        group.clocks.append(view)
    now: datetime = clock.now()
    return {
        "sla_incident": incident,
        "sla_accounts": list(groups.values()),
        "sla_unclocked": sla_reads.accounts_without_clocks(session, incident=incident),
        "sla_now": now,
        "sla_fragment_url": f"/incidents/{incident.id}/sla?fragment=1",
    }


@router.get("/incidents/{incident_id}/sla")
def show_incident_sla(
    incident_id: str,
    request: Request,
    session: SessionDep,
    login: LoginDep,
    container: ContainerDep,
) -> Response:
    incident = incident_service.get_incident(
        session,
        actor=login.actor,
        incident_id=listing.path_id(incident_id, noun="incident", field="incident_id"),
    )
    context = sla_context(session, container.clock, actor=login.actor, incident=incident)
    params = request.query_params
    if params.get("fragment"):
        return render_fragment(request, "incidents/_sla_clocks.html", context)
    refresh = min(
        max(listing.query_int(params.get("refresh"), REFRESH_SECONDS), REFRESH_RANGE[0]),
        REFRESH_RANGE[1],
    )
    return render(
        request,
        "incidents/sla.html",
        {**context, "nav": "incidents", "incident": incident, "refresh_seconds": refresh},
    )
