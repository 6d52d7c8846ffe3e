"""Status updates of an incident: post one (it reaches its audience), list them with their
deliveries per contact, preview what each audience would receive, and the composer's
templates."""

from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from escalate.incidents import updates as update_service
from escalate.incidents.models import StatusUpdate
from escalate.incidents.update_schemas import (
    DeliveryRead,
    UpdateCreate,
    UpdatePage,
    UpdatePreview,
    UpdateRead,
    UpdateTemplate,
)
from escalate.web.deps import ActorDep, ContainerDep, PageDep, SessionDep

router = APIRouter(tags=["status updates"])


class TemplateList(BaseModel):
    templates: list[UpdateTemplate]


def read_updates(session: SessionDep, rows: list[StatusUpdate]) -> list[UpdateRead]:
    deliveries = update_service.deliveries_of(session, [u.id for u in rows])
    subscribers = update_service.subscribers_notified(session, [u.id for u in rows])
    items = []
    for row in rows:
        read = UpdateRead.model_validate(row)
        read.subscribers_notified = subscribers[row.id]
        read.deliveries = [
            DeliveryRead.model_validate(d).model_copy(update={"notification_status": s})
            for d, s in deliveries[row.id]
        ]
        items.append(read)
    return items


@router.post(
    "/incidents/{incident_id}/updates",
    response_model=UpdateRead,
    status_code=status.HTTP_201_CREATED,
)
def post_update(
    incident_id: int,
    data: UpdateCreate,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
) -> UpdateRead:
    """Post an update. `customers` and `public` ones are e-mailed to every notification
    contact of every affected account (and `public` ones to status-page subscribers); an
    update to a resolved incident answers 409."""
    update = update_service.post_update(
        session,
        container.clock,
        container.settings,
        actor=actor,
        incident_id=incident_id,
        data=data,
    )
    session.flush()
    return read_updates(session, [update])[0]


@router.get("/incidents/{incident_id}/updates", response_model=UpdatePage)
def list_updates(
    incident_id: int, session: SessionDep, actor: ActorDep, page: PageDep
) -> UpdatePage:
    """The incident's updates, newest first, each with its deliveries per contact."""
    result = update_service.list_updates(session, actor=actor, incident_id=incident_id, page=page)
    return UpdatePage(items=read_updates(session, result.items), total=result.total)


@router.post("/incidents/{incident_id}/updates/preview", response_model=UpdatePreview)
def preview_update(
    incident_id: int,
    data: UpdateCreate,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
) -> UpdatePreview:
    """What each audience would receive if this update were posted now; writes nothing."""
    result = update_service.preview(
        session,
        container.clock,
        container.settings,
        actor=actor,
        incident_id=incident_id,
        data=data,
    )
    session.rollback()
    return result


@router.get("/incidents/{incident_id}/update-templates", response_model=TemplateList)
def update_templates(incident_id: int, session: SessionDep, actor: ActorDep) -> TemplateList:
    """The composer's default message per kind, with the incident's title and services."""
    return TemplateList(
        templates=update_service.templates(session, actor=actor, incident_id=incident_id)
    )
