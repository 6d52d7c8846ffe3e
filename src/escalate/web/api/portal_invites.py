"""Invite an account's contact to the customer portal."""

from __future__ import annotations

from fastapi import APIRouter, status

from escalate.portal import service as portal_service
from escalate.portal.schemas import PortalInviteRead
from escalate.web.deps import ActorDep, ContainerDep, SessionDep

router = APIRouter(tags=["customer portal"])


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
    return PortalInviteRead.of(user)
