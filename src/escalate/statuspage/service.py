"""What the public status page shows, read from public updates only, and e-mail
subscriptions (the groups themselves are managed in statuspage.groups). Nothing here reads
internal notes, customer-only updates or account names: a page is built from services,
impact levels and public update texts. Functions flush, never commit.

A page costs a fixed number of queries however many incidents its window holds: the
incidents' services and impact levels are read in one query each, not one per incident."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from escalate.accounts.models import Service, ServiceGroup
from escalate.clock import Clock
from escalate.errors import NotFound
from escalate.incidents import updates as update_service
from escalate.incidents.models import (
    AffectedAccount,
    Audience,
    Incident,
    IncidentService,
    IncidentStatus,
    StatusSubscriber,
    StatusUpdate,
    UpdateKind,
)
from escalate.keys import digest
from escalate.notify import outbox
from escalate.notify.models import Channel
from escalate.settings import Settings
from escalate.statuspage.groups import public_group, services_of
from escalate.statuspage.rules import (
    ServiceState,
    Window,
    history,
    impact_of,
    uptime_percent,
    worst,
)

HISTORY_DAYS = 90
FEED_ENTRIES = 50
FEED_DAYS = 3650
PAST_SHOWN = 20  # past incidents listed under the history (all of them count in it)
ALL_SERVICES = "All services"


# --- the page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicUpdate:
    id: int
    incident_id: int
    label: str
    kind: UpdateKind
    status: IncidentStatus
    message: str
    posted_at: datetime


@dataclass
class PublicIncident:
    """An incident as the public sees it: named by the services it affects on this page
    (never by its internal title), with its public updates, newest first."""

    id: int
    label: str
    state: ServiceState
    is_open: bool
    started_at: datetime
    ended_at: datetime | None
    service_ids: set[int]
    updates: list[PublicUpdate] = field(default_factory=list)


@dataclass(frozen=True)
class ServiceLine:
    id: int
    name: str
    state: ServiceState
    uptime_percent: float  # over the page's history window


@dataclass(frozen=True)
class GroupView:
    name: str
    slug: str | None
    description: str | None
    services: list[ServiceLine]


@dataclass(frozen=True)
class StatusView:
    title: str
    slug: str | None
    overall: ServiceState
    groups: list[GroupView]
    open_incidents: list[PublicIncident]
    past_incidents: list[PublicIncident]
    history: list[tuple[date, ServiceState]]


def _page_groups(
    session: Session, slug: str | None
) -> list[tuple[str, str | None, str | None, list[Service]]]:
    """(name, slug, description, services) of what the page shows: one group, every public
    group, or with no public group defined, all services."""
    if slug is not None:
        groups = [public_group(session, slug=slug)]
    else:
        groups = list(
            session.scalars(
                select(ServiceGroup)
                .where(ServiceGroup.is_public.is_(True))
                .order_by(ServiceGroup.position, ServiceGroup.name)
            )
        )
    if groups:
        members = services_of(session, [g.id for g in groups])
        return [(g.name, g.slug, g.description, members[g.id]) for g in groups]
    services = list(session.scalars(select(Service).order_by(Service.name)))
    return [(ALL_SERVICES, None, None, services)]


def public_incidents(
    session: Session,
    now: datetime,
    *,
    services: dict[int, str],
    since: datetime,
    incident_id: int | None = None,
) -> list[PublicIncident]:
    """Incidents with at least one public update that affect one of these services and
    were under way after `since`, newest first (or only `incident_id`, if it is one);
    without their updates (`attach_updates` loads them for the incidents a page shows)."""
    if not services:
        return []
    shown = _shown_updates(since)
    if incident_id is not None:
        shown = (*shown, StatusUpdate.incident_id == incident_id)
    # Each incident once, with its latest shown public update: what decides whether the
    # public still sees it as open.
    ranked = (
        select(
            StatusUpdate.incident_id,
            StatusUpdate.kind,
            StatusUpdate.posted_at,
            func.row_number()
            .over(
                partition_by=StatusUpdate.incident_id,
                order_by=(StatusUpdate.posted_at.desc(), StatusUpdate.id.desc()),
            )
            .label("rank"),
        )
        .join(Incident, Incident.id == StatusUpdate.incident_id)
        .where(*shown)
        .subquery()
    )
    rows = session.execute(
        select(
            Incident.id,
            Incident.customer_title,
            Incident.status,
            Incident.severity,
            Incident.service_id,
            Incident.started_at,
            Incident.opened_at,
            Incident.resolved_at,
            ranked.c.kind,
            ranked.c.posted_at,
        )
        .join(ranked, ranked.c.incident_id == Incident.id)
        .where(ranked.c.rank == 1)
    ).all()
    if not rows:
        return []
    incident_ids = select(ranked.c.incident_id).where(ranked.c.rank == 1)
    touched_by = _page_services_by_incident(session, incident_ids, set(services))
    levels_by = _impact_levels_by_incident(session, incident_ids)
    found: list[PublicIncident] = []
    for row in rows:
        touched = set(touched_by.get(row.id, ()))
        if row.service_id in services:
            touched.add(row.service_id)
        if not touched:
            continue
        entry = _public_incident(row, touched, services, levels_by.get(row.id, []))
        if entry.ended_at is not None and entry.ended_at < since:
            continue
        found.append(entry)
    return sorted(found, key=lambda i: (i.started_at, i.id), reverse=True)


def _shown_updates(since: datetime) -> tuple[Any, ...]:
    """Public updates, and of incidents long over only those of the window: old updates of
    incidents resolved before it never reach a page."""
    return (
        StatusUpdate.audience == Audience.PUBLIC.value,
        or_(StatusUpdate.posted_at >= since, Incident.status != IncidentStatus.RESOLVED),
    )


def attach_updates(session: Session, incidents: list[PublicIncident], *, since: datetime) -> None:
    """Fill these incidents' public updates, newest first, in one query."""
    by_id = {i.id: i for i in incidents}
    if not by_id:
        return
    rows = session.execute(
        select(
            StatusUpdate.id,
            StatusUpdate.incident_id,
            StatusUpdate.kind,
            StatusUpdate.status,
            StatusUpdate.message,
            StatusUpdate.posted_at,
        )
        .join(Incident, Incident.id == StatusUpdate.incident_id)
        .where(StatusUpdate.incident_id.in_(sorted(by_id)), *_shown_updates(since))
        .order_by(StatusUpdate.posted_at.desc(), StatusUpdate.id.desc())
    )
    for row in rows:
        entry = by_id[row.incident_id]
        entry.updates.append(_public_update(row, entry.label))


