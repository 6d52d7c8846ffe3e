"""The options of the selects several pages share: services, integrations, severities."""

from __future__ import annotations

from sqlalchemy.orm import Session

from escalate.accounts import service as account_service
from escalate.alerts import service as alert_service
from escalate.alerts.models import IntegrationKind, Severity
from escalate.auth.permissions import Actor
from escalate.incidents.models import IncidentSeverity
from escalate.pagination import MAX_LIMIT, PageParams

Options = list[tuple[str, str]]

KIND_LABELS = {
    IntegrationKind.ALERTMANAGER.value: "Prometheus Alertmanager",
    IntegrationKind.EVENTS_V2.value: "PagerDuty Events API v2",
    IntegrationKind.GENERIC.value: "Generic JSON",
    IntegrationKind.EMAIL.value: "Email",
}
# Kinds a person can set up from the pages: those with a door that receives them (all, now
# that generic JSON and e-mail have theirs).
CREATABLE_KINDS = (
    IntegrationKind.ALERTMANAGER,
    IntegrationKind.EVENTS_V2,
    IntegrationKind.GENERIC,
    IntegrationKind.EMAIL,
)

ALERT_SEVERITIES: Options = [(s.value, s.value.capitalize()) for s in Severity]
INCIDENT_SEVERITIES: Options = [(s.value, s.value) for s in IncidentSeverity]


def services(session: Session, actor: Actor) -> Options:
    """Every service by name (a select is no place for paging; the API pages them)."""
    page = account_service.list_services(session, actor=actor, page=PageParams(limit=MAX_LIMIT))
    return [(str(s.id), s.name) for s in page.items]


def integrations(session: Session, actor: Actor) -> Options:
    page = alert_service.list_integrations(session, actor=actor, page=PageParams(limit=MAX_LIMIT))
    return [(str(i.id), i.name) for i in page.items]


def creatable_kinds() -> Options:
    return [(kind.value, KIND_LABELS[kind.value]) for kind in CREATABLE_KINDS]
