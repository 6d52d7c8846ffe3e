"""Contact methods and notification rules, in and out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from escalate.ids import Id
from escalate.notify.models import Channel

Address = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Secret = Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=200)]
Position = Annotated[int, Field(ge=0, le=1000)]
# A week: a rule later than that is a mistake, not a plan.
DelayMinutes = Annotated[int, Field(ge=0, le=7 * 24 * 60)]


class ContactMethodCreate(BaseModel):
    """How to reach a person. `address` by channel: e-mail address; Slack incoming-webhook
    URL, or channel id with the bot token in `secret`; webhook URL (`secret` signs it,
    generated when left out); SMS number in E.164 (+447700900123)."""

    model_config = ConfigDict(extra="forbid")

    channel: Channel
    address: Address
    label: Label | None = None
    secret: Secret | None = None
    position: Position | None = None
    is_active: bool = True


class ContactMethodUpdate(BaseModel):
    """A partial update; the channel is fixed (add a new method instead)."""

    model_config = ConfigDict(extra="forbid")

    address: Address | None = None
    label: Label | None = None
    secret: Secret | None = None
    position: Position | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _no_null(self) -> ContactMethodUpdate:
        for name in ("address", "label", "position", "is_active"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name}: may not be null; leave it out to keep it")
        return self


class ContactMethodRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    channel: Channel
    label: str
    address: str
    position: int
    is_active: bool
    created_at: datetime
    # Secrets (bot tokens, signing keys) are never shown again; this says one is set.
    has_secret: bool = False


class ContactMethodCreated(ContactMethodRead):
    # The webhook signing secret when Escalate generated it: shown in this answer only.
    secret: str | None = None


class NotificationRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_method_id: Id
    delay_minutes: DelayMinutes = 0


class NotificationRuleRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    user_id: int
    contact_method_id: int
    delay_minutes: int


class QueuedTestNotification(BaseModel):
    notification_id: int
    status: str
