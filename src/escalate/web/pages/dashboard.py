"""The dashboard: how healthy the accounts are, and which ones need attention now."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from escalate.accounts import service as account_service
from escalate.accounts.models import Health
from escalate.pagination import PageParams
from escalate.web.deps import SessionDep
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.sessions import LoginDep

router = APIRouter(route_class=PageRoute)

ATTENTION_LIMIT = 10


@router.get("/")
def dashboard(request: Request, session: SessionDep, login: LoginDep) -> Response:
    counts: dict[str, int] = {}
    attention = []
    for health in Health:
        # Critical and at-risk accounts are listed; the others are only counted.
        wanted = ATTENTION_LIMIT if health in (Health.CRITICAL, Health.AT_RISK) else 1
        page = account_service.list_accounts(
            session, actor=login.actor, page=PageParams(limit=wanted), health=health
        )
        counts[health.value] = page.total
        if wanted > 1:
            attention.extend(page.items)
    attention_total = counts[Health.CRITICAL.value] + counts[Health.AT_RISK.value]
    return render(
        request,
        "dashboard.html",
        {
            "nav": "dashboard",
            "counts": counts,
            "total": sum(counts.values()),
            "attention": attention,
            "attention_more": attention_total - len(attention),
        },
    )
