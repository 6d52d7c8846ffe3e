"""Portal users (invites, passwords, sessions) and what a portal user may read. Every read
takes the customer's `account_id` and filters by it in the query, so another account's
incident is simply not found. Functions flush, never commit."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalate.accounts.models import Account, Contact
from escalate.auth import passwords
from escalate.auth.models import CustomerSession, CustomerUser
from escalate.auth.permissions import SYSTEM, Actor, Permission, authorize
from escalate.clock import Clock
from escalate.db import find
from escalate.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from escalate.incidents import updates as update_service
from escalate.incidents.models import (
    AffectedAccount,
    Audience,
    Incident,
    IncidentStatus,
    StatusUpdate,
)
from escalate.keys import digest, new_secret
from escalate.notify import outbox
from escalate.notify.models import Channel
from escalate.settings import Settings
from escalate.sla.models import SlaClock

INVITE_TTL = timedelta(days=7)
MIN_PASSWORD = passwords.MIN_LENGTH
CUSTOMER_AUDIENCES = (Audience.CUSTOMERS.value, Audience.PUBLIC.value)


class InviteRefused(NotFound):
    """Unknown, used or expired: the page says so and nothing changes."""


# --- invites and passwords -------------------------------------------------------------


def invite(
    session: Session,
    clock: Clock,
    settings: Settings,
    *,
    actor: Actor,
    account_id: int,
    contact_id: int,
) -> CustomerUser:
    """Invite a contact of an account to the portal: a single-use link, valid 7 days,
    mailed through the outbox. Inviting again replaces the previous link (and lets a
    portal user who forgot the password set a new one)."""
    authorize(actor, Permission.ACCOUNTS_WRITE)
    contact = find(session, Contact, contact_id)
    if contact is None or contact.account_id != account_id:
        raise NotFound(
            f"contact {contact_id} of account {account_id} not found", field="contact_id"
        )
    if not contact.email:
        raise ValidationFailed("the contact has no e-mail address to invite", field="email")
    email = contact.email.lower()
    user = session.scalar(select(CustomerUser).where(CustomerUser.contact_id == contact.id))
    taken = session.scalar(select(CustomerUser).where(func.lower(CustomerUser.email) == email))
    if taken is not None and (user is None or taken.id != user.id):
        raise Conflict(f"{email} has portal access through another contact", field="email")
    token = new_secret("inv_")
    now = clock.now()
    if user is None:
        user = CustomerUser(
            contact_id=contact.id, account_id=account_id, email=email, invited_at=now
        )
        session.add(user)
    user.email = email
    user.invite_token_hash = digest(token)
    user.invited_at = now
    user.invite_expires_at = now + INVITE_TTL
    user.is_active = True
    session.flush()
    account = session.get(Account, account_id)
    account_name = account.name if account is not None else "your account"
    link = f"{settings.base_url.rstrip('/')}/portal/invite/{token}"
    outbox.add(
        session,
        clock,
        dedup_key=f"portal-invite:{user.id}:{user.invite_token_hash[:16]}",
        user_id=None,
        reach=outbox.Reach(Channel.EMAIL, email, None, timedelta()),
        message=outbox.Message(
            kind="portal_invite",
            subject="Your invitation to the incident portal",
            body=(
                f"Hello {contact.name},\n\n"
                f"You are invited to the incident portal of {account_name}:"
                " incidents that affect you, their updates and our response times.\n\n"
                f"Set your password (the link works once, for 7 days): {link}\n"
            ),
        ),
    )
    return user


# A new link is mailed at most this often per contact, however often it is asked for.
RESET_INTERVAL = timedelta(minutes=5)


def access_of(session: Session, *, account_id: int) -> dict[int, CustomerUser]:
    """The account's portal users by contact id (invited or active)."""
    return {
        user.contact_id: user
        for user in session.scalars(
            select(CustomerUser).where(CustomerUser.account_id == account_id)
        )
    }


def request_reset(session: Session, clock: Clock, settings: Settings, *, email: str) -> None:
    """ "Forgot your password": mail a fresh single-use link (as an invitation does) to an
    active portal user with this address. Says nothing either way, so the form tells no
    one who has access; a link sent in the last few minutes is not sent again."""
    user = session.scalar(
        select(CustomerUser).where(func.lower(CustomerUser.email) == email.strip().lower())
    )
    if user is None or not user.is_active or user.activated_at is None:
        return
    if user.invited_at is not None and clock.now() - user.invited_at < RESET_INTERVAL:
        return
    invite(
        session,
        clock,
        settings,
        actor=SYSTEM,
        account_id=user.account_id,
        contact_id=user.contact_id,
    )


def check_invite(session: Session, clock: Clock, *, token: str) -> CustomerUser:
    """The portal user this invite link is for, or InviteRefused. Reads only."""
    user = session.scalar(
        select(CustomerUser).where(CustomerUser.invite_token_hash == digest(token))
    )
    if user is None or not user.is_active:
        raise InviteRefused("this invitation link is unknown or was used already", field="token")
    if user.invite_expires_at is None or user.invite_expires_at <= clock.now():
        raise InviteRefused("this invitation link has expired; ask for a new one", field="token")
    return user


