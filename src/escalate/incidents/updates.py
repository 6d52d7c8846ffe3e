"""Status updates: a responder writes one update and it reaches its audience.

- internal: the timeline only (an internal line);
- customers: one e-mail (through the outbox, in the caller's transaction) to every
  notification contact of every affected account not excluded, each recorded as an
  UpdateDelivery, and the update shows in those accounts' portals;
- public: the same, plus the public status page and one e-mail to each confirmed
  subscriber of a status page listing an affected service.

An update to a resolved incident is refused (409) whatever its kind: the "resolved" update
is posted while the incident is still open (and moves it to resolved once the lifecycle's
transition is wired in); a resolved incident is re-opened first. Functions flush, never
commit."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.orm import Session

from escalate.accounts.models import Account, Contact, Service, ServiceGroup, ServiceGroupMember
from escalate.auth.models import User
from escalate.auth.permissions import Actor, Permission, authorize
from escalate.clock import Clock
from escalate.db import find
from escalate.errors import InvalidTransition, NotFound, PermissionDenied
from escalate.incidents import checklists, lifecycle, observers
from escalate.incidents import service as incident_service
from escalate.incidents.models import (
    AffectedAccount,
    Audience,
    Incident,
    IncidentService,
    IncidentStatus,
    StatusSubscriber,
    StatusUpdate,
    UpdateDelivery,
    UpdateKind,
)
from escalate.incidents.update_schemas import (
    PreviewAccount,
    PreviewMail,
    UpdateCreate,
    UpdatePreview,
    UpdateTemplate,
)
from escalate.notify import outbox
from escalate.notify.models import Channel, Notification
from escalate.pagination import Page, PageParams, paginate
from escalate.settings import Settings

MAIL_KIND = "status_update"
CUSTOMER_FACING = (Audience.CUSTOMERS, Audience.PUBLIC)
KIND_LABELS = {
    UpdateKind.ACKNOWLEDGEMENT: "Acknowledged",
    UpdateKind.INVESTIGATING: "Investigating",
    UpdateKind.IDENTIFIED: "Identified",
    UpdateKind.MONITORING: "Monitoring",
    UpdateKind.RESOLVED: "Resolved",
}
# The status an update of each kind reports when the responder names none.
KIND_STATUS = {
    UpdateKind.INVESTIGATING: IncidentStatus.INVESTIGATING,
    UpdateKind.IDENTIFIED: IncidentStatus.IDENTIFIED,
    UpdateKind.MONITORING: IncidentStatus.MONITORING,
    UpdateKind.RESOLVED: IncidentStatus.RESOLVED,
}
_TEMPLATES = {
    UpdateKind.ACKNOWLEDGEMENT: (
        "We are aware of a problem affecting {services} ({title}). Our team is on it and "
        "we will send the next update within 30 minutes."
    ),
    UpdateKind.INVESTIGATING: (
        "We are investigating a problem affecting {services}: {title}. We will share more "
        "as soon as we know it, and no later than in 30 minutes."
    ),
    UpdateKind.IDENTIFIED: (
        "We have identified the cause of the problem affecting {services} and are working "
        "on a fix. Next update within 30 minutes."
    ),
    UpdateKind.MONITORING: (
        "A fix for the problem affecting {services} is in place and we are monitoring the "
        "results. Next update within 60 minutes."
    ),
    UpdateKind.RESOLVED: (
        "The problem affecting {services} is resolved and the service works normally "
        "again. We are sorry for the disruption; a root cause analysis will follow."
    ),
}
_UNSUBSCRIBE_SALT = "escalate.status-unsubscribe"
_NOW = timedelta()  # status mails go at once


# --- pure rules ----------------------------------------------------------------------------


def default_message(kind: UpdateKind, *, title: str, services: Iterable[str]) -> str:
    """The text the composer pre-fills for an update of this kind."""
    names = list(services)
    text = ", ".join(names) if names else "our service"
    return _TEMPLATES[kind].format(services=text, title=title)


def reported_status(data: UpdateCreate, current: IncidentStatus) -> IncidentStatus:
    """The status an update reports: the one given, or its kind's, or the current one."""
    if data.status is not None:
        return data.status
    return KIND_STATUS.get(data.kind, current)


def customer_label(session: Session, incident: Incident) -> str:
    """What customers and the public call an incident: its customer title, else the
    services it affects. The title is the responders' working name (often an alert's text,
    naming hosts) and never leaves."""
    return customer_labels(session, [incident])[incident.id]


