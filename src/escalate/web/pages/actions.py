"""One-click links from notifications: /actions/{token}. No login: the signed, single-use
token is the credential. GET only shows what the link would do (mail scanners fetch links
to look at them, and must not acknowledge anything); the button POSTs."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from escalate import errors
from escalate.auth import service as auth_service
from escalate.incidents import lifecycle
from escalate.incidents import service as incident_service
from escalate.incidents.models import Incident
from escalate.notify import links
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute, error_page
from escalate.web.status import status_for

router = APIRouter(route_class=PageRoute)

VIA = "one-click link"
_VERBS = {links.LinkAction.ACKNOWLEDGE: "Acknowledge", links.LinkAction.RESOLVE: "Resolve"}


def _refused(request: Request, exc: links.LinkRefused) -> Response:
    spent = "used" in exc.detail or "expired" in exc.detail
    return error_page(
        request,
        410 if spent else 404,
        title="This link cannot be used",
        detail=f"{exc.detail}. Open the incident in Escalate to act on it.",
    )


@router.get("/actions/{token}")
def show_action(
    token: str, request: Request, session: SessionDep, container: ContainerDep
) -> Response:
    try:
        link = links.check(session, container.clock, container.settings, token=token)
    except links.LinkRefused as exc:
        return _refused(request, exc)
    incident = session.get(Incident, link.incident_id)
    return render(
        request,
        "actions/confirm.html",
        {
            "token": token,
            "verb": _VERBS[link.action],
            "incident": incident,
            "person": link.user.name,
        },
    )


@router.post("/actions/{token}")
def run_action(
    token: str, request: Request, session: SessionDep, container: ContainerDep
) -> Response:
    try:
        link = links.redeem(session, container.clock, container.settings, token=token)
    except links.LinkRefused as exc:
        session.rollback()
        return _refused(request, exc)
    actor = auth_service.actor_for(link.user)
    session.info["actor"] = actor
    acknowledging = link.action == links.LinkAction.ACKNOWLEDGE
    act = lifecycle.acknowledge if acknowledging else lifecycle.resolve
    try:
        act(session, container.clock, actor=actor, incident_id=link.incident_id, via=VIA)
    except errors.EscalateError as exc:
        session.rollback()  # the link stays unused: nothing was done with it
        return error_page(request, status_for(exc), detail=exc.detail)
    incident = incident_service.get_incident(session, actor=actor, incident_id=link.incident_id)
    return render(
        request,
        "actions/done.html",
        {"incident": incident, "person": link.user.name, "verb": _VERBS[link.action]},
    )
