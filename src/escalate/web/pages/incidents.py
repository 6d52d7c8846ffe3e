"""Incidents: the list with its filters, the declare form, and one incident with its
status buttons, key times, roles, affected services and accounts, checklist, alerts,
escalation and timeline. Every form posts, acts through the domain, and redirects back;
a refused change answers the domain's status (409 for a move the lifecycle forbids)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from escalate.accounts import service as account_service
from escalate.alerts import service as alert_service
from escalate.auth import service as auth_service
from escalate.errors import ValidationFailed
from escalate.incidents import affected, checklists, lifecycle, reads, roles
from escalate.incidents import service as incident_service
from escalate.incidents.models import IncidentSeverity, IncidentStatus
from escalate.incidents.schemas import ImpactEdit, IncidentDeclare, IncidentUpdate
from escalate.oncall import policies as policy_service
from escalate.pagination import MAX_LIMIT, PageParams
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages import forms, incident_sla, listing
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute, error_page
from escalate.web.pages.sessions import FormDep, FormLoginDep, LoginDep
from escalate.web.pages.updates import composer_context

router = APIRouter(route_class=PageRoute)

ALERTS_PREFIX = "alerts_"
FILTERS = ("open", "mine", "severity", "service", "account", "status")
M = TypeVar("M", bound=BaseModel)


def _validated(model: type[M], data: dict[str, Any]) -> M:
    """A form's data as the API's model; a mistake names its field (422)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "form"
        raise ValidationFailed(f"{field}: {first['msg']}", field=field) from exc


