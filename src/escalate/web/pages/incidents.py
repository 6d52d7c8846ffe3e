"""Incidents: the list with its filters, the declare form, and one incident with its
status buttons, key times, roles, affected services and accounts, checklist, alerts,
escalation and timeline. Every form posts, acts through the domain, and redirects back;
a refused change answers the domain's status (409 for a move the lifecycle forbids)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from escalate.accounts import service as account_service
from escalate.alerts import service as alert_service
from escalate.auth import service as auth_service
from escalate.errors import NotFound, ValidationFailed
from escalate.incidents import affected, checklists, lifecycle, reads, roles
from escalate.incidents import service as incident_service
from escalate.incidents.models import (
    AffectedAccount,
    Incident,
    IncidentSeverity,
    IncidentStatus,
)
from escalate.incidents.schemas import ImpactEdit, IncidentDeclare, IncidentUpdate
from escalate.oncall import policies as policy_service
from escalate.pagination import MAX_LIMIT, PageParams
from escalate.web.deps import FAILED, ContainerDep, SessionDep
from escalate.web.pages import forms, incident_sla, listing
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute, error_page
from escalate.web.pages.sessions import FormDep, FormLoginDep, Login, LoginDep
from escalate.web.pages.updates import composer_context

router = APIRouter(route_class=PageRoute)

ALERTS_PREFIX = "alerts_"
FILTERS = ("open", "mine", "severity", "service", "account", "status")


def _moment(form: FormData, name: str) -> datetime | None:
    """A datetime-local field, read as UTC (the pages show UTC)."""
    value = forms.text(form, name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationFailed("not a date and time", field=name) from exc
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


DECLARE_FIELDS = ("title", "severity", "service", "escalation_policy", "description")
EDIT_FIELDS = ("title", "customer_title", "severity", "started_at", "detected_at", "description")
IMPACT_FIELDS = ("impact_start", "impact_end", "impact_level", "affected_users", "business_impact")
# A form's fields named as the domain names them in its errors.
FIELD_ALIASES = {"user": "user_id"}


def _attempt(state: forms.FormState, action: Callable[[], object]) -> forms.FormState:
    """forms.attempt, where a name the person typed that matches nothing ("no account
    named ...") is also theirs to fix: it goes beside its field (422), not to a 404 page."""
    try:
        forms.attempt(state, action)
    except NotFound as exc:
        name = FIELD_ALIASES.get(exc.field or "", exc.field or "")
        if name not in state.values:
            raise
        forms.from_domain_error(state, exc)
        state.status = 422
    for domain_name, form_name in FIELD_ALIASES.items():
        if domain_name in state.errors:
            state.errors.setdefault(form_name, state.errors.pop(domain_name))
    return state


def _refused(request: Request, session: SessionDep) -> None:
    """Nothing a refused form did is kept: the unit of work rolls back."""
    setattr(request.state, FAILED, True)
    session.rollback()


def _values(form: FormData, names: tuple[str, ...]) -> dict[str, str]:
    return {name: forms.text(form, name) for name in names}


@router.get("/incidents/new")
def new_incident(request: Request, session: SessionDep, login: LoginDep) -> Response:
    return _declare_page(request, session, login, forms.FormState())


def _declare_page(
    request: Request, session: SessionDep, login: Login, state: forms.FormState
) -> Response:
    everything = PageParams(limit=MAX_LIMIT, offset=0)
    services = account_service.list_services(session, actor=login.actor, page=everything).items
    policies = policy_service.list_policies(session, actor=login.actor, page=everything).items
    return render(
        request,
        "incidents/new.html",
        {
            "nav": "incidents",
            "form": state,
            "severities": reads.SEVERITY_DEFINITIONS,
            "service_options": [(s.id, s.name) for s in services],
            "policy_options": [(p.name, p.name) for p in policies],
        },
        status_code=state.status,
    )


@router.post("/incidents/new")
def declare_incident(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    state = forms.FormState(values=_values(form, DECLARE_FIELDS))
    declared: list[int] = []

    def declare() -> None:
        values = state.values
        data = IncidentDeclare.model_validate(
            {
                "title": values["title"],
                "severity": values["severity"],
                "service": values["service"] or None,
                "escalation_policy": values["escalation_policy"] or None,
                "description": values["description"] or None,
            }
        )
        if data.escalation_policy is not None:
            policy = policy_service.require_by_name(
                session, name=data.escalation_policy, field="escalation_policy"
            )
            data = data.model_copy(update={"escalation_policy": policy.name})
        incident = lifecycle.declare(session, container.clock, actor=login.actor, data=data)
        declared.append(incident.id)

    _attempt(state, declare)
    if state.failed:
        _refused(request, session)
        return _declare_page(request, session, login, state)
    return RedirectResponse(f"/incidents/{declared[0]}?saved=declared", status_code=303)


@router.get("/incidents/{incident_id}")
def show_incident(
    incident_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: LoginDep,
) -> Response:
    found = listing.path_id(incident_id, noun="incident", field="incident_id")
    return _incident_page(request, session, container, login, found)


def _incident_page(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: Login,
    incident_id: int,
    *,
    failed: tuple[str, forms.FormState] | None = None,
) -> Response:
    """The incident page; `failed` is the form (by name) a person sent that was refused,
    shown with what they typed and its errors beside its fields."""
    incident = incident_service.get_incident(session, actor=login.actor, incident_id=incident_id)
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
    page_forms = _blank_forms(incident, login)
    impact_forms = {a.row.account_id: _impact_form(a.row) for a in everyone}
    if failed is not None and failed[0] == "impact":
        impact_forms[int(failed[1].values["account_id"])] = failed[1]
    elif failed is not None:
        page_forms[failed[0]] = failed[1]
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
            "saved": "" if failed else request.query_params.get("saved", ""),
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
            "page_forms": page_forms,
            "impact_forms": impact_forms,
            "severity_options": [(sev, sev) for sev in reads.SEVERITY_DEFINITIONS],
            "people_options": [(u.id, u.name) for u in people.values() if u.is_active],
        },
        status_code=failed[1].status if failed else 200,
    )