def customer_labels(session: Session, incidents: list[Incident]) -> dict[int, str]:
    """customer_label of each incident, with one query for all their services."""
    untitled = [i for i in incidents if not i.customer_title]
    names: dict[int, set[str]] = {i.id: set() for i in untitled}
    if untitled:
        listed = session.execute(
            select(IncidentService.incident_id, Service.name)
            .join(Service, Service.id == IncidentService.service_id)
            .where(IncidentService.incident_id.in_([i.id for i in untitled]))
        )
        primary = session.execute(
            select(Incident.id, Service.name)
            .join(Service, Service.id == Incident.service_id)
            .where(Incident.id.in_([i.id for i in untitled]))
        )
        for incident_id, name in [*listed, *primary]:
            names[incident_id].add(name)
    return {
        i.id: i.customer_title or ", ".join(sorted(names[i.id])) or "Our service" for i in incidents
    }


def subject_of(session: Session, incident: Incident, kind: UpdateKind) -> str:
    """The subject of every update mail, to customers and subscribers alike."""
    return subject_line(kind, customer_label(session, incident))


def subject_line(kind: UpdateKind, label: str) -> str:
    # One line whatever the names hold: a mail header cannot carry a line break.
    return f"[{KIND_LABELS[kind]}] {' '.join(label.split())}"[:300]


def customer_body(
    incident: Incident, *, message: str, status: IncidentStatus, at: datetime, link: str
) -> str:
    stamp = at.strftime("%d %b %Y, %H:%M UTC")
    return (
        f"{message}\n\n"
        f"Status: {status.value.capitalize()}\n"
        f"Posted: {stamp}\n\n"
        f"Follow this incident: {link}\n"
    )


def unsubscribe_token(settings: Settings, subscriber_id: int) -> str:
    """A signed, stable token for the unsubscribe link every subscriber mail carries (the
    stored token_hash is the confirmation secret, which is not kept in clear)."""
    serializer = URLSafeSerializer(settings.effective_secret_key(), salt=_UNSUBSCRIBE_SALT)
    return serializer.dumps(subscriber_id)


def subscriber_of_token(settings: Settings, token: str) -> int | None:
    serializer = URLSafeSerializer(settings.effective_secret_key(), salt=_UNSUBSCRIBE_SALT)
    try:
        value = serializer.loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


# --- reads ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    account_id: int
    account_name: str
    contact_id: int
    name: str
    email: str


def recipients(session: Session, *, incident_id: int) -> list[Recipient]:
    """Notification contacts with an e-mail of every affected account not excluded."""
    rows = session.execute(
        select(Account.id, Account.name, Contact.id, Contact.name, Contact.email)
        .join(AffectedAccount, AffectedAccount.account_id == Account.id)
        .join(Contact, Contact.account_id == Account.id)
        .where(
            AffectedAccount.incident_id == incident_id,
            AffectedAccount.excluded.is_(False),
            Contact.receives_incident_notifications.is_(True),
            Contact.email.is_not(None),
            Contact.email != "",
        )
        .order_by(Account.name, Contact.name, Contact.id)
    ).all()
    return [
        Recipient(a_id, a_name, c_id, c_name, str(email))
        for a_id, a_name, c_id, c_name, email in rows
    ]


def affected_service_ids(session: Session, incident: Incident) -> list[int]:
    ids = set(
        session.scalars(
            select(IncidentService.service_id).where(IncidentService.incident_id == incident.id)
        )
    )
    if incident.service_id is not None:
        ids.add(incident.service_id)
    return sorted(ids)


def affected_service_names(session: Session, incident: Incident) -> list[str]:
    ids = affected_service_ids(session, incident)
    if not ids:
        return []
    return list(
        session.scalars(select(Service.name).where(Service.id.in_(ids)).order_by(Service.name))
    )


def _subscribers_stmt(service_ids: list[int]) -> Select[Any]:
    """Confirmed, subscribed people of a public page that lists one of these services: a
    public group's page, or the main page (service_group_id null), which lists the public
    groups' services, or every service while no public group is defined (as
    statuspage.service builds the pages). A service on no public page reaches nobody."""
    if not service_ids:
        return select(StatusSubscriber).where(false())
    public = ServiceGroup.is_public.is_(True)
    groups = (
        select(ServiceGroupMember.group_id)
        .join(ServiceGroup, ServiceGroup.id == ServiceGroupMember.group_id)
        .where(public, ServiceGroupMember.service_id.in_(service_ids))
    )
    no_public_group = ~select(ServiceGroup.id).where(public).exists()
    on_main_page = or_(no_public_group, groups.exists())
    return (
        select(StatusSubscriber)
        .where(
            StatusSubscriber.confirmed_at.is_not(None),
            StatusSubscriber.unsubscribed_at.is_(None),
            or_(
                and_(StatusSubscriber.service_group_id.is_(None), on_main_page),
                StatusSubscriber.service_group_id.in_(groups),
            ),
        )
        .order_by(StatusSubscriber.id)
    )


