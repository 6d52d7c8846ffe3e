from __future__ import annotations

from fastapi import APIRouter, status
from pydantic import BaseModel

from escalate.auth import service as auth_service
from escalate.auth.schemas import TokenCreate, TokenCreated, TokenRead, UserCreate, UserRead
from escalate.web.deps import ActorDep, ContainerDep, PageDep, SessionDep

router = APIRouter(tags=["users"])


class UserPage(BaseModel):
    items: list[UserRead]
    total: int


class TokenList(BaseModel):
    items: list[TokenRead]
    total: int


@router.get("/users", response_model=UserPage)
def list_users(session: SessionDep, actor: ActorDep, page: PageDep) -> UserPage:
    result = auth_service.list_users(session, actor=actor, page=page)
    return UserPage(items=[UserRead.model_validate(u) for u in result.items], total=result.total)


@router.post("/users", response_model=UserRead, status_code=status.HTTP_201_CREATED)
def create_user(
    data: UserCreate, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> UserRead:
    """Create a staff user (admins only)."""
    user = auth_service.create(session, container.clock, actor=actor, data=data)
    return UserRead.model_validate(user)


@router.get("/me", response_model=UserRead)
def me(session: SessionDep, actor: ActorDep) -> UserRead:
    """The user the credential belongs to."""
    assert actor.user_id is not None
    return UserRead.model_validate(auth_service.get(session, user_id=actor.user_id))


@router.get("/me/tokens", response_model=TokenList)
def my_tokens(session: SessionDep, actor: ActorDep, page: PageDep) -> TokenList:
    """Your API tokens, newest first (secrets are never shown again)."""
    assert actor.user_id is not None
    user = auth_service.get(session, user_id=actor.user_id)
    result = auth_service.list_tokens(session, actor=actor, user=user, page=page)
    return TokenList(items=[TokenRead.model_validate(t) for t in result.items], total=result.total)


@router.post("/me/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create_my_token(
    data: TokenCreate, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> TokenCreated:
    """Create an API token for yourself; the secret is in this answer only."""
    assert actor.user_id is not None
    user = auth_service.get(session, user_id=actor.user_id)
    token, secret = auth_service.create_token(
        session, container.clock, actor=actor, user=user, name=data.name
    )
    shown = TokenRead.model_validate(token).model_dump()
    return TokenCreated.model_validate({**shown, "token": secret})


@router.post("/tokens/{token_id}/revoke", response_model=TokenRead)
def revoke_token(
    token_id: int, session: SessionDep, actor: ActorDep, container: ContainerDep
) -> TokenRead:
    """Revoke a token (your own, or anyone's for an admin)."""
    token = auth_service.revoke_token(session, container.clock, actor=actor, token_id=token_id)
    return TokenRead.model_validate(token)
