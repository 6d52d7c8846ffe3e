"""Contact methods and notification rules of staff users. Functions flush, never commit.

People manage their own; managing someone else's needs the users.manage permission
(admins). Every address is checked for its channel here, so the API, the pages and the
CLI refuse the same bad input with the same message."""

from __future__ import annotations

import re
import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from escalate.auth import service as auth_service
from escalate.auth.models import Role, User
from escalate.auth.permissions import Actor, Permission, authorize
from escalate.clock import Clock
from escalate.db import find
from escalate.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from escalate.notify import outbox
from escalate.notify.models import Channel, ContactMethod, NotificationRule
from escalate.notify.schemas import (
    ContactMethodCreate,
    ContactMethodRead,
    ContactMethodUpdate,
    NotificationRuleCreate,
)
from escalate.pagination import MAX_LIMIT, Page, PageParams, paginate

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
# A Slack conversation id (C..., G..., D...) or a #channel-name.
SLACK_CHANNEL = re.compile(r"^(?:[CGD][A-Z0-9]{6,20}|#[a-z0-9][a-z0-9._-]{0,79})$")
SLACK_TOKEN_PREFIX = "xox"
WEBHOOK_SECRET_PREFIX = "whsec_"
MAX_METHODS_PER_USER = 20


# --- validation (pure) ------------------------------------------------------------------


def normalized_address(channel: Channel, address: str, *, has_secret: bool) -> str:
    """The address in its stored form, or ValidationFailed naming `address`."""
    address = address.strip()
    if channel == Channel.EMAIL:
        try:
            return validate_email(address, check_deliverability=False).normalized
        except EmailNotValidError as exc:
            raise ValidationFailed(f"not an e-mail address: {exc}", field="address") from None
    if channel == Channel.SMS:
        number = re.sub(r"[\s().-]", "", address)
        if not E164.match(number):
            raise ValidationFailed(
                "an SMS number must be in E.164 form: + country code and number, "
                "e.g. +447700900123",
                field="address",
            )
        return number
    if channel == Channel.SLACK and has_secret:
        if not SLACK_CHANNEL.match(address):
            raise ValidationFailed(
                "with a bot token, the address is a Slack channel id (C0123456) or #name",
                field="address",
            )
        return address
    return _http_url(
        address, what="a Slack incoming-webhook URL" if channel == Channel.SLACK else "a URL"
    )


def _http_url(address: str, *, what: str) -> str:
    parts = urlsplit(address)
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in address)
    ):
        raise ValidationFailed(f"must be {what} starting with https:// or http://", field="address")
    return address


def _check_secret(channel: Channel, secret: str | None) -> None:
    if secret is None:
        return
    if channel in (Channel.EMAIL, Channel.SMS):
        raise ValidationFailed(f"a {channel} contact method takes no secret", field="secret")
    if channel == Channel.SLACK and not secret.startswith(SLACK_TOKEN_PREFIX):
        raise ValidationFailed(
            "a Slack secret is a bot token (xoxb-...); leave it out for an incoming webhook",
            field="secret",
        )


# --- contact methods --------------------------------------------------------------------


def _user_for(session: Session, actor: Actor, user_id: int, *, write: bool = False) -> User:
    """The user whose methods are managed, once the actor may see (or change) them."""
    # Addresses, Slack webhook URLs included, are private to their owner and the admins.
    if actor.user_id != user_id:
        authorize(actor, Permission.USERS_MANAGE)
    elif write and actor.role == Role.VIEWER:
        # The same rule as the API's for every route, so the pages and the CLI agree.
        raise PermissionDenied("viewers have read-only access")
    return auth_service.get(session, user_id=user_id)


def to_read(method: ContactMethod) -> ContactMethodRead:
    read = ContactMethodRead.model_validate(method)
    return read.model_copy(update={"has_secret": bool(method.secret)})


def list_methods(
    session: Session, *, actor: Actor, user_id: int, page: PageParams | None = None
) -> Page[ContactMethod]:
    """A user's contact methods in fallback order (all of them unless `page` says)."""
    _user_for(session, actor, user_id)
    stmt = (
        select(ContactMethod)
        .where(ContactMethod.user_id == user_id)
        .order_by(ContactMethod.position, ContactMethod.id)
    )
    return paginate(session, stmt, page or PageParams(limit=MAX_LIMIT))


def get_method(session: Session, *, actor: Actor, user_id: int, method_id: int) -> ContactMethod:
    """One contact method of this user, or NotFound."""
    _user_for(session, actor, user_id)
    return _method_of(session, user_id, method_id, field="method_id")


def _method_of(session: Session, user_id: int, method_id: int, *, field: str) -> ContactMethod:
    method = find(session, ContactMethod, method_id)
    if method is None or method.user_id != user_id:
        raise NotFound(f"contact method {method_id} not found for user {user_id}", field=field)
    return method


