"""Service groups: which services one public status page (`/status/<slug>`) shows."""

from __future__ import annotations

from fastapi import APIRouter, status

from escalate.statuspage import service as status_service
from escalate.statuspage.schemas import ServiceGroupCreate, ServiceGroupPage, ServiceGroupRead
from escalate.web.deps import ActorDep, PageDep, SessionDep

router = APIRouter(prefix="/service-groups", tags=["status page"])


@router.get("", response_model=ServiceGroupPage)
def list_groups(session: SessionDep, actor: ActorDep, page: PageDep) -> ServiceGroupPage:
    """Service groups in page order, with their services."""
    result = status_service.list_groups(session, actor=actor, page=page)
    return ServiceGroupPage(
        items=[status_service.group_read(session, g) for g in result.items], total=result.total
    )


@router.post("", response_model=ServiceGroupRead, status_code=status.HTTP_201_CREATED)
def create_group(
    data: ServiceGroupCreate, session: SessionDep, actor: ActorDep
) -> ServiceGroupRead:
    """A new group; its `slug` names its status page."""
    group = status_service.create_group(session, actor=actor, data=data)
    return status_service.group_read(session, group)
