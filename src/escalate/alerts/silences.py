"""Silences and maintenance windows: alerts they cover are stored and marked suppressed,
never dropped, and open no incident (see service._place). Functions flush, never commit."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalate.accounts import service as account_service
from escalate.alerts.models import Silence
from escalate.alerts.schemas import SilenceCreate
from escalate.auth.permissions import Actor, Permission, authorize
from escalate.clock import Clock
from escalate.db import find
from escalate.errors import NotFound, ValidationFailed
from escalate.pagination import Page, PageParams, paginate


class SilenceState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


def state_of(silence: Silence, clock: Clock) -> SilenceState:
    now = clock.now()
    if silence.ends_at <= now:
        return SilenceState.EXPIRED
    return SilenceState.PENDING if silence.starts_at > now else SilenceState.ACTIVE


def create_silence(session: Session, clock: Clock, *, actor: Actor, data: SilenceCreate) -> Silence:
    authorize(actor, Permission.SILENCES_WRITE)
    now = clock.now()
    starts_at = data.starts_at or now
    if data.ends_at <= now:
        raise ValidationFailed("is in the past: the silence would never act", field="ends_at")
    if data.ends_at <= starts_at:
        raise ValidationFailed("must be after starts_at", field="ends_at")
    if data.service_id is not None:
        account_service.get_service(session, service_id=data.service_id)
    silence = Silence(
        kind=data.kind,
        comment=data.comment,
        matchers=[m.model_dump(mode="json") for m in data.matchers],
        service_id=data.service_id,
        starts_at=starts_at,
        ends_at=data.ends_at,
        created_by_id=actor.user_id,
        created_at=now,
    )
    session.add(silence)
    session.flush()
    return silence


def get_silence(session: Session, *, actor: Actor, silence_id: int) -> Silence:
    authorize(actor, Permission.READ)
    silence = find(session, Silence, silence_id)
    if silence is None:
        raise NotFound(f"silence {silence_id} not found", field="silence_id")
    return silence


def list_silences(
    session: Session,
    clock: Clock,
    *,
    actor: Actor,
    page: PageParams,
    state: SilenceState | None = None,
) -> Page[Silence]:
    """Silences, the ones ending soonest first."""
    authorize(actor, Permission.READ)
    now = clock.now()
    stmt = select(Silence).order_by(Silence.ends_at, Silence.id)
    if state == SilenceState.ACTIVE:
        stmt = stmt.where(Silence.starts_at <= now, Silence.ends_at > now)
    elif state == SilenceState.PENDING:
        stmt = stmt.where(Silence.starts_at > now)
    elif state == SilenceState.EXPIRED:
        stmt = select(Silence).where(Silence.ends_at <= now)
        stmt = stmt.order_by(Silence.ends_at.desc(), Silence.id.desc())
    return paginate(session, stmt, page)


def expire_silence(session: Session, clock: Clock, *, actor: Actor, silence_id: int) -> Silence:
    """End a silence now (kept for the record, as Alertmanager does)."""
    authorize(actor, Permission.SILENCES_WRITE)
    silence = get_silence(session, actor=actor, silence_id=silence_id)
    now = clock.now()
    if silence.ends_at > now:
        silence.ends_at = now
        if silence.starts_at > now:
            silence.starts_at = now
        session.flush()
    return silence
