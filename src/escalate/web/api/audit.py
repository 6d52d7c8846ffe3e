from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from escalate.auth import service as auth_service
from escalate.auth.schemas import AuditEntryRead
from escalate.web.deps import ActorDep, PageDep, SessionDep

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditPage(BaseModel):
    items: list[AuditEntryRead]
    total: int


@router.get("", response_model=AuditPage)
def list_audit(
    session: SessionDep,
    actor: ActorDep,
    page: PageDep,
    entity_type: str | None = None,
    entity_id: str | None = None,
    since: datetime | None = None,
) -> AuditPage:
    """Every recorded change, newest first: who, when, what, before and after."""
    result = auth_service.list_audit(
        session, actor=actor, page=page, entity_type=entity_type, entity_id=entity_id, since=since
    )
    return AuditPage(
        items=[AuditEntryRead.model_validate(e) for e in result.items], total=result.total
    )
