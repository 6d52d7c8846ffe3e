"""How people are reached: their contact methods and notification rules, the outbox every
notification goes through, and the one-click action links that notifications carry."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from escalate.auth.models import User
from escalate.db import Base, JSONType, UTCDateTime


class Channel(StrEnum):
    EMAIL = "email"
    # address: an incoming-webhook URL, or a channel id when `secret` holds a bot token.
    SLACK = "slack"
    # address: a URL that gets a JSON POST signed with HMAC-SHA256 of `secret`.
    WEBHOOK = "webhook"
    # address: a phone number in E.164; sent through the provider of ESCALATE_SMS_URL.
    SMS = "sms"


class ContactMethod(Base):
    __tablename__ = "contact_methods"
    __audit_secret__ = ("secret",)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    channel: Mapped[Channel] = mapped_column(String(20))
    label: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(Text)
    secret: Mapped[str | None] = mapped_column(String(200))
    # Fallback order: when a channel keeps failing, the next method by position is tried.
    position: Mapped[int] = mapped_column(default=0)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class NotificationRule(Base):
    """ "Notify by this method N minutes after being paged, if still unacknowledged"."""

    __tablename__ = "notification_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    contact_method_id: Mapped[int] = mapped_column(
        ForeignKey("contact_methods.id", ondelete="CASCADE"), index=True
    )
    delay_minutes: Mapped[int] = mapped_column(default=0)

    contact_method: Mapped[ContactMethod] = relationship()

    __table_args__ = (UniqueConstraint("contact_method_id", "delay_minutes"),)


class NotificationStatus(StrEnum):
    PENDING = "pending"  # due at `due_at`, or waiting for a retry
    SENDING = "sending"  # claimed by a dispatcher until `lease_expires_at`
    DELIVERED = "delivered"
    FAILED = "failed"  # gave up on this method (a fallback may have been queued)
    CANCELLED = "cancelled"  # its condition no longer held (the incident was acknowledged)


class Notification(Base):
    """The outbox. A row is written in the same transaction as the state change that
    causes it and delivered by dispatchers afterwards, with retries; `dedup_key` makes
    writing the same notification twice a no-op."""

    __tablename__ = "notifications"
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(40))  # "page", "status_update", ...
    incident_id: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    contact_method_id: Mapped[int | None] = mapped_column(
        ForeignKey("contact_methods.id", ondelete="SET NULL")
    )
    channel: Mapped[Channel] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(Text)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # Channel-independent facts (incident number, links, ...) for structured payloads.
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # "unacknowledged": cancelled instead of sent once the incident is acknowledged.
    condition: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[NotificationStatus] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=6)
    locked_by: Mapped[str | None] = mapped_column(String(100))
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The notification this one replaces after its method kept failing.
    fallback_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="SET NULL")
    )

    __table_args__ = (Index("ix_notifications_status_due", "status", "due_at"),)


class ActionLink(Base):
    """A one-click link in a notification: acts on one incident as one person, once,
    before it expires. The URL carries a signed token; only its hash is stored."""

    __tablename__ = "action_links"
    __audit_secret__ = ("token_hash",)

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    action: Mapped[str] = mapped_column(String(20))  # "acknowledge" or "resolve"
    incident_id: Mapped[int] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
