"""Server-rendered staff pages (Jinja2), with session-cookie login and CSRF on every form."""

from fastapi import APIRouter

from escalate.web.pages import (
    accounts,
    actions,
    alerts,
    auth,
    dashboard,
    incident_sla,
    incidents,
    integrations,
    policies,
    portal,
    profile,
    route_tester,
    rules,
    schedules,
    service_groups,
    silences,
    status_page,
    updates,
)


def router() -> APIRouter:
    pages = APIRouter(include_in_schema=False)
    for module in (
        auth,
        actions,
        dashboard,
        accounts,
        incident_sla,
        incidents,
        alerts,
        integrations,
        policies,
        rules,
        route_tester,
        silences,
        service_groups,
        profile,
        schedules,
        updates,
        status_page,
        portal,
    ):
        pages.include_router(module.router)
    return pages