def _moment(form: FormData, name: str) -> datetime | None:
    """A datetime-local field, read as UTC (the pages show UTC)."""
    value = forms.text(form, name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed(f"{name}: not a date and time", field=name) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@router.get("/incidents")
def list_incidents(request: Request, session: SessionDep, login: LoginDep) -> Response:
    query = {name: request.query_params.get(name, "").strip() for name in FILTERS}
    if query["status"] and query["status"] not in {s.value for s in IncidentStatus}:
        return error_page(request, 400, detail="Unknown status in the filter.")
    if query["severity"] and query["severity"] not in {s.value for s in IncidentSeverity}:
        return error_page(request, 422, detail="Unknown severity in the filter (SEV1-SEV4).")
    open_only = {"true": True, "false": False}.get(query["open"])
    page = incident_service.list_incidents(
        session,
        actor=login.actor,
        page=listing.page_params(request),
        status=IncidentStatus(query["status"]) if query["status"] else None,
        severity=IncidentSeverity(query["severity"]) if query["severity"] else None,
        service=query["service"] or None,
        account=query["account"] or None,
        open_only=open_only,
        mine=query["mine"] == "true",
    )
    return render(
        request,
        "incidents/list.html",
        {
            "nav": "incidents",
            "incidents": page.items,
            "pager": listing.pager(request, page, path="/incidents"),
            "status": query["status"],
            "filters": query,
            "statuses": [(s.value, s.value.capitalize()) for s in IncidentStatus],
            "severities": reads.SEVERITY_DEFINITIONS,
            "can_respond": login.role in lifecycle.RESPONDERS,
        },
    )


@router.get("/incidents/new")
def new_incident(request: Request, session: SessionDep, login: LoginDep) -> Response:
    return render(
        request,
        "incidents/new.html",
        {
            "nav": "incidents",
            "severities": reads.SEVERITY_DEFINITIONS,
            "services": account_service.list_services(
                session, actor=login.actor, page=PageParams(limit=MAX_LIMIT, offset=0)
            ).items,
            "policies": policy_service.list_policies(
                session, actor=login.actor, page=PageParams(limit=MAX_LIMIT, offset=0)
            ).items,
        },
    )


@router.post("/incidents/new")
def declare_incident(
    session: SessionDep, container: ContainerDep, login: FormLoginDep, form: FormDep
) -> Response:
    data = _validated(
        IncidentDeclare,
        {
            "title": forms.text(form, "title"),
            "severity": forms.text(form, "severity"),
            "service": forms.optional_text(form, "service"),
            "escalation_policy": forms.optional_text(form, "escalation_policy"),
            "description": forms.optional_text(form, "description"),
        },
    )
    if data.escalation_policy is not None:
        policy = policy_service.require_by_name(
            session, name=data.escalation_policy, field="escalation_policy"
        )
        data = data.model_copy(update={"escalation_policy": policy.name})
    incident = lifecycle.declare(session, container.clock, actor=login.actor, data=data)
    return RedirectResponse(f"/incidents/{incident.id}?saved=declared", status_code=303)


@router.get("/incidents/{incident_id}")
def show_incident(
    incident_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: LoginDep,
) -> Response:
    incident = incident_service.get_incident(
        session,
        actor=login.actor,
        incident_id=listing.path_id(incident_id, noun="incident", field="incident_id"),
    )
    alerts = alert_service.list_alerts(
        session,
        actor=login.actor,
        page=listing.page_params(request, prefix=ALERTS_PREFIX),
        incident_id=incident.id,
    )
    events = lifecycle.timeline(
        session,
        actor=login.actor,
        incident_id=incident.id,
        page=PageParams(limit=MAX_LIMIT, offset=0),
    )
    role_rows = roles.history(session, incident_id=incident.id)
    people = {
        u.id: u
        for u in auth_service.list_users(
            session, actor=login.actor, page=PageParams(limit=MAX_LIMIT, offset=0)
        ).items
    }
    acknowledged_by = people.get(incident.acknowledged_by_user_id or 0)
    plan = incident.escalation_plan or {}
    everyone = [
        a for a in affected.list_affected(session, incident_id=incident.id, include_excluded=True)
    ]
    return render(
        request,
        "incidents/detail.html",
        {
            "nav": "incidents",
            "incident": incident,
            "now": container.clock.now(),
            "events": events.items,
            "events_total": events.total,
            "acknowledged_by": acknowledged_by,
            "plan_steps": len(plan.get("steps") or []),
            "saved": request.query_params.get("saved", ""),
            "can_respond": login.role in lifecycle.RESPONDERS,
            "next_statuses": lifecycle.next_statuses(IncidentStatus(incident.status)),
            "severities": reads.SEVERITY_DEFINITIONS,
            "current_roles": [r for r in role_rows if r.ended_at is None],
            "past_roles": [r for r in role_rows if r.ended_at is not None],
            "people": people,
            "services": affected.services(session, incident_id=incident.id),
            "affected": [a for a in everyone if not a.row.excluded],
            "excluded": [a for a in everyone if a.row.excluded],
            "checklist": checklists.items(session, incident_id=incident.id),
            "alerts": alerts.items,
            "alerts_pager": listing.pager(
                request, alerts, path=f"/incidents/{incident.id}", prefix=ALERTS_PREFIX
            ),
            **incident_sla.sla_context(
                session, container.clock, actor=login.actor, incident=incident
            ),
            **composer_context(session, login, incident),
            "composer_back": "incident",
        },
    )


def _act(incident_id: str, action: Callable[[int], object], saved: str) -> Response:
    found = listing.path_id(incident_id, noun="incident", field="incident_id")
    action(found)
    return RedirectResponse(f"/incidents/{found}?saved={saved}", status_code=303)


@router.post("/incidents/{incident_id}/acknowledge")
def acknowledge_incident(
    incident_id: str, session: SessionDep, container: ContainerDep, login: FormLoginDep
) -> Response:
    return _act(
        incident_id,
        lambda found: lifecycle.acknowledge(
            session, container.clock, actor=login.actor, incident_id=found
        ),
        "acknowledged",
    )


@router.post("/incidents/{incident_id}/resolve")
def resolve_incident(
    incident_id: str, session: SessionDep, container: ContainerDep, login: FormLoginDep
) -> Response:
    return _act(
        incident_id,
        lambda found: lifecycle.resolve(
            session, container.clock, actor=login.actor, incident_id=found
        ),
        "resolved",
    )


def _status(form: FormData) -> IncidentStatus:
    value = forms.text(form, "status")
    if value not in {s.value for s in IncidentStatus}:
        raise ValidationFailed(f"unknown status {value!r}", field="status")
    return IncidentStatus(value)


@router.post("/incidents/{incident_id}/status")
def change_status(
    incident_id: str,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    to = _status(form)
    note = forms.optional_text(form, "note")
    return _act(
        incident_id,
        lambda found: lifecycle.transition(session, container.clock, login.actor, found, to, note),
        to.value,
    )


@router.post("/incidents/{incident_id}/notes")
def add_note(
    incident_id: str,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    text = forms.optional_text(form, "text") or ""
    return _act(
        incident_id,
        lambda found: lifecycle.add_note(session, container.clock, login.actor, found, text),
        "note",
    )


@router.post("/incidents/{incident_id}/reopen")
def reopen_incident(
    incident_id: str, session: SessionDep, container: ContainerDep, login: FormLoginDep
) -> Response:
    return _act(
        incident_id,
        lambda found: lifecycle.reopen(session, container.clock, login.actor, found),
        "reopened",
    )


@router.post("/incidents/{incident_id}/edit")
def edit_incident(
    incident_id: str,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    fields: dict[str, Any] = {
        "title": forms.text(form, "title"),
        "severity": forms.text(form, "severity"),
        "description": forms.text(form, "description"),
    }
    for name in ("started_at", "detected_at"):
        if forms.text(form, name):
            fields[name] = _moment(form, name)
    changes = _validated(IncidentUpdate, fields).model_dump(exclude_unset=True)
    return _act(
        incident_id,
        lambda found: lifecycle.update(
            session, container.clock, actor=login.actor, incident_id=found, changes=changes
        ),
        "edited",
    )


@router.post("/incidents/{incident_id}/roles")
def assign_role(
    incident_id: str,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    role = forms.text(form, "role")
    user_id = listing.path_id(forms.text(form, "user_id"), noun="user", field="user")
    return _act(
        incident_id,
        lambda found: roles.assign(
            session,
            container.clock,
            actor=login.actor,
            incident_id=found,
            role=role,
            user_id=user_id,
        ),
        "role",
    )


@router.post("/incidents/{incident_id}/services")
def add_service(
    incident_id: str,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    service = forms.text(form, "service")
    if not service:
        raise ValidationFailed("choose a service", field="service")
    return _act(
        incident_id,
        lambda found: affected.add_service(
            session, container.clock, actor=login.actor, incident_id=found, service=service
        ),
        "services",
    )


@router.post("/incidents/{incident_id}/services/{service_id}/remove")
def remove_service(
    incident_id: str,
    service_id: str,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
) -> Response:
    sid = listing.path_id(service_id, noun="service", field="service_id")
    return _act(
        incident_id,
        lambda found: affected.remove_service(
            session, container.clock, actor=login.actor, incident_id=found, service_id=sid
        ),
        "services",
    )


@router.post("/incidents/{incident_id}/accounts")
def add_account(
    incident_id: str,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    account = forms.text(form, "account")
    if not account:
        raise ValidationFailed("name an account", field="account")
    return _act(
        incident_id,
        lambda found: affected.add_account(
            session, container.clock, actor=login.actor, incident_id=found, account=account
        ),
        "accounts",
    )


@router.post("/incidents/{incident_id}/accounts/{account_id}/exclude")
def exclude_account(
    incident_id: str,
    account_id: str,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
) -> Response:
    aid = listing.path_id(account_id, noun="account", field="account_id")
    return _act(
        incident_id,
        lambda found: affected.exclude_account(
            session, container.clock, actor=login.actor, incident_id=found, account_id=aid
        ),
        "accounts",
    )


@router.post("/incidents/{incident_id}/accounts/{account_id}/impact")
def edit_impact(
    incident_id: str,
    account_id: str,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    aid = listing.path_id(account_id, noun="account", field="account_id")
    users = forms.text(form, "affected_users")
    data = _validated(
        ImpactEdit,
        {
            "impact_start": _moment(form, "impact_start"),
            "impact_end": _moment(form, "impact_end"),
            "impact_level": forms.text(form, "impact_level") or None,
            "affected_users": users or None,
            "business_impact": forms.optional_text(form, "business_impact"),
        },
    )
    changes = data.model_dump()
    if changes["impact_level"] is None:
        del changes["impact_level"]
    return _act(
        incident_id,
        lambda found: affected.edit_impact(
            session,
            container.clock,
            actor=login.actor,
            incident_id=found,
            account_id=aid,
            changes=changes,
        ),
        "impact",
    )


@router.post("/incidents/{incident_id}/checklist/{item_id}")
def tick_item(
    incident_id: str,
    item_id: str,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    iid = listing.path_id(item_id, noun="checklist item", field="item_id")
    done = forms.text(form, "done") == "true"
    return _act(
        incident_id,
        lambda found: checklists.mark(
            session, container.clock, actor=login.actor, incident_id=found, item_id=iid, done=done
        ),
        "checklist",
    )
