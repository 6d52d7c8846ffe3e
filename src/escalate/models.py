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
from escalate.incidents.models import Counter, Incident, IncidentEvent
from escalate.jobs.models import Job
from escalate.notify.models import ActionLink, ContactMethod, Notification, NotificationRule
from escalate.oncall.models import (
    CalendarFeed,
    EscalationPolicy,
    EscalationStep,
    EscalationTarget,
    Schedule,
    ScheduleLayer,
    ScheduleLayerMember,
    ScheduleOverride,
)
from escalate.sla.models import CreditTier, SlaPolicy, SlaTarget

__all__ = [
    "Account",
    "ActionLink",
    "Alert",
    "AlertEvent",
    "ApiToken",
    "AuditEntry",
    "Base",
    "CalendarFeed",
    "Contact",
    "ContactMethod",
    "Contract",
    "Counter",
    "CreditTier",
    "EscalationPolicy",
    "EscalationStep",
    "EscalationTarget",
    "HealthChange",
    "InboundError",
    "Incident",
    "IncidentEvent",
    "Integration",
    "Job",
    "Notification",
    "NotificationRule",
    "RoutingRule",
    "Schedule",
    "ScheduleLayer",
    "ScheduleLayerMember",
    "ScheduleOverride",
    "Service",
    "ServiceUsage",
    "Silence",
    "SlaPolicy",
    "SlaTarget",
    "User",
    "WebSession",
]