def _public_update(row: Any, label: str) -> PublicUpdate:
    return PublicUpdate(
        id=row.id,
        incident_id=row.incident_id,
        label=label,
        kind=UpdateKind(row.kind),
        status=IncidentStatus(row.status),
        message=row.message,
        posted_at=row.posted_at,
    )


def _page_services_by_incident(
    session: Session, incident_ids: Select[Any], service_ids: set[int]
) -> dict[int, set[int]]:
    """The page's services each of these incidents lists among its affected services."""
    found: dict[int, set[int]] = {}
    rows = session.execute(
        select(IncidentService.incident_id, IncidentService.service_id).where(
            IncidentService.incident_id.in_(incident_ids),
            IncidentService.service_id.in_(sorted(service_ids)),
        )
    )
    for incident_id, service_id in rows:
        found.setdefault(incident_id, set()).add(service_id)
    return found


def _impact_levels_by_incident(session: Session, incident_ids: Select[Any]) -> dict[int, list[str]]:
    """The impact levels recorded for each of these incidents' (not excluded) accounts."""
    found: dict[int, list[str]] = {}
    rows = session.execute(
        select(AffectedAccount.incident_id, AffectedAccount.impact_level)
        .where(AffectedAccount.incident_id.in_(incident_ids), AffectedAccount.excluded.is_(False))
        .distinct()
    )
    for incident_id, level in rows:
        found.setdefault(incident_id, []).append(str(level))
    return found


