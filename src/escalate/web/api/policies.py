"""Escalation policies: /api/v1/escalation-policies."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from escalate.oncall import policies as policy_service
from escalate.oncall.policy_schemas import PolicyCreate, PolicyRead, PolicyUpdate
from escalate.web.deps import ActorDep, ContainerDep, PageDep, SessionDep

router = APIRouter(prefix="/escalation-policies", tags=["escalation policies"])


class PolicyPage(BaseModel):
    items: list[PolicyRead]
    total: int


@router.get("", response_model=PolicyPage)
def list_policies(session: SessionDep, actor: ActorDep, page: PageDep) -> PolicyPage:
    """Policies by name, with their steps and targets."""
    result = policy_service.list_policies(session, actor=actor, page=page)
    return PolicyPage(items=[policy_service.to_read(p) for p in result.items], total=result.total)


@router.post("", response_model=PolicyRead, status_code=status.HTTP_201_CREATED)
def create_policy(
    data: PolicyCreate, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> PolicyRead:
    """A new policy. Targets: `users` as e-mails or ids, `schedules` as names or ids."""
    policy = policy_service.create(session, container.clock, actor=actor, data=data)
    return policy_service.to_read(policy)


@router.get("/{policy_id}", response_model=PolicyRead)
def get_policy(policy_id: int, session: SessionDep, actor: ActorDep) -> PolicyRead:
    return policy_service.to_read(policy_service.get(session, actor=actor, policy_id=policy_id))


@router.patch("/{policy_id}", response_model=PolicyRead)
def update_policy(
    policy_id: int,
    data: PolicyUpdate,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
) -> PolicyRead:
    """Change a policy; `steps`, when given, replaces them all. Escalations in flight keep
    the copy they started with."""
    policy = policy_service.get(session, actor=actor, policy_id=policy_id)
    policy_service.update(session, container.clock, actor=actor, policy=policy, data=data)
    session.expire_all()
    return policy_service.to_read(policy_service.get(session, actor=actor, policy_id=policy_id))


@router.delete("/{policy_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_policy(policy_id: int, session: SessionDep, actor: ActorDep) -> Response:
    """Delete a policy; one a routing rule names answers 409."""
    policy = policy_service.get(session, actor=actor, policy_id=policy_id)
    policy_service.delete(session, actor=actor, policy=policy)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
