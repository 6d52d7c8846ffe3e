"""JSON API under /api/v1: one module per domain."""

from fastapi import APIRouter

from escalate.web.api import (
    accounts,
    alerts,
    audit,
    incidents,
    ingest,
    jobs,
    services,
    sla,
    users,
)


def router() -> APIRouter:
    api = APIRouter(prefix="/api/v1")
    for module in (accounts, services, sla, users, audit, jobs, alerts, incidents, ingest):
        api.include_router(module.router)
    return api
