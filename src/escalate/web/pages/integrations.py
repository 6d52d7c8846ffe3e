"""Integrations: the list, creating one (its key and how to set it up, shown once), and one
integration's page with its settings, key rotation and the events it refused."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from escalate.alerts import rules as rule_service
from escalate.alerts import service as alert_service
from escalate.alerts.models import Integration, IntegrationKind, Severity
from escalate.alerts.schemas import IntegrationCreate, IntegrationUpdate
from escalate.auth.permissions import Permission, authorize
from escalate.pagination import PageParams
from escalate.settings import Settings
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages import choices, forms, listing, setup
from escalate.web.pages.forms import FormState
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.sessions import FormDep, FormLoginDep, Login, LoginDep

router = APIRouter(route_class=PageRoute)

ERRORS_PREFIX = "errors_"
ERRORS_LIMIT = 10
SAVED_NOTICES = {"settings": "Settings saved."}


# --- the list and creating one ------------------------------------------------------------


@router.get("/integrations")
def list_integrations(request: Request, session: SessionDep, login: LoginDep) -> Response:
    return _list_page(request, session, login)


@router.post("/integrations")
def create_integration(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    authorize(login.actor, Permission.INTEGRATIONS_MANAGE)
    state = FormState(
        values={
            "name": forms.text(form, "name"),
            "kind": forms.text(form, "kind"),
            "default_service_id": forms.optional_text(form, "default_service_id"),
        }
    )
    created: list[tuple[Integration, str]] = []
    forms.attempt(
        state,
        lambda: created.append(
            alert_service.create_integration(
                session,
                container.clock,
                actor=login.actor,
                data=IntegrationCreate.model_validate(state.values),
            )
        ),
    )
    if state.failed:
        session.rollback()
        return _list_page(request, session, login, create_form=state)
    integration, key = created[0]
    # The key exists only in this answer (it is stored hashed), so no redirect: the page
    # that shows it is this response, and Cache-Control: no-store keeps it out of caches.
    return _detail_page(
        request,
        session,
        container.settings,
        login,
        integration,
        key=key,
        notice="Integration created. Copy its key now: it is shown only this once.",
        status_code=201,
    )


def _list_page(
    request: Request, session: Session, login: Login, *, create_form: FormState | None = None
) -> Response:
    page = alert_service.list_integrations(
        session, actor=login.actor, page=listing.page_params(request)
    )
    form = create_form or FormState(values={"kind": IntegrationKind.ALERTMANAGER.value})
    return render(
        request,
        "integrations/list.html",
        {
            "nav": "integrations",
            "integrations": page.items,
            "pager": listing.pager(request, page, path="/integrations"),
            "kind_labels": choices.KIND_LABELS,
            "kinds": choices.creatable_kinds(),
            "services": choices.services(session, login.actor),
            "create_form": form,
            "can_manage": login.can(Permission.INTEGRATIONS_MANAGE),
        },
        status_code=form.status if form.failed else 200,
    )


# --- one integration ----------------------------------------------------------------------


@router.get("/integrations/{integration_id}")
def show_integration(
    integration_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: LoginDep,
) -> Response:
    integration = integration_in_path(session, login, integration_id)
    notice = SAVED_NOTICES.get(request.query_params.get("saved", ""))
    return _detail_page(request, session, container.settings, login, integration, notice=notice)


@router.post("/integrations/{integration_id}")
def update_settings(
    integration_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    authorize(login.actor, Permission.INTEGRATIONS_MANAGE)
    integration = integration_in_path(session, login, integration_id)
    state = FormState(values=_settings_from(form))
    forms.attempt(
        state,
        lambda: rule_service.update_integration(
            session,
            actor=login.actor,
            integration_id=integration.id,
            data=_settings_update(state.values),
        ),
    )
    if state.failed:
        session.rollback()
        integration = integration_in_path(session, login, integration_id)
        return _detail_page(
            request, session, container.settings, login, integration, settings_form=state
        )
    return RedirectResponse(
        f"/integrations/{integration.id}?saved=settings#settings", status_code=303
    )


@router.post("/integrations/{integration_id}/rotate-key")
def rotate_key(
    integration_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
) -> Response:
    authorize(login.actor, Permission.INTEGRATIONS_MANAGE)
    integration = integration_in_path(session, login, integration_id)
    integration, key = alert_service.rotate_key(
        session, container.clock, actor=login.actor, integration_id=integration.id
    )
    return _detail_page(
        request,
        session,
        container.settings,
        login,
        integration,
        key=key,
        notice="New key made; the old key stopped working. Copy it now: it is shown only "
        "this once.",
    )


def _detail_page(
    request: Request,
    session: Session,
    settings: Settings,
    login: Login,
    integration: Integration,
    *,
    key: str | None = None,
    notice: str | None = None,
    settings_form: FormState | None = None,
    status_code: int = 200,
) -> Response:
    can_manage = login.can(Permission.INTEGRATIONS_MANAGE)
    errors_page = errors_pager = None
    if can_manage:
        errors_page = alert_service.list_inbound_errors(
            session,
            actor=login.actor,
            page=listing.page_params(request, prefix=ERRORS_PREFIX, default_limit=ERRORS_LIMIT),
            integration_id=integration.id,
        )
        errors_pager = listing.pager(
            request,
            errors_page,
            path=f"/integrations/{integration.id}",
            prefix=ERRORS_PREFIX,
            default_limit=ERRORS_LIMIT,
        )
    one = PageParams(limit=1)
    rules = rule_service.list_rules(
        session, actor=login.actor, integration_id=integration.id, page=one
    )
    alerts = alert_service.list_alerts(
        session, actor=login.actor, page=one, integration_id=integration.id
    )
    form = settings_form or FormState(values=_settings_of(integration))
    return render(
        request,
        "integrations/detail.html",
        {
            "nav": "integrations",
            "integration": integration,
            "kind_label": choices.KIND_LABELS.get(integration.kind, integration.kind),
            "key": key,
            "setup": setup.setup_for(integration.kind, settings, key),
            "notice": notice,
            "settings_form": form,
            "services": choices.services(session, login.actor),
            "severities": [s.value for s in Severity],
            "incident_severities": choices.INCIDENT_SEVERITIES,
            "rule_count": rules.total,
            "alert_count": alerts.total,
            "inbound_errors": errors_page.items if errors_page else [],
            "errors_pager": errors_pager,
            "can_manage": can_manage,
        },
        status_code=settings_form.status if settings_form and settings_form.failed else status_code,
    )


# --- the settings form ------------------------------------------------------------------


def _settings_of(integration: Integration) -> dict[str, Any]:
    severity_map = integration.severity_map or {}
    return {
        "name": integration.name,
        "default_service_id": integration.default_service_id,
        "is_active": integration.is_active,
        "grouping_labels": ", ".join(integration.grouping_labels or []),
        "grouping_window_minutes": integration.grouping_window_minutes,
        "flap_window_minutes": integration.flap_window_minutes,
        "auto_resolve_incidents": integration.auto_resolve_incidents,
        **{f"severity_map.{s.value}": severity_map.get(s.value, "") for s in Severity},
    }


def _settings_from(form: FormData) -> dict[str, Any]:
    return {
        "name": forms.text(form, "name"),
        "default_service_id": forms.optional_text(form, "default_service_id"),
        "is_active": forms.checked(form, "is_active"),
        "grouping_labels": forms.text(form, "grouping_labels"),
        "grouping_window_minutes": forms.text(form, "grouping_window_minutes"),
        "flap_window_minutes": forms.text(form, "flap_window_minutes"),
        "auto_resolve_incidents": forms.checked(form, "auto_resolve_incidents"),
        **{
            f"severity_map.{s.value}": forms.text(form, f"severity_map.{s.value}") for s in Severity
        },
    }


def _settings_update(values: dict[str, Any]) -> IntegrationUpdate:
    """The form's text as the domain's update; every field is sent, so an emptied
    default service or severity mapping is cleared, not kept."""
    labels = values["grouping_labels"].replace(",", " ").split()
    severity_map = {
        s.value: values[f"severity_map.{s.value}"]
        for s in Severity
        if values[f"severity_map.{s.value}"]
    }
    return IntegrationUpdate.model_validate(
        {
            "name": values["name"],
            "default_service_id": values["default_service_id"],
            "is_active": values["is_active"],
            "grouping_labels": labels,
            "grouping_window_minutes": values["grouping_window_minutes"],
            "flap_window_minutes": values["flap_window_minutes"],
            "auto_resolve_incidents": values["auto_resolve_incidents"],
            "severity_map": severity_map,
        }
    )


def integration_in_path(session: Session, login: Login, integration_id: str) -> Integration:
    """The integration a page's path names, or the 404 page (rules.py uses it too)."""
    return alert_service.get_integration(
        session,
        actor=login.actor,
        integration_id=listing.path_id(integration_id, noun="integration", field="integration_id"),
    )
