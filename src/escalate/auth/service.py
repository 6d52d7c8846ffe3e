"""Users, passwords, API tokens and web sessions. Functions flush, never commit."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalate.auth import passwords
from escalate.auth.models import ApiToken, AuditEntry, Role, User, WebSession
from escalate.auth.permissions import Actor, Permission, authorize
from escalate.auth.schemas import UserCreate
from escalate.clock import Clock
from escalate.db import find
from escalate.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from escalate.keys import digest, new_secret
from escalate.pagination import MAX_LIMIT, Page, PageParams, paginate

TOKEN_PREFIX = "esc_"
# Writing last_used_at on every request would make every read a write; a minute is precise
# enough to tell a live token from a forgotten one.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def actor_for(user: User) -> Actor:
    return Actor(user_id=user.id, label=user.email, role=Role(user.role))


def get(session: Session, *, user_id: int) -> User:
    """Return the user with this id."""
    user = find(session, User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found", field="user_id")
    return user


def get_by_email(session: Session, *, email: str) -> User | None:
    """Return the user with this email (case-insensitive), if any."""
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def require_by_email(session: Session, *, email: str) -> User:
    """Return the user with this email or raise NotFound naming the field."""
    user = get_by_email(session, email=email)
    if user is None:
        raise NotFound(f"no user with email {email}", field="email")
    return user


def list_users(session: Session, *, actor: Actor, page: PageParams) -> Page[User]:
    """List staff users by name."""
    authorize(actor, Permission.READ)
    return paginate(session, select(User).order_by(User.name, User.id), page)


def create(session: Session, clock: Clock, *, actor: Actor, data: UserCreate) -> User:
    """Create a staff user; the password may be set later."""
    authorize(actor, Permission.USERS_MANAGE)
    if get_by_email(session, email=data.email) is not None:
        raise Conflict(f"a user with email {data.email} already exists", field="email")
    user = User(
        email=data.email.lower(),
        name=data.name,
        role=data.role,
        title=data.title,
        password_hash=passwords.hash_password(data.password) if data.password else None,
        is_active=True,
        created_at=clock.now(),
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, *, actor: Actor, user: User, password: str) -> None:
    """Replace a user's password (admins, or the user themself)."""
    if actor.user_id != user.id:
        authorize(actor, Permission.USERS_MANAGE)
    if len(password) < passwords.MIN_LENGTH:
        raise ValidationFailed(
            f"password must have at least {passwords.MIN_LENGTH} characters", field="password"
        )
    user.password_hash = passwords.hash_password(password)
    session.flush()


def authenticate_password(session: Session, *, email: str, password: str) -> User:
    """Return the active user with this email and password, or raise NotAuthenticated."""
    user = get_by_email(session, email=email)
    if user is None or not user.is_active or not user.password_hash:
        passwords.verify_nothing(password)
        raise NotAuthenticated("wrong email or password")
    if not passwords.verify(user.password_hash, password):
        raise NotAuthenticated("wrong email or password")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def create_token(
    session: Session, clock: Clock, *, actor: Actor, user: User, name: str
) -> tuple[ApiToken, str]:
    """Create an API token for a user; return it with its secret, which is not stored."""
    if actor.user_id == user.id:
        authorize(actor, Permission.OWN_TOKENS)
    else:
        authorize(actor, Permission.USERS_MANAGE)
    secret = new_secret(TOKEN_PREFIX)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=digest(secret),
        created_at=clock.now(),
    )
    session.add(token)
    session.flush()
    return token, secret


def list_tokens(
    session: Session, *, actor: Actor, user: User, page: PageParams | None = None
) -> Page[ApiToken]:
    """A user's tokens, newest first (their own, or anyone's for an admin)."""
    if actor.user_id != user.id:
        authorize(actor, Permission.USERS_MANAGE)
    stmt = select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id.desc())
    return paginate(session, stmt, page or PageParams(limit=MAX_LIMIT))


def revoke_token(session: Session, clock: Clock, *, actor: Actor, token_id: int) -> ApiToken:
    """Revoke a token; revoking twice is harmless."""
    token = find(session, ApiToken, token_id)
    if token is None:
        raise NotFound(f"token {token_id} not found", field="token_id")
    if actor.user_id != token.user_id:
        authorize(actor, Permission.USERS_MANAGE)
    if token.revoked_at is None:
        token.revoked_at = clock.now()
        session.flush()
    return token


def authenticate_token(session: Session, *, secret: str) -> ApiToken:
    """Return the live token with this secret (its user active), or raise NotAuthenticated.
    Reads only; `note_token_use` records the use."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None or token.revoked_at is not None or not token.user.is_active:
        raise NotAuthenticated("invalid or revoked API token")
    return token


def token_use_is_stale(token: ApiToken, *, now: datetime) -> bool:
    """Whether the token's last-used time is old enough to be worth writing again."""
    return token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION


def note_token_use(session: Session, clock: Clock, *, token_id: int) -> None:
    """Record that a token was used now."""
    token = find(session, ApiToken, token_id)
    if token is not None:
        token.last_used_at = clock.now()
        session.flush()


def start_web_session(
    session: Session, clock: Clock, *, user: User, lifetime: timedelta
) -> tuple[WebSession, str]:
    """Open a web login; return it with the cookie value, which is not stored."""
    secret = new_secret()
    now = clock.now()
    web_session = WebSession(
        user_id=user.id,
        token_hash=digest(secret),
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(web_session)
    session.flush()
    return web_session, secret


def resolve_web_session(session: Session, clock: Clock, *, secret: str) -> WebSession:
    """Return the live web login for a cookie value, or raise NotAuthenticated."""
    web_session = session.scalar(select(WebSession).where(WebSession.token_hash == digest(secret)))
    if (
        web_session is None
        or web_session.expires_at <= clock.now()
        or not web_session.user.is_active
    ):
        raise NotAuthenticated("session expired; log in again")
    return web_session


def end_web_session(session: Session, *, secret: str) -> None:
    """Log out: forget the login behind this cookie value."""
    web_session = session.scalar(select(WebSession).where(WebSession.token_hash == digest(secret)))
    if web_session is not None:
        session.delete(web_session)
        session.flush()


def list_audit(
    session: Session,
    *,
    actor: Actor,
    page: PageParams,
    entity_type: str | None = None,
    entity_id: str | None = None,
    since: datetime | None = None,
) -> Page[AuditEntry]:
    """The audit log, newest first, optionally for one entity."""
    authorize(actor, Permission.AUDIT_READ)
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc())
    if entity_type:
        stmt = stmt.where(AuditEntry.entity_type == entity_type)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    return paginate(session, stmt, page)
