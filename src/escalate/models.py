"""Every table, imported in one place so Alembic and the tests see the whole schema."""

from escalate.accounts.models import (
    Account,
    Contact,
    Contract,
    HealthChange,
    Service,
    ServiceUsage,
)
from escalate.alerts.models import (
    Alert,
    AlertEvent,
    InboundError,
    Integration,
    RoutingRule,
    Silence,
)
from escalate.auth.models import ApiToken, AuditEntry, User, WebSession
from escalate.db import Base
from escalate.incidents.models import Counter, Incident
from escalate.jobs.models import Job
from escalate.sla.models import CreditTier, SlaPolicy, SlaTarget

__all__ = [
    "Account",
    "Alert",
    "AlertEvent",
    "ApiToken",
    "AuditEntry",
    "Base",
    "Contact",
    "Contract",
    "Counter",
    "CreditTier",
    "HealthChange",
    "InboundError",
    "Incident",
    "Integration",
    "Job",
    "RoutingRule",
    "Service",
    "ServiceUsage",
    "Silence",
    "SlaPolicy",
    "SlaTarget",
    "User",
    "WebSession",
]
