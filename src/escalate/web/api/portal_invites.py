"""Invite an account's contact to the customer portal."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel

from escalate.portal import service as portal_service
from escalate.web.deps import ActorDep, ContainerDep, SessionDep

router = APIRouter(tags=["customer portal"])


class PortalInviteRead(BaseModel):
    customer_user_id: int
    account_id: int
    contact_id: int
    email: str
    invited_at: datetime
    invite_expires_at: datetime | None
    activated_at: datetime | None


@router.post(
    "/accounts/{account_id}/contacts/{contact_id}/portal-invite",
    response_model=PortalInviteRead,
    status_code=status.HTTP_201_CREATED,
)
def invite_contact(
    account_id: int,
    contact_id: int,
    session: SessionDep,
    actor: ActorDep,
    container: ContainerDep,
) -> PortalInviteRead:
    """E-mail the contact a single-use link, valid 7 days, that sets a portal password.
    Inviting again replaces the previous link."""
    user = portal_service.invite(
        session,
        container.clock,
        container.settings,
        actor=actor,
        account_id=account_id,
        contact_id=contact_id,
    )
    return PortalInviteRead(
        customer_user_id=user.id,
        account_id=user.account_id,
        contact_id=user.contact_id,
        email=user.email,
        invited_at=user.invited_at,
        invite_expires_at=user.invite_expires_at,
        activated_at=user.activated_at,
    )
