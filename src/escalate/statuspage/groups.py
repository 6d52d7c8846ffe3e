"""Service groups: which services one public status page (`/status/<slug>`) shows, in which
order. The use cases of the API, the staff pages and the CLI. Functions flush, never
commit; the audit log records every change (auth.audit's flush hook)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from escalate.accounts import service as account_service
from escalate.accounts.models import Service, ServiceGroup, ServiceGroupMember
from escalate.auth.permissions import Actor, Permission, authorize
from escalate.db import find
from escalate.errors import Conflict, NotFound, ValidationFailed
from escalate.pagination import Page, PageParams, paginate
from escalate.statuspage.schemas import ServiceGroupCreate, ServiceGroupRead, ServiceGroupUpdate

WRITE = Permission.SERVICES_WRITE


def list_groups(session: Session, *, actor: Actor, page: PageParams) -> Page[ServiceGroup]:
    """Service groups in page order."""
    authorize(actor, Permission.READ)
    stmt = select(ServiceGroup).order_by(ServiceGroup.position, ServiceGroup.name)
    return paginate(session, stmt, page)


def get(session: Session, *, actor: Actor, group_id: int) -> ServiceGroup:
    """One group or NotFound."""
    authorize(actor, Permission.READ)
    group = find(session, ServiceGroup, group_id)
    if group is None:
        raise NotFound(f"service group {group_id} not found", field="group_id")
    return group


def find_by_slug_or_id(session: Session, *, actor: Actor, key: str) -> ServiceGroup:
    """The group with this slug or name (as the CLI names it), else with this id."""
    authorize(actor, Permission.READ)
    group = session.scalar(
        select(ServiceGroup).where(
            (ServiceGroup.slug == key) | (func.lower(ServiceGroup.name) == key.lower())
        )
    )
    if group is None and key.strip().isdigit():
        group = find(session, ServiceGroup, int(key))
    if group is None:
        raise NotFound(f"no service group {key!r}", field="group")
    return group


def public_group(session: Session, *, slug: str) -> ServiceGroup:
    """The public group whose page is `/status/<slug>`, or NotFound."""
    group = session.scalar(
        select(ServiceGroup).where(ServiceGroup.slug == slug, ServiceGroup.is_public.is_(True))
    )
    if group is None:
        raise NotFound(f"no status page {slug}", field="slug")
    return group


def create(session: Session, *, actor: Actor, data: ServiceGroupCreate) -> ServiceGroup:
    """A new group with its services (names or ids); name and slug must be free."""
    authorize(actor, WRITE)
    _require_free_name(session, data.name)
    _require_free_slug(session, data.slug)
    service_ids = _service_ids(session, data.services)
    group = ServiceGroup(
        name=data.name,
        slug=data.slug,
        description=data.description,
        is_public=data.is_public,
        position=data.position,
    )
    group.members = _members(service_ids)
    session.add(group)
    session.flush()
    return group


def update(
    session: Session, *, actor: Actor, group: ServiceGroup, data: ServiceGroupUpdate
) -> ServiceGroup:
    """Change a group; `services`, when given, replaces its members. Every check runs
    before the first change, so a refused update writes nothing."""
    authorize(actor, WRITE)
    fields = data.model_fields_set
    if data.name is not None and data.name.lower() != group.name.lower():
        _require_free_name(session, data.name)
    if data.slug is not None and data.slug != group.slug:
        _require_free_slug(session, data.slug)
    service_ids = _service_ids(session, data.services) if data.services is not None else None
    for name in ("name", "slug", "is_public", "position"):
        value = getattr(data, name)
        if value is not None and value != getattr(group, name):
            setattr(group, name, value)
    if "description" in fields and data.description != group.description:
        group.description = data.description
    if service_ids is not None and service_ids != [m.service_id for m in group.members]:
        group.members.clear()
        session.flush()  # the old members go before the new ones take their places
        group.members.extend(_members(service_ids))
    session.flush()
    return group


def delete(session: Session, *, actor: Actor, group: ServiceGroup) -> None:
    """Delete a group and its page; its e-mail subscribers go with it."""
    authorize(actor, WRITE)
    session.delete(group)
    session.flush()


def to_read(session: Session, group: ServiceGroup) -> ServiceGroupRead:
    return to_reads(session, [group])[0]


def to_reads(session: Session, groups: Sequence[ServiceGroup]) -> list[ServiceGroupRead]:
    """The API's view of these groups, their services read in one query."""
    members = services_of(session, [g.id for g in groups])
    return [
        ServiceGroupRead(
            id=g.id,
            name=g.name,
            slug=g.slug,
            description=g.description,
            is_public=g.is_public,
            position=g.position,
            service_ids=[s.id for s in members[g.id]],
            services=[s.name for s in members[g.id]],
        )
        for g in groups
    ]


def services_of(session: Session, group_ids: Sequence[int]) -> dict[int, list[Service]]:
    """Each group's services in page order, for all these groups in one query."""
    found: dict[int, list[Service]] = {group_id: [] for group_id in group_ids}
    if not group_ids:
        return found
    rows = session.execute(
        select(ServiceGroupMember.group_id, Service)
        .join(Service, Service.id == ServiceGroupMember.service_id)
        .where(ServiceGroupMember.group_id.in_(list(group_ids)))
        .order_by(ServiceGroupMember.group_id, ServiceGroupMember.position, Service.name)
    )
    for group_id, service in rows:
        found[group_id].append(service)
    return found


def _service_ids(session: Session, refs: Sequence[str]) -> list[int]:
    """Service ids of these names or ids, in order, each once. An unknown one is invalid
    input naming the field (422): the group exists, what it refers to does not."""
    ids: list[int] = []
    for ref in refs:
        try:
            service_id = account_service.service_id_for(session, ref)
        except NotFound:
            raise ValidationFailed(f"no service named {ref!r}", field="services") from None
        if service_id not in ids:
            ids.append(service_id)
    return ids


def _members(service_ids: Sequence[int]) -> list[ServiceGroupMember]:
    return [
        ServiceGroupMember(service_id=service_id, position=position)
        for position, service_id in enumerate(service_ids)
    ]


def _require_free_name(session: Session, name: str) -> None:
    if session.scalar(select(ServiceGroup.id).where(func.lower(ServiceGroup.name) == name.lower())):
        raise Conflict(f"a service group named {name} exists already", field="name")


def _require_free_slug(session: Session, slug: str) -> None:
    if session.scalar(select(ServiceGroup.id).where(ServiceGroup.slug == slug)):
        raise Conflict(f"the slug {slug} is taken", field="slug")
