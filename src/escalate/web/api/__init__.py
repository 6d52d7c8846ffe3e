"""JSON API under /api/v1: one module per domain."""

from fastapi import APIRouter

from escalate.web.api import (
    accounts,
    alerts,
    audit,
    contacts,
    incident_sla,
    incidents,
    ingest,
    jobs,
    policies,
    portal_invites,
    schedules,
    service_groups,
    services,
    sla,
    updates,
    users,
)


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    # Routes are matched in order, one by one: the busiest door first (see app.py).
    for module in (
        ingest,
        accounts,
        services,
        sla,
        users,
        contacts,
        portal_invites,
        audit,
        jobs,
        alerts,
        incidents,
        updates,
        service_groups,
        incident_sla,
        schedules,
        policies,
    ):
        api.include_router(module.router)
    return api
