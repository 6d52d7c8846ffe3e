"""The public status page: no login. Every page, feed and form here is built by
statuspage.service from public updates only."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from escalate.errors import ValidationFailed
from escalate.statuspage import feed
from escalate.statuspage import service as status_service
from escalate.web.deps import FAILED, ContainerDep, SessionDep
from escalate.web.pages import forms, listing
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.sessions import FormDep

router = APIRouter(route_class=PageRoute)

ATOM_TYPE = "application/atom+xml; charset=utf-8"
STATE_LABELS = {"operational": "Operational", "degraded": "Degraded", "outage": "Outage"}


def _page(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    slug: str | None,
    *,
    subscribe_form: forms.FormState | None = None,
) -> Response:
    view = status_service.status_view(session, container.clock.now(), slug=slug)
    state = subscribe_form or forms.FormState(values={"email": ""})
    return render(
        request,
        "status/page.html",
        {
            "view": view,
            "labels": STATE_LABELS,
            "feed_url": _feed_path(slug),
            "page_path": _page_path(slug),
            "subscribe_form": state,
            "subscribed": not state.failed and request.query_params.get("subscribed") == "1",
        },
        status_code=state.status,
    )


def _page_path(slug: str | None) -> str:
    return f"/status/{quote(slug, safe='')}" if slug else "/status"


def _feed_path(slug: str | None) -> str:
    return f"/status/{slug}/feed.atom" if slug else "/status/feed.atom"


def _feed(session: SessionDep, container: ContainerDep, slug: str | None) -> Response:
    now = container.clock.now()
    updates = status_service.feed_updates(session, now, slug=slug)
    view_title = status_service.public_group(session, slug=slug).name if slug else "System status"
    base = container.settings.base_url.rstrip("/")
    body = feed.render(
        updates,
        title=view_title,
        page_url=f"{base}/status" + (f"/{slug}" if slug else ""),
        feed_url=base + _feed_path(slug),
        entry_base=f"{base}/status",
        now=now,
    )
    return Response(body, media_type=ATOM_TYPE)


@router.get("/status")
def status_page(request: Request, session: SessionDep, container: ContainerDep) -> Response:
    return _page(request, session, container, None)


@router.get("/status/feed.atom")
def status_feed(session: SessionDep, container: ContainerDep) -> Response:
    return _feed(session, container, None)


@router.post("/status/subscribe")
def subscribe(
    request: Request, session: SessionDep, container: ContainerDep, form: FormDep
) -> Response:
    """Public, without CSRF token: the worst a forged post can do is mail a confirmation
    link, which changes nothing until its owner follows it."""
    email = forms.text(form, "email")
    slug = forms.text(form, "group") or None
    state = forms.FormState(values={"email": email})

    def subscribe() -> None:
        if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
            raise ValidationFailed("enter a valid e-mail address", field="email")
        status_service.subscribe(
            session, container.clock, container.settings, email=email, slug=slug
        )

    forms.attempt(state, subscribe)
    if state.failed:
        setattr(request.state, FAILED, True)
        session.rollback()
        return _page(request, session, container, slug, subscribe_form=state)
    # Post/Redirect/Get: a reload does not post again. The address stays out of the URL.
    return RedirectResponse(f"{_page_path(slug)}?subscribed=1#subscribe", status_code=303)


@router.get("/status/confirm/{token}")
def confirm_form(request: Request, token: str) -> Response:
    return render(
        request,
        "status/confirm.html",
        {
            "action": f"/status/confirm/{token}",
            "title": "Confirm your subscription",
            "button": "Confirm",
        },
    )


@router.post("/status/confirm/{token}")
def confirm(request: Request, token: str, session: SessionDep, container: ContainerDep) -> Response:
    status_service.confirm(session, container.clock, token=token)
    return render(
        request,
        "status/message.html",
        {"title": "Subscribed", "text": "You will receive public status updates by e-mail."},
    )


@router.get("/status/unsubscribe/{token}")
def unsubscribe_form(request: Request, token: str) -> Response:
    return render(
        request,
        "status/confirm.html",
        {"action": f"/status/unsubscribe/{token}", "title": "Unsubscribe", "button": "Unsubscribe"},
    )


@router.post("/status/unsubscribe/{token}")
def unsubscribe(
    request: Request, token: str, session: SessionDep, container: ContainerDep
) -> Response:
    status_service.unsubscribe(session, container.clock, container.settings, token=token)
    return render(
        request,
        "status/message.html",
        {"title": "Unsubscribed", "text": "You will receive no more status updates."},
    )


@router.get("/status/{slug}/feed.atom")
def group_feed(slug: str, session: SessionDep, container: ContainerDep) -> Response:
    return _feed(session, container, slug)


@router.get("/status/incidents/{incident_id}")
def incident_page(
    incident_id: str, request: Request, session: SessionDep, container: ContainerDep
) -> Response:
    return _incident(request, session, container, incident_id, None)


@router.get("/status/{slug}/incidents/{incident_id}")
def group_incident_page(
    slug: str, incident_id: str, request: Request, session: SessionDep, container: ContainerDep
) -> Response:
    return _incident(request, session, container, incident_id, slug)


def _incident(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    incident_id: str,
    slug: str | None,
) -> Response:
    """One incident with all its public updates: where each feed entry links."""
    found = listing.path_id(incident_id, noun="incident", field="incident_id")
    now = container.clock.now()
    incident = status_service.incident_view(session, now, incident_id=found, slug=slug)
    title = status_service.public_group(session, slug=slug).name if slug else "System status"
    return render(
        request,
        "status/incident.html",
        {
            "incident": incident,
            "labels": STATE_LABELS,
            "page_title": title,
            "page_path": _page_path(slug),
            "feed_url": _feed_path(slug),
        },
    )


@router.get("/status/{slug}")
def group_page(
    slug: str, request: Request, session: SessionDep, container: ContainerDep
) -> Response:
    return _page(request, session, container, slug)