def create_method(
    session: Session, clock: Clock, *, actor: Actor, user_id: int, data: ContactMethodCreate
) -> tuple[ContactMethod, str | None]:
    """Add a contact method; return it with the webhook secret when one was generated
    (shown once, never stored readable elsewhere)."""
    _user_for(session, actor, user_id, write=True)
    channel = Channel(data.channel)
    _check_secret(channel, data.secret)
    address = normalized_address(channel, data.address, has_secret=data.secret is not None)
    generated = None
    secret = data.secret
    if channel == Channel.WEBHOOK and secret is None:
        secret = generated = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
    count, last = session.execute(
        select(func.count(), func.max(ContactMethod.position)).where(
            ContactMethod.user_id == user_id
        )
    ).one()
    if count >= MAX_METHODS_PER_USER:
        raise ValidationFailed(
            f"at most {MAX_METHODS_PER_USER} contact methods per person", field="channel"
        )
    method = ContactMethod(
        user_id=user_id,
        channel=channel,
        label=data.label or _default_label(channel, address),
        address=address,
        secret=secret,
        position=data.position if data.position is not None else (last + 1 if count else 0),
        is_active=data.is_active,
        created_at=clock.now(),
    )
    session.add(method)
    session.flush()
    return method, generated


def _default_label(channel: Channel, address: str) -> str:
    if channel in (Channel.EMAIL, Channel.SMS):
        return f"{channel.value} {address}"[:100]
    if channel == Channel.SLACK:
        return "Slack" if address.startswith("http") else f"Slack {address}"[:100]
    return f"Webhook {urlsplit(address).hostname}"[:100]


def update_method(
    session: Session, *, actor: Actor, user_id: int, method_id: int, data: ContactMethodUpdate
) -> ContactMethod:
    """Change a method's address, label, secret, position or whether it is used."""
    _user_for(session, actor, user_id, write=True)
    method = _method_of(session, user_id, method_id, field="method_id")
    changes = data.model_dump(exclude_unset=True)
    channel = Channel(method.channel)
    secret = changes.get("secret", method.secret)
    if "secret" in changes:
        _check_secret(channel, secret)
    if "address" in changes or "secret" in changes:
        address = changes.get("address", method.address)
        changes["address"] = normalized_address(channel, address, has_secret=secret is not None)
    for name, value in changes.items():
        setattr(method, name, value)
    session.flush()
    return method


def delete_method(session: Session, *, actor: Actor, user_id: int, method_id: int) -> None:
    """Remove a method and its rules (notifications already queued fall back elsewhere)."""
    _user_for(session, actor, user_id, write=True)
    method = _method_of(session, user_id, method_id, field="method_id")
    session.execute(delete(NotificationRule).where(NotificationRule.contact_method_id == method.id))
    session.delete(method)
    session.flush()


def send_test(session: Session, clock: Clock, *, actor: Actor, user_id: int, method_id: int) -> int:
    """Queue a test notification to one method; return the notification's id."""
    user = _user_for(session, actor, user_id, write=True)
    method = _method_of(session, user_id, method_id, field="method_id")
    reach = outbox.Reach(Channel(method.channel), method.address, method.id, timedelta())
    row_id = outbox.add(
        session,
        clock,
        dedup_key=f"test:m{method.id}:{secrets.token_hex(8)}",
        user_id=user.id,
        reach=reach,
        message=outbox.Message(
            kind="test",
            subject="[Escalate] Test notification",
            body=f"This is a test of your contact method {method.label!r}, {user.name}. "
            "If you read this, Escalate can page you here.",
        ),
    )
    assert row_id is not None  # the dedup key is fresh
    return row_id


# --- notification rules -----------------------------------------------------------------


def list_rules(
    session: Session, *, actor: Actor, user_id: int, page: PageParams | None = None
) -> Page[NotificationRule]:
    """A user's rules by delay (all of them unless `page` says)."""
    _user_for(session, actor, user_id)
    stmt = (
        select(NotificationRule)
        .where(NotificationRule.user_id == user_id)
        .order_by(NotificationRule.delay_minutes, NotificationRule.id)
    )
    return paginate(session, stmt, page or PageParams(limit=MAX_LIMIT))


def create_rule(
    session: Session, *, actor: Actor, user_id: int, data: NotificationRuleCreate
) -> NotificationRule:
    """Add "notify by this method N minutes after being paged"."""
    _user_for(session, actor, user_id, write=True)
    method = find(session, ContactMethod, data.contact_method_id)
    if method is None or method.user_id != user_id:
        raise ValidationFailed(
            f"contact method {data.contact_method_id} is not one of user {user_id}'s",
            field="contact_method_id",
        )
    clash = session.scalar(
        select(NotificationRule.id).where(
            NotificationRule.contact_method_id == method.id,
            NotificationRule.delay_minutes == data.delay_minutes,
        )
    )
    if clash is not None:
        raise Conflict(
            f"a rule for this method after {data.delay_minutes} min exists already (rule {clash})",
            field="delay_minutes",
        )
    rule = NotificationRule(
        user_id=user_id, contact_method_id=method.id, delay_minutes=data.delay_minutes
    )
    session.add(rule)
    session.flush()
    return rule


def delete_rule(session: Session, *, actor: Actor, user_id: int, rule_id: int) -> None:
    """Remove one rule."""
    _user_for(session, actor, user_id, write=True)
    rule = find(session, NotificationRule, rule_id)
    if rule is None or rule.user_id != user_id:
        raise NotFound(f"notification rule {rule_id} not found for user {user_id}", field="rule_id")
    session.delete(rule)
    session.flush()
