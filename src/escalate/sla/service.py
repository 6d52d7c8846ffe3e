"""SLA policies. Clocks, uptime and credits build on these in later modules."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from escalate.auth.permissions import Actor, Permission, authorize
from escalate.db import find
from escalate.errors import Conflict, NotFound
from escalate.pagination import Page, PageParams, paginate
from escalate.sla.models import CreditTier, SlaPolicy, SlaTarget
from escalate.sla.schemas import SlaPolicyCreate


def get(session: Session, *, policy_id: int) -> SlaPolicy:
    """Return the policy with this id."""
    policy = find(session, SlaPolicy, policy_id)
    if policy is None:
        raise NotFound(f"SLA policy {policy_id} not found", field="sla_policy_id")
    return policy


def read(session: Session, *, actor: Actor, policy_id: int) -> SlaPolicy:
    """Return the policy with this id to someone allowed to read it."""
    authorize(actor, Permission.READ)
    return get(session, policy_id=policy_id)


def get_by_name(session: Session, *, name: str) -> SlaPolicy | None:
    """Return the policy with this name, if any."""
    return session.scalar(select(SlaPolicy).where(SlaPolicy.name == name))


def require_by_name(session: Session, *, actor: Actor, name: str) -> SlaPolicy:
    """Return the policy with this name or raise NotFound naming the field."""
    authorize(actor, Permission.READ)
    policy = get_by_name(session, name=name)
    if policy is None:
        raise NotFound(f"no SLA policy named {name!r}", field="sla_policy")
    return policy


def list_policies(session: Session, *, actor: Actor, page: PageParams) -> Page[SlaPolicy]:
    """List SLA policies by name."""
    authorize(actor, Permission.READ)
    return paginate(session, select(SlaPolicy).order_by(SlaPolicy.name), page)


def create(session: Session, *, actor: Actor, data: SlaPolicyCreate) -> SlaPolicy:
    """Create a policy with its per-severity targets and credit tiers."""
    authorize(actor, Permission.SLA_WRITE)
    if get_by_name(session, name=data.name) is not None:
        raise Conflict(f"an SLA policy named {data.name!r} already exists", field="name")
    policy = SlaPolicy(
        name=data.name,
        description=data.description,
        uptime_target_percent=data.uptime_target_percent,
        credit_cap_percent=data.credit_cap_percent,
        targets=[SlaTarget(**t.model_dump()) for t in data.targets],
        credit_tiers=[CreditTier(**c.model_dump()) for c in data.credit_tiers],
    )
    session.add(policy)
    session.flush()
    return policy
