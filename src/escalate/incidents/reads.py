"""An incident as people read it: with its services, affected accounts and role holders."""

from __future__ import annotations

from sqlalchemy.orm import Session

from escalate.incidents import affected, lifecycle, roles
from escalate.incidents.models import Incident, IncidentStatus
from escalate.incidents.schemas import AffectedAccountRead, IncidentDetail, RoleRead

# Shown on the incident pages, so everyone means the same by "a SEV2".
SEVERITY_DEFINITIONS = {
    "SEV1": "Critical: a core service is down or data is at risk for many customers.",
    "SEV2": "Major: a core feature is degraded or down for some customers; no workaround.",
    "SEV3": "Minor: a non-core feature is impaired, or a workaround exists.",
    "SEV4": "Low: cosmetic or internal; no customer impact expected.",
}


def affected_reads(session: Session, incident_id: int) -> list[AffectedAccountRead]:
    return [
        AffectedAccountRead(
            account_id=a.row.account_id,
            name=a.name,
            derived=a.row.derived,
            excluded=a.row.excluded,
            impact_start=a.row.impact_start,
            impact_end=a.row.impact_end,
            impact_level=a.row.impact_level,
            affected_users=a.row.affected_users,
            business_impact=a.row.business_impact,
        )
        for a in affected.list_affected(session, incident_id=incident_id)
    ]


def detail(session: Session, incident: Incident) -> IncidentDetail:
    """The API's (and the CLI's) shape of one incident."""
    read = IncidentDetail.model_validate(incident)
    return read.model_copy(
        update={
            "service_ids": affected.service_ids(session, incident_id=incident.id),
            "affected_accounts": affected_reads(session, incident.id),
            "roles": [
                RoleRead.model_validate(r) for r in roles.holders(session, incident_id=incident.id)
            ],
            "allowed_statuses": lifecycle.next_statuses(IncidentStatus(incident.status)),
        }
    )