def _public_incident(
    row: Any, touched: set[int], services: dict[int, str], levels: list[str]
) -> PublicIncident:
    """`row`: the incident's columns with its latest shown public update's kind and time.
    Over for the public once resolved, or once its latest public update says resolved."""
    latest_resolved = row.kind == UpdateKind.RESOLVED
    ended_at = row.resolved_at
    if ended_at is None and latest_resolved:
        ended_at = row.posted_at
    is_open = row.status != IncidentStatus.RESOLVED and not latest_resolved
    return PublicIncident(
        id=row.id,
        label=row.customer_title or ", ".join(sorted(services[s] for s in touched)),
        state=impact_of(levels, str(row.severity)),
        is_open=is_open,
        started_at=row.started_at or row.opened_at,
        ended_at=None if is_open else (ended_at or row.posted_at),
        service_ids=touched,
    )


def status_view(session: Session, now: datetime, *, slug: str | None = None) -> StatusView:
    """Everything one status page shows, from public updates only."""
    page_groups = _page_groups(session, slug)
    services = {s.id: s.name for _, _, _, members in page_groups for s in members}
    since = now - timedelta(days=HISTORY_DAYS)
    incidents = public_incidents(session, now, services=services, since=since)
    open_incidents = [i for i in incidents if i.is_open]
    past_incidents = [i for i in incidents if not i.is_open][:PAST_SHOWN]
    attach_updates(session, open_incidents + past_incidents, since=since)
    states: dict[int, ServiceState] = {
        sid: worst(i.state for i in open_incidents if sid in i.service_ids) for sid in services
    }
    uptimes = {
        sid: uptime_percent(
            (Window(i.started_at, i.ended_at, i.state) for i in incidents if sid in i.service_ids),
            since=since,
            now=now,
        )
        for sid in services
    }
    groups = [
        GroupView(
            name=name,
            slug=group_slug,
            description=description,
            services=[ServiceLine(s.id, s.name, states[s.id], uptimes[s.id]) for s in members],
        )
        for name, group_slug, description, members in page_groups
    ]
    days = history(
        [Window(i.started_at, i.ended_at, i.state) for i in incidents],
        today=now.date(),
        days=HISTORY_DAYS,
        now=now,
    )
    return StatusView(
        title=page_groups[0][0] if slug is not None else "System status",
        slug=slug,
        overall=worst(states.values()),
        groups=groups,
        open_incidents=open_incidents,
        past_incidents=past_incidents,
        history=days,
    )


def incident_view(
    session: Session, now: datetime, *, incident_id: int, slug: str | None = None
) -> PublicIncident:
    """One incident as a status page (all of them, or one group's) shows it, with every
    public update the feed can list: where each feed entry links. NotFound when this page
    does not show it (no public update, or none of the page's services)."""
    page_groups = _page_groups(session, slug)
    services = {s.id: s.name for _, _, _, members in page_groups for s in members}
    since = now - timedelta(days=FEED_DAYS)
    found = public_incidents(session, now, services=services, since=since, incident_id=incident_id)
    if not found:
        raise NotFound(f"incident {incident_id} is not on this status page", field="incident_id")
    attach_updates(session, found, since=since)
    return found[0]


