"""What the API and the CLI show of a portal invitation."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from escalate.auth.models import CustomerUser


class PortalInviteRead(BaseModel):
    customer_user_id: int
    account_id: int
    contact_id: int
    email: str
    invited_at: datetime
    invite_expires_at: datetime | None
    activated_at: datetime | None

    @classmethod
    def of(cls, user: CustomerUser) -> PortalInviteRead:
        return cls(
            customer_user_id=user.id,
            account_id=user.account_id,
            contact_id=user.contact_id,
            email=user.email,
            invited_at=user.invited_at,
            invite_expires_at=user.invite_expires_at,
            activated_at=user.activated_at,
        )
