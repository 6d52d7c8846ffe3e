"""Slowing password guessing: after LIMIT wrong passwords for one address within WINDOW,
that address cannot log in (the password is not even checked) until the oldest of them
is WINDOW old. Staff and portal logins count apart. A correct password clears the count.

Counted per address, not per client: behind a proxy every client has the proxy's address.
The price is that someone can keep one address locked by guessing wrong; the lock lasts
at most WINDOW after the last burst. Functions flush, never commit."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from escalate.auth.models import LoginFailure
from escalate.clock import Clock

LIMIT = 10
WINDOW = timedelta(minutes=15)
STAFF = "staff"
PORTAL = "portal"


def _key(email: str) -> str:
    return email.strip().lower()[:320]


def locked_until(session: Session, clock: Clock, *, scope: str, email: str) -> datetime | None:
    """When this address may try again, or None if it may now."""
    since = clock.now() - WINDOW
    recent = list(
        session.scalars(
            select(LoginFailure.at)
            .where(
                LoginFailure.scope == scope,
                LoginFailure.email_key == _key(email),
                LoginFailure.at > since,
            )
            .order_by(LoginFailure.at.desc())
            .limit(LIMIT)
        )
    )
    if len(recent) < LIMIT:
        return None
    return recent[-1] + WINDOW


def record_failure(session: Session, clock: Clock, *, scope: str, email: str) -> None:
    """A wrong password for this address; failures older than a day go (any address)."""
    now = clock.now()
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - timedelta(days=1)))
    session.add(LoginFailure(scope=scope, email_key=_key(email), at=now))
    session.flush()


def clear(session: Session, *, scope: str, email: str) -> None:
    """The right password: the address starts afresh."""
    session.execute(
        delete(LoginFailure).where(
            LoginFailure.scope == scope, LoginFailure.email_key == _key(email)
        )
    )