def subscribers(session: Session, *, incident: Incident) -> list[StatusSubscriber]:
    return list(session.scalars(_subscribers_stmt(affected_service_ids(session, incident))))


def templates(session: Session, *, actor: Actor, incident_id: int) -> list[UpdateTemplate]:
    """The composer's pre-filled message per kind, with the incident's title and services."""
    incident = incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    services = affected_service_names(session, incident)
    return [
        UpdateTemplate(
            kind=kind,
            status=KIND_STATUS.get(kind, IncidentStatus(incident.status)),
            message=default_message(kind, title=incident.title, services=services),
        )
        for kind in UpdateKind
    ]


def list_updates(
    session: Session, *, actor: Actor, incident_id: int, page: PageParams
) -> Page[StatusUpdate]:
    """The incident's updates, newest first."""
    incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    stmt = (
        select(StatusUpdate)
        .where(StatusUpdate.incident_id == incident_id)
        .order_by(StatusUpdate.posted_at.desc(), StatusUpdate.id.desc())
    )
    return paginate(session, stmt, page)


def deliveries_of(
    session: Session, update_ids: list[int]
) -> dict[int, list[tuple[UpdateDelivery, str | None]]]:
    """Each update's deliveries with the state of their outbox row (pending, delivered...)."""
    found: dict[int, list[tuple[UpdateDelivery, str | None]]] = {i: [] for i in update_ids}
    if not update_ids:
        return found
    rows = session.execute(
        select(UpdateDelivery, Notification.status)
        .outerjoin(Notification, Notification.id == UpdateDelivery.notification_id)
        .where(UpdateDelivery.status_update_id.in_(update_ids))
        .order_by(UpdateDelivery.id)
    ).all()
    for delivery, status in rows:
        found[delivery.status_update_id].append((delivery, str(status) if status else None))
    return found


def subscribers_notified(session: Session, update_ids: list[int]) -> dict[int, int]:
    """How many status-page subscribers each update was mailed to (their outbox rows carry
    `status-update:<update id>:s<subscriber id>` as dedup key)."""
    found = dict.fromkeys(update_ids, 0)
    if not update_ids:
        return found
    keys = session.scalars(
        select(Notification.dedup_key).where(
            Notification.kind == MAIL_KIND,
            or_(*(Notification.dedup_key.startswith(_subscriber_key(i)) for i in update_ids)),
        )
    )
    for key in keys:
        update_id = int(key.split(":")[1])
        found[update_id] = found.get(update_id, 0) + 1
    return found


def _subscriber_key(update_id: int, subscriber_id: int | None = None) -> str:
    return f"status-update:{update_id}:s{'' if subscriber_id is None else subscriber_id}"


# --- preview and post -------------------------------------------------------------------


def _authorize_post(actor: Actor) -> None:
    authorize(actor, Permission.READ)
    if actor.role not in lifecycle.RESPONDERS:
        raise PermissionDenied(f"role {actor.role} may not post status updates")


def _portal_link(settings: Settings, incident_id: int) -> str:
    return f"{settings.base_url.rstrip('/')}/portal/incidents/{incident_id}"


def _subscriber_body(settings: Settings, body_core: str, subscriber_id: int) -> str:
    base = settings.base_url.rstrip("/")
    token = unsubscribe_token(settings, subscriber_id)
    return f"{body_core}\nUnsubscribe: {base}/status/unsubscribe/{token}\n"


def preview(
    session: Session,
    clock: Clock,
    settings: Settings,
    *,
    actor: Actor,
    incident_id: int,
    data: UpdateCreate,
) -> UpdatePreview:
    """What each audience would receive if this were posted now. Writes nothing."""
    _authorize_post(actor)
    incident = incident_service.get_incident(session, actor=actor, incident_id=incident_id)
    status = reported_status(data, IncidentStatus(incident.status))
    now = clock.now()
    accounts: dict[int, PreviewAccount] = {}
    public_text = portal_text = None
    count = 0
    if data.audience in CUSTOMER_FACING:
        subject = subject_of(session, incident, data.kind)
        body = customer_body(
            incident,
            message=data.message,
            status=status,
            at=now,
            link=_portal_link(settings, incident.id),
        )
        for r in recipients(session, incident_id=incident.id):
            entry = accounts.setdefault(
                r.account_id,
                PreviewAccount(account_id=r.account_id, account_name=r.account_name, mails=[]),
            )
            entry.mails.append(
                PreviewMail(
                    contact_id=r.contact_id, name=r.name, email=r.email, subject=subject, body=body
                )
            )
        portal_text = data.message
    if data.audience == Audience.PUBLIC:
        public_text = data.message
        count = len(subscribers(session, incident=incident))
    return UpdatePreview(
        audience=data.audience,
        accounts=list(accounts.values()),
        portal_text=portal_text,
        public_text=public_text,
        subscribers=count,
    )