def accept_invite(session: Session, clock: Clock, *, token: str, password: str) -> CustomerUser:
    """Set the password through the invite link; the link is spent."""
    user = check_invite(session, clock, token=token)
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed(
            f"the password needs at least {MIN_PASSWORD} characters", field="password"
        )
    user.password_hash = passwords.hash_password(password)
    user.invite_token_hash = None
    user.invite_expires_at = None
    user.activated_at = user.activated_at or clock.now()
    session.flush()
    return user


def authenticate(session: Session, *, email: str, password: str) -> CustomerUser:
    user = session.scalar(
        select(CustomerUser).where(func.lower(CustomerUser.email) == email.strip().lower())
    )
    if user is None or not user.is_active or not user.password_hash:
        passwords.verify_nothing(password)
        raise NotAuthenticated("wrong email or password")
    if not passwords.verify(user.password_hash, password):
        raise NotAuthenticated("wrong email or password")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


# --- sessions (their own table: a staff cookie never opens the portal) ------------------


def start_session(
    session: Session, clock: Clock, *, user: CustomerUser, lifetime: timedelta
) -> tuple[CustomerSession, str]:
    secret = new_secret()
    now = clock.now()
    row = CustomerSession(
        customer_user_id=user.id,
        token_hash=digest(secret),
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(row)
    session.flush()
    return row, secret


def resolve_session(session: Session, clock: Clock, *, secret: str) -> CustomerSession:
    row = session.scalar(
        select(CustomerSession).where(CustomerSession.token_hash == digest(secret))
    )
    if row is None or row.expires_at <= clock.now() or not row.customer.is_active:
        raise NotAuthenticated("portal session expired; log in again")
    return row


def end_session(session: Session, *, secret: str) -> None:
    row = session.scalar(
        select(CustomerSession).where(CustomerSession.token_hash == digest(secret))
    )
    if row is not None:
        session.delete(row)
        session.flush()


# --- what a customer reads --------------------------------------------------------------


def _told_the_customer() -> Any:
    """The incident has had a customer-facing update: until then it is staff business (an
    affected account is derived automatically and may yet be excluded), and the portal
    does not show it."""
    return (
        select(StatusUpdate.id)
        .where(
            StatusUpdate.incident_id == Incident.id,
            StatusUpdate.audience.in_(CUSTOMER_AUDIENCES),
        )
        .exists()
    )


def incidents_for(session: Session, *, account_id: int) -> list[tuple[Incident, AffectedAccount]]:
    """Incidents that affected the account (not excluded) and that customers have been told
    of, newest first."""
    return [
        (incident, affected)
        for incident, affected in session.execute(
            select(Incident, AffectedAccount)
            .join(AffectedAccount, AffectedAccount.incident_id == Incident.id)
            .where(
                AffectedAccount.account_id == account_id,
                AffectedAccount.excluded.is_(False),
                _told_the_customer(),
            )
            .order_by(Incident.opened_at.desc(), Incident.id.desc())
        ).all()
    ]


def incident_for(
    session: Session, *, account_id: int, incident_id: int
) -> tuple[Incident, AffectedAccount]:
    """One incident of the account, or NotFound (the same answer for another account's, and
    for one customers have not been told of)."""
    row = session.execute(
        select(Incident, AffectedAccount)
        .join(AffectedAccount, AffectedAccount.incident_id == Incident.id)
        .where(
            Incident.id == incident_id,
            AffectedAccount.account_id == account_id,
            AffectedAccount.excluded.is_(False),
            _told_the_customer(),
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"incident {incident_id} not found", field="incident_id")
    return row[0], row[1]


def labels_of(session: Session, incidents: list[Incident]) -> dict[int, str]:
    """What customers call each incident: the services it affects. Its title is the
    responders' working name (often an alert's text naming hosts) and is never shown."""
    return update_service.customer_labels(session, incidents)


def updates_for(session: Session, *, account_id: int, incident_id: int) -> list[StatusUpdate]:
    """The customer-facing updates (never internal ones) of one of the account's incidents."""
    incident_for(session, account_id=account_id, incident_id=incident_id)
    return list(
        session.scalars(
            select(StatusUpdate)
            .where(
                StatusUpdate.incident_id == incident_id,
                StatusUpdate.audience.in_(CUSTOMER_AUDIENCES),
            )
            .order_by(StatusUpdate.posted_at.desc(), StatusUpdate.id.desc())
        )
    )


def clocks_for(
    session: Session,
    *,
    account_id: int,
    incident_id: int | None = None,
    incident_ids: list[int] | None = None,
) -> list[SlaClock]:
    """The account's SLA clocks of one incident, or of these incidents (read-only; the SLA
    domain keeps them)."""
    stmt = select(SlaClock).where(SlaClock.account_id == account_id)
    if incident_id is not None:
        stmt = stmt.where(SlaClock.incident_id == incident_id)
    if incident_ids is not None:
        stmt = stmt.where(SlaClock.incident_id.in_(incident_ids))
    return list(session.scalars(stmt.order_by(SlaClock.due_at, SlaClock.id)))


def is_open(incident: Incident) -> bool:
    return incident.status != IncidentStatus.RESOLVED
