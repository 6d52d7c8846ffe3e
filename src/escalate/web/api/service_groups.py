"""Service groups: which services one public status page (`/status/<slug>`) shows."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from escalate.statuspage import groups as group_service
from escalate.statuspage.schemas import (
    ServiceGroupCreate,
    ServiceGroupPage,
    ServiceGroupRead,
    ServiceGroupUpdate,
)
from escalate.web.deps import ActorDep, PageDep, SessionDep

router = APIRouter(prefix="/service-groups", tags=["status page"])


@router.get("", response_model=ServiceGroupPage)
def list_groups(session: SessionDep, actor: ActorDep, page: PageDep) -> ServiceGroupPage:
    """Service groups in page order, with their services."""
    result = group_service.list_groups(session, actor=actor, page=page)
    return ServiceGroupPage(items=group_service.to_reads(session, result.items), total=result.total)


@router.post("", response_model=ServiceGroupRead, status_code=status.HTTP_201_CREATED)
def create_group(
    data: ServiceGroupCreate, session: SessionDep, actor: ActorDep
) -> ServiceGroupRead:
    """A new group; its `slug` names its status page."""
    group = group_service.create(session, actor=actor, data=data)
    return group_service.to_read(session, group)


@router.get("/{group_id}", response_model=ServiceGroupRead)
def get_group(group_id: int, session: SessionDep, actor: ActorDep) -> ServiceGroupRead:
    return group_service.to_read(
        session, group_service.get(session, actor=actor, group_id=group_id)
    )


@router.patch("/{group_id}", response_model=ServiceGroupRead)
def update_group(
    group_id: int, data: ServiceGroupUpdate, session: SessionDep, actor: ActorDep
) -> ServiceGroupRead:
    """Change a group; `services`, when given, replaces its members (in page order)."""
    group = group_service.get(session, actor=actor, group_id=group_id)
    group_service.update(session, actor=actor, group=group, data=data)
    return group_service.to_read(session, group)


@router.delete("/{group_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_group(group_id: int, session: SessionDep, actor: ActorDep) -> Response:
    """Delete a group: its status page and its e-mail subscribers."""
    group = group_service.get(session, actor=actor, group_id=group_id)
    group_service.delete(session, actor=actor, group=group)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