def post_update(
    session: Session,
    clock: Clock,
    settings: Settings,
    *,
    actor: Actor,
    incident_id: int,
    data: UpdateCreate,
) -> StatusUpdate:
    """Record an update, put it on the timeline and queue its e-mails (see the module)."""
    _authorize_post(actor)
    incident_service.lock_incidents(session)
    incident = find(session, Incident, incident_id, with_for_update=True, populate_existing=True)
    if incident is None:
        raise NotFound(f"incident {incident_id} not found", field="incident_id")
    if incident.status == IncidentStatus.RESOLVED and data.kind != UpdateKind.RESOLVED:
        # The resolution notice often follows the restoration (the story's came 20 minutes
        # after); anything else about a resolved incident needs it re-opened first.
        raise InvalidTransition(
            f"incident #{incident.number} is resolved; only a resolution notice may follow "
            "(re-open it to post another kind)",
            field="status",
        )
    now = clock.now()
    update = StatusUpdate(
        incident_id=incident.id,
        kind=data.kind,
        status=reported_status(data, IncidentStatus(incident.status)),
        audience=data.audience,
        message=data.message,
        author_user_id=actor.user_id,
        posted_at=now,
    )
    session.add(update)
    session.flush()
    who = _who(session, actor)
    event = lifecycle.record_event(
        session,
        incident_id=incident.id,
        at=now,
        kind="update",
        summary=f"{KIND_LABELS[data.kind]} update to {data.audience.value}: {data.message[:500]}",
        actor_user_id=actor.user_id,
        actor_label=who,
        data={
            "status_update_id": update.id,
            "audience": data.audience.value,
            "kind": data.kind.value,
        },
    )
    event.internal = data.audience == Audience.INTERNAL
    if data.audience in CUSTOMER_FACING:
        _deliver(session, clock, settings, incident=incident, update=update)
        if incident.first_customer_update_at is None:
            incident.first_customer_update_at = now
        checklists.record(session, clock, incident.id, "customers_acknowledged", now, actor.user_id)
        if data.kind != UpdateKind.ACKNOWLEDGEMENT:
            checklists.record(session, clock, incident.id, "first_update", now, actor.user_id)
        session.flush()
        observers.incident_changed(session, clock, incident.id)
    if update.status != incident.status:
        # The lifecycle's rule decides: a move it forbids refuses the whole update (409).
        lifecycle.transition(session, clock, actor, incident.id, update.status, via="update")
    session.flush()
    return update


def _deliver(
    session: Session, clock: Clock, settings: Settings, *, incident: Incident, update: StatusUpdate
) -> None:
    subject = subject_of(session, incident, UpdateKind(update.kind))
    body = customer_body(
        incident,
        message=update.message,
        status=IncidentStatus(update.status),
        at=update.posted_at,
        link=_portal_link(settings, incident.id),
    )
    mailed: set[str] = set()
    for r in recipients(session, incident_id=incident.id):
        notification_id = outbox.add(
            session,
            clock,
            dedup_key=f"status-update:{update.id}:c{r.contact_id}",
            user_id=None,
            reach=outbox.Reach(Channel.EMAIL, r.email, None, _NOW),
            message=outbox.Message(
                kind=MAIL_KIND,
                subject=subject,
                body=body,
                incident_id=incident.id,
                data={"status_update_id": update.id, "account_id": r.account_id},
            ),
        )
        session.add(
            UpdateDelivery(
                status_update_id=update.id,
                account_id=r.account_id,
                contact_id=r.contact_id,
                email=r.email,
                notification_id=notification_id,
                created_at=update.posted_at,
            )
        )
        mailed.add(r.email.lower())
    if update.audience != Audience.PUBLIC:
        return
    public_link = f"{settings.base_url.rstrip('/')}/status"
    public_core = customer_body(
        incident,
        message=update.message,
        status=IncidentStatus(update.status),
        at=update.posted_at,
        link=public_link,
    )
    for subscriber in subscribers(session, incident=incident):
        if subscriber.email.lower() in mailed:
            continue
        mailed.add(subscriber.email.lower())
        outbox.add(
            session,
            clock,
            dedup_key=_subscriber_key(update.id, subscriber.id),
            user_id=None,
            reach=outbox.Reach(Channel.EMAIL, subscriber.email, None, _NOW),
            message=outbox.Message(
                kind=MAIL_KIND,
                subject=subject,
                body=_subscriber_body(settings, public_core, subscriber.id),
                incident_id=incident.id,
                data={"status_update_id": update.id, "subscriber_id": subscriber.id},
            ),
        )


def _who(session: Session, actor: Actor) -> str:
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    return user.name if user is not None else actor.label
