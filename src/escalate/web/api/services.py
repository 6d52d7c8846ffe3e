from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from escalate.accounts import service as account_service
from escalate.accounts.schemas import ServiceCreate, ServiceRead
from escalate.web.deps import ActorDep, PageDep, SessionDep

router = APIRouter(prefix="/services", tags=["services"])


class ServicePage(BaseModel):
    items: list[ServiceRead]
    total: int


@router.get("", response_model=ServicePage)
def list_services(session: SessionDep, actor: ActorDep, page: PageDep) -> ServicePage:
    """The services the vendor runs."""
    result = account_service.list_services(session, actor=actor, page=page)
    return ServicePage(
        items=[ServiceRead.model_validate(s) for s in result.items], total=result.total
    )


@router.post("", response_model=ServiceRead, status_code=status.HTTP_201_CREATED)
def create_service(data: ServiceCreate, session: SessionDep, actor: ActorDep) -> ServiceRead:
    service = account_service.create_service(session, actor=actor, data=data)
    return ServiceRead.model_validate(service)
