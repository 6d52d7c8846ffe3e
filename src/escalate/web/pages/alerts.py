"""Alerts: the list with its filters, refreshed live in the browser, and one alert with its
routing outcome, payload and history."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from starlette.responses import Response

from escalate.accounts import service as account_service
from escalate.alerts import service as alert_service
from escalate.alerts.models import AlertStatus
from escalate.pagination import Page
from escalate.web.deps import SessionDep
from escalate.web.pages import choices, listing
from escalate.web.pages.rendering import render, render_fragment
from escalate.web.pages.routing import PageRoute, error_page
from escalate.web.pages.sessions import LoginDep

router = APIRouter(route_class=PageRoute)

# The list re-fetches itself this often; `?refresh=N` sets it (a wall display may want
# more, a test less).
REFRESH_SECONDS = 5
REFRESH_RANGE = (1, 300)
EVENTS_PREFIX = "events_"
EVENTS_LIMIT = 25
YES_NO = {"yes": True, "no": False}


@router.get("/alerts")
def list_alerts(request: Request, session: SessionDep, login: LoginDep) -> Response:
    params = request.query_params
    filters = {
        "status": params.get("status", ""),
        "service": params.get("service", ""),
        "integration": params.get("integration", ""),
        "dedup_key": params.get("dedup_key", "").strip()[:255],
        "unrouted": "1" if params.get("unrouted") in ("1", "on") else "",
        "suppressed": params.get("suppressed", ""),
    }
    service_id = listing.optional_id(filters["service"])
    integration_id = listing.optional_id(filters["integration"])
    if (
        (filters["status"] and filters["status"] not in {s.value for s in AlertStatus})
        or (filters["service"] and service_id is None)
        or (filters["integration"] and integration_id is None)
        or (filters["suppressed"] and filters["suppressed"] not in YES_NO)
    ):
        return error_page(
            request, 400, detail="Unknown status, service, integration or choice in the filter."
        )
    # By name: the domain's filter takes a name or an id, and a name cannot be misread.
    service = account_service.get_service(session, service_id=service_id) if service_id else None
    page = alert_service.list_alerts(
        session,
        actor=login.actor,
        page=listing.page_params(request),
        dedup_key=filters["dedup_key"] or None,
        status=AlertStatus(filters["status"]) if filters["status"] else None,
        service=service.name if service else None,
        integration_id=integration_id,
        routed=False if filters["unrouted"] else None,
        suppressed=YES_NO.get(filters["suppressed"]),
    )
    context = _results(request, page, filtered=any(filters.values()))
    if params.get("fragment"):
        return render_fragment(request, "alerts/_results.html", context)
    refresh = min(
        max(listing.query_int(params.get("refresh"), REFRESH_SECONDS), REFRESH_RANGE[0]),
        REFRESH_RANGE[1],
    )
    live_query = {k: v for k, v in params.items() if k not in ("fragment", "saved")}
    return render(
        request,
        "alerts/list.html",
        {
            **context,
            "nav": "alerts",
            "filters": filters,
            "statuses": [(s.value, s.value.capitalize()) for s in AlertStatus],
            "services": choices.services(session, login.actor),
            "integrations": choices.integrations(session, login.actor),
            "refresh_seconds": refresh,
            "refresh_default": REFRESH_SECONDS,
            "fragment_url": "/alerts?" + urlencode({**live_query, "fragment": "1"}),
        },
    )


def _results(request: Request, page: Page[Any], *, filtered: bool) -> dict[str, Any]:
    return {
        "alerts": page.items,
        "pager": listing.pager(request, page, path="/alerts"),
        "filtered": filtered,
    }


@router.get("/alerts/{alert_id}")
def show_alert(alert_id: str, request: Request, session: SessionDep, login: LoginDep) -> Response:
    alert = alert_service.get_alert(
        session,
        actor=login.actor,
        alert_id=listing.path_id(alert_id, noun="alert", field="alert_id"),
    )
    # Newest first. get_alert loads the whole history; paging it here keeps the page short.
    history = list(reversed(alert.events))
    events = listing.page_params(request, prefix=EVENTS_PREFIX, default_limit=EVENTS_LIMIT)
    events_page = Page(
        items=history[events.offset : events.offset + events.limit],
        total=len(history),
        limit=events.limit,
        offset=events.offset,
    )
    return render(
        request,
        "alerts/detail.html",
        {
            "nav": "alerts",
            "alert": alert,
            "kind_label": choices.KIND_LABELS.get(alert.integration.kind, alert.integration.kind),
            "events": events_page.items,
            "events_pager": listing.pager(
                request,
                events_page,
                path=f"/alerts/{alert.id}",
                prefix=EVENTS_PREFIX,
                default_limit=EVENTS_LIMIT,
            ),
        },
    )
