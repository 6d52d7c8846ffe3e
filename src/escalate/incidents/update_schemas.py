"""Shapes of status updates: what a responder posts, what the API answers, and the preview
of what each audience would receive."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator

from escalate.incidents.models import Audience, IncidentStatus, UpdateKind

MAX_MESSAGE_CHARS = 10_000


class UpdateCreate(BaseModel):
    """One update. Without `status` it reports the incident's current status."""

    model_config = ConfigDict(extra="forbid")

    kind: UpdateKind
    audience: Audience
    message: str = Field(
        description=f"1 to {MAX_MESSAGE_CHARS:,} characters after trimming.",
    )
    status: IncidentStatus | None = None

    @field_validator("message", mode="before")
    @classmethod
    def _trimmed(cls, value: object) -> object:
        # Checked before pydantic copies it anywhere: a 100 KB message fails here, on length.
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise ValueError("must not be empty")
            if len(value) > MAX_MESSAGE_CHARS:
                raise ValueError(f"must be at most {MAX_MESSAGE_CHARS:,} characters")
        return value


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    account_id: int
    contact_id: int | None
    email: str
    notification_id: int | None
    notification_status: str | None = None
    created_at: datetime


class UpdateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    incident_id: int
    kind: UpdateKind
    status: IncidentStatus
    audience: Audience
    message: str
    author_user_id: int | None
    posted_at: datetime
    deliveries: list[DeliveryRead] = Field(default_factory=list)
    subscribers_notified: int = 0


class UpdatePage(BaseModel):
    items: list[UpdateRead]
    total: int


class PreviewMail(BaseModel):
    contact_id: int | None
    name: str | None
    email: str
    subject: str
    body: str


class PreviewAccount(BaseModel):
    account_id: int
    account_name: str
    mails: list[PreviewMail]


class UpdatePreview(BaseModel):
    """What posting would send, without writing anything: the mails per account (empty for
    internal updates), the text the status page would show (public only), and how many
    status-page subscribers would be mailed."""

    audience: Audience
    accounts: list[PreviewAccount]
    portal_text: str | None
    public_text: str | None
    subscribers: int


class UpdateTemplate(BaseModel):
    kind: UpdateKind
    status: IncidentStatus
    message: str
