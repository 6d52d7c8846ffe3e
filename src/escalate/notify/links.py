"""One-click action links in notifications: "acknowledge incident 42" as the person paged,
without signing in. The URL carries the link's id signed with the secret key; the database
keeps only the token's SHA-256, so a leaked table opens nothing, and a token is good for
one use before it expires."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from escalate.auth.models import User
from escalate.clock import Clock
from escalate.errors import NotFound
from escalate.notify.models import ActionLink
from escalate.settings import Settings

DEFAULT_TTL = timedelta(hours=24)
_SALT = "escalate.action-link"


class LinkAction(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class LinkRefused(NotFound):
    """Forged, unknown, expired or used: the page says which, the link does nothing."""


@dataclass(frozen=True)
class Redeemable:
    """A valid link, as the confirmation page shows it."""

    link_id: int
    action: LinkAction
    incident_id: int
    user: User


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.effective_secret_key(), salt=_SALT)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create(
    session: Session,
    clock: Clock,
    settings: Settings,
    *,
    incident_id: int,
    user_id: int,
    action: LinkAction,
    ttl: timedelta = DEFAULT_TTL,
) -> str:
    """A new link's URL. The token signs the link's id and a random nonce, so two links to
    the same action never share a token."""
    now = clock.now()
    link = ActionLink(
        token_hash="pending:" + secrets.token_hex(16),
        action=action.value,
        incident_id=incident_id,
        user_id=user_id,
        created_at=now,
        expires_at=now + ttl,
    )
    session.add(link)
    session.flush()
    token = _serializer(settings).dumps([link.id, secrets.token_urlsafe(8)])
    link.token_hash = _hash(token)
    session.flush()
    return f"{settings.base_url.rstrip('/')}/actions/{token}"


def check(session: Session, clock: Clock, settings: Settings, *, token: str) -> Redeemable:
    """The link this token opens, or LinkRefused saying why. Reads only."""
    link = _load(session, settings, token)
    _refuse_spent(link, clock)
    user = session.get(User, link.user_id)
    if user is None or not user.is_active:
        raise LinkRefused("this link's person no longer has access", field="token")
    return Redeemable(link.id, LinkAction(link.action), link.incident_id, user)


def redeem(session: Session, clock: Clock, settings: Settings, *, token: str) -> Redeemable:
    """Use the link: marks it used (once, even when two clicks race) and returns what to do
    as whom. The caller then acts in the same transaction."""
    found = check(session, clock, settings, token=token)
    used = session.execute(
        update(ActionLink)
        .where(ActionLink.id == found.link_id, ActionLink.used_at.is_(None))
        .values(used_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    if not getattr(used, "rowcount", 0):
        raise LinkRefused("this link was used already", field="token")
    return found


def _load(session: Session, settings: Settings, token: str) -> ActionLink:
    try:
        payload = _serializer(settings).loads(token)
    except BadSignature:
        raise LinkRefused("this link is not valid (damaged or forged)", field="token") from None
    if not isinstance(payload, list) or not payload or not isinstance(payload[0], int):
        raise LinkRefused("this link is not valid (damaged or forged)", field="token")
    link = session.scalar(select(ActionLink).where(ActionLink.token_hash == _hash(token)))
    if link is None or link.id != payload[0]:
        raise LinkRefused("this link is unknown", field="token")
    return link


def _refuse_spent(link: ActionLink, clock: Clock) -> None:
    if link.used_at is not None:
        raise LinkRefused("this link was used already", field="token")
    if link.expires_at <= clock.now():
        raise LinkRefused("this link has expired", field="token")
