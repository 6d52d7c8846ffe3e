from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from escalate.sla import service as sla_service
from escalate.sla.schemas import SlaPolicyCreate, SlaPolicyRead
from escalate.web.deps import ActorDep, PageDep, SessionDep

router = APIRouter(prefix="/sla-policies", tags=["sla"])


class SlaPolicyPage(BaseModel):
    items: list[SlaPolicyRead]
    total: int


@router.get("", response_model=SlaPolicyPage)
def list_policies(session: SessionDep, actor: ActorDep, page: PageDep) -> SlaPolicyPage:
    result = sla_service.list_policies(session, actor=actor, page=page)
    return SlaPolicyPage(
        items=[SlaPolicyRead.model_validate(p) for p in result.items], total=result.total
    )


@router.get("/{policy_id}", response_model=SlaPolicyRead)
def get_policy(policy_id: int, session: SessionDep, actor: ActorDep) -> SlaPolicyRead:
    return SlaPolicyRead.model_validate(sla_service.read(session, actor=actor, policy_id=policy_id))


@router.post("", response_model=SlaPolicyRead, status_code=status.HTTP_201_CREATED)
def create_policy(data: SlaPolicyCreate, session: SessionDep, actor: ActorDep) -> SlaPolicyRead:
    """Create an SLA policy with per-severity targets and service-credit tiers."""
    policy = sla_service.create(session, actor=actor, data=data)
    return SlaPolicyRead.model_validate(policy)