def feed_updates(session: Session, now: datetime, *, slug: str | None = None) -> list[PublicUpdate]:
    """The newest public updates of the page's services, for the Atom feed."""
    page_groups = _page_groups(session, slug)
    services = {s.id: s.name for _, _, _, members in page_groups for s in members}
    since = now - timedelta(days=FEED_DAYS)
    labels = {i.id: i.label for i in public_incidents(session, now, services=services, since=since)}
    if not labels:
        return []
    # Newest first, and only as far as the feed needs: the page's incidents are filtered
    # here rather than in an IN list that years of incidents would make unbounded.
    rows = session.execute(
        select(
            StatusUpdate.id,
            StatusUpdate.incident_id,
            StatusUpdate.kind,
            StatusUpdate.status,
            StatusUpdate.message,
            StatusUpdate.posted_at,
        )
        .join(Incident, Incident.id == StatusUpdate.incident_id)
        .where(*_shown_updates(since))
        .order_by(StatusUpdate.posted_at.desc(), StatusUpdate.id.desc())
        .execution_options(yield_per=FEED_ENTRIES * 4)
    )
    entries: list[PublicUpdate] = []
    for row in rows:
        if row.incident_id in labels:
            entries.append(_public_update(row, labels[row.incident_id]))
            if len(entries) == FEED_ENTRIES:
                break
    rows.close()
    return entries


# --- subscribers ----------------------------------------------------------------------


def subscribe(
    session: Session, clock: Clock, settings: Settings, *, email: str, slug: str | None
) -> StatusSubscriber:
    """Record a subscription waiting for confirmation and mail the confirmation link. The
    same answer whether the address was subscribed before or not."""
    group_id = public_group(session, slug=slug).id if slug else None
    address = email.strip().lower()
    subscriber = session.scalar(
        select(StatusSubscriber).where(
            func.lower(StatusSubscriber.email) == address,
            StatusSubscriber.service_group_id.is_(None)
            if group_id is None
            else StatusSubscriber.service_group_id == group_id,
        )
    )
    token = secrets.token_urlsafe(32)
    now = clock.now()
    if subscriber is None:
        subscriber = StatusSubscriber(
            service_group_id=group_id, email=address, token_hash=digest(token), created_at=now
        )
        session.add(subscriber)
    elif subscriber.confirmed_at is not None and subscriber.unsubscribed_at is None:
        return subscriber  # subscribed already: nothing to confirm, nothing to send
    else:
        subscriber.token_hash = digest(token)
        subscriber.confirmed_at = None
        subscriber.unsubscribed_at = None
    session.flush()
    base = settings.base_url.rstrip("/")
    unsubscribe = update_service.unsubscribe_token(settings, subscriber.id)
    outbox.add(
        session,
        clock,
        dedup_key=f"status-subscribe:{subscriber.id}:{subscriber.token_hash[:16]}",
        user_id=None,
        reach=outbox.Reach(Channel.EMAIL, address, None, timedelta()),
        message=outbox.Message(
            kind="status_subscription",
            subject="Confirm your status updates subscription",
            body=(
                "Someone (hopefully you) asked to receive status updates by e-mail.\n\n"
                f"Confirm: {base}/status/confirm/{token}\n\n"
                "If it was not you, ignore this mail: nothing will be sent.\n"
                f"Unsubscribe: {base}/status/unsubscribe/{unsubscribe}\n"
            ),
        ),
    )
    return subscriber


def confirm(session: Session, clock: Clock, *, token: str) -> StatusSubscriber:
    subscriber = session.scalar(
        select(StatusSubscriber).where(StatusSubscriber.token_hash == digest(token))
    )
    if subscriber is None or subscriber.unsubscribed_at is not None:
        raise NotFound("this confirmation link is unknown or no longer valid", field="token")
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = clock.now()
        session.flush()
    return subscriber


def unsubscribe(
    session: Session, clock: Clock, settings: Settings, *, token: str
) -> StatusSubscriber:
    subscriber_id = update_service.subscriber_of_token(settings, token)
    subscriber = session.get(StatusSubscriber, subscriber_id) if subscriber_id else None
    if subscriber is None:
        raise NotFound("this unsubscribe link is not valid", field="token")
    if subscriber.unsubscribed_at is None:
        subscriber.unsubscribed_at = clock.now()
        session.flush()
    return subscriber
