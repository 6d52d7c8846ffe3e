"""The public status page: no login. Every page, feed and form here is built by
statuspage.service from public updates only."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from escalate.errors import ValidationFailed
from escalate.statuspage import feed
from escalate.statuspage import service as status_service
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages import forms
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.sessions import FormDep

router = APIRouter(route_class=PageRoute)

ATOM_TYPE = "application/atom+xml; charset=utf-8"
STATE_LABELS = {"operational": "Operational", "degraded": "Degraded", "outage": "Outage"}


def _page(
    request: Request, session: SessionDep, container: ContainerDep, slug: str | None
) -> Response:
    view = status_service.status_view(session, container.clock.now(), slug=slug)
    return render(
        request,
        "status/page.html",
        {"view": view, "labels": STATE_LABELS, "feed_url": _feed_path(slug)},
    )


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
    if "@" not in email or len(email) > 254 or any(c.isspace() for c in email):
        raise ValidationFailed("enter a valid e-mail address", field="email")
    status_service.subscribe(session, container.clock, container.settings, email=email, slug=slug)
    return render(
        request,
        "status/message.html",
        {
            "title": "Check your inbox",
            "text": f"We sent a confirmation link to {email}. Updates start once you follow it.",
        },
    )


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


@router.get("/status/{slug}")
def group_page(
    slug: str, request: Request, session: SessionDep, container: ContainerDep
) -> Response:
    return _page(request, session, container, slug)