def _local_input(moment: datetime | None) -> str:
    """A stored time as a datetime-local field's value (UTC, as the pages show)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _blank_forms(incident: Incident, login: Login) -> dict[str, forms.FormState]:
    """The incident page's forms as they first show: the edit form holds the incident."""
    return {
        "edit": forms.FormState(
            values={
                "title": incident.title,
                "customer_title": incident.customer_title or "",
                "severity": incident.severity,
                "started_at": _local_input(incident.started_at),
                "detected_at": _local_input(incident.detected_at),
                "description": incident.description or "",
            }
        ),
        "roles": forms.FormState(values={"role": "commander", "user_id": str(login.user_id)}),
        "services": forms.FormState(values={"service": ""}),
        "accounts": forms.FormState(values={"account": ""}),
    }


def _impact_form(row: AffectedAccount) -> forms.FormState:
    """An affected account's impact editor, holding what is recorded."""
    users = row.affected_users
    return forms.FormState(
        values={
            "impact_start": _local_input(row.impact_start),
            "impact_end": _local_input(row.impact_end),
            "impact_level": str(row.impact_level),
            "affected_users": "" if users is None else str(users),
            "business_impact": row.business_impact or "",
            "account_id": str(row.account_id),
        }
    )


def _submit(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: Login,
    incident_id: str,
    *,
    name: str,
    state: forms.FormState,
    action: Callable[[int], object],
    saved: str,
) -> Response:
    """Run one of the incident page's forms: on success back to the page; refused, the
    page again (nothing written) with this form's input and errors."""
    found = listing.path_id(incident_id, noun="incident", field="incident_id")
    _attempt(state, lambda: action(found))
    if state.failed:
        _refused(request, session)
        return _incident_page(request, session, container, login, found, failed=(name, state))
    return RedirectResponse(f"/incidents/{found}?saved={saved}", status_code=303)


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
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    state = forms.FormState(values=_values(form, EDIT_FIELDS))

    def edit(found: int) -> None:
        fields: dict[str, Any] = {
            name: state.values[name]
            for name in ("title", "customer_title", "severity", "description")
        }
        for name in ("started_at", "detected_at"):
            if state.values[name]:
                fields[name] = _moment(form, name)
        changes = IncidentUpdate.model_validate(fields).model_dump(exclude_unset=True)
        lifecycle.update(
            session, container.clock, actor=login.actor, incident_id=found, changes=changes
        )

    return _submit(
        request,
        session,
        container,
        login,
        incident_id,
        name="edit",
        state=state,
        action=edit,
        saved="edited",
    )


@router.post("/incidents/{incident_id}/roles")
def assign_role(
    incident_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    state = forms.FormState(values=_values(form, ("role", "user_id")))

    def assign(found: int) -> None:
        user_id = listing.path_id(state.values["user_id"], noun="user", field="user_id")
        roles.assign(
            session,
            container.clock,
            actor=login.actor,
            incident_id=found,
            role=state.values["role"],
            user_id=user_id,
        )

    return _submit(
        request,
        session,
        container,
        login,
        incident_id,
        name="roles",
        state=state,
        action=assign,
        saved="role",
    )


@router.post("/incidents/{incident_id}/services")
def add_service(
    incident_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    state = forms.FormState(values=_values(form, ("service",)))

    def add(found: int) -> None:
        service = state.values["service"]
        if not service:
            raise ValidationFailed("choose a service", field="service")
        affected.add_service(
            session, container.clock, actor=login.actor, incident_id=found, service=service
        )

    return _submit(
        request,
        session,
        container,
        login,
        incident_id,
        name="services",
        state=state,
        action=add,
        saved="services",
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
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    state = forms.FormState(values=_values(form, ("account",)))

    def add(found: int) -> None:
        account = state.values["account"]
        if not account:
            raise ValidationFailed("name an account", field="account")
        affected.add_account(
            session, container.clock, actor=login.actor, incident_id=found, account=account
        )

    return _submit(
        request,
        session,
        container,
        login,
        incident_id,
        name="accounts",
        state=state,
        action=add,
        saved="accounts",
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
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    aid = listing.path_id(account_id, noun="account", field="account_id")
    # The account rides along so the page opens the editor of the row that was refused.
    state = forms.FormState(values={**_values(form, IMPACT_FIELDS), "account_id": str(aid)})

    def edit(found: int) -> None:
        values = state.values
        data = ImpactEdit.model_validate(
            {
                "impact_start": _moment(form, "impact_start"),
                "impact_end": _moment(form, "impact_end"),
                "impact_level": values["impact_level"] or None,
                "affected_users": values["affected_users"] or None,
                "business_impact": values["business_impact"] or None,
            }
        )
        changes = data.model_dump()
        if changes["impact_level"] is None:
            del changes["impact_level"]
        affected.edit_impact(
            session,
            container.clock,
            actor=login.actor,
            incident_id=found,
            account_id=aid,
            changes=changes,
        )

    return _submit(
        request,
        session,
        container,
        login,
        incident_id,
        name="impact",
        state=state,
        action=edit,
        saved="impact",
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
