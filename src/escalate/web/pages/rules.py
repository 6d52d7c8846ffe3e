"""An integration's routing rules, in the order they are tried: add, edit, move, delete
(the catch-all stays, last). The route tester is its neighbour, route_tester.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from escalate import errors
from escalate.alerts import rules as rule_service
from escalate.alerts.models import Integration, RoutingRule
from escalate.alerts.schemas import (
    RoutingOrder,
    RoutingRuleCreate,
    RoutingRuleUpdate,
)
from escalate.auth.permissions import Permission, authorize
from escalate.pagination import MAX_LIMIT, PageParams
from escalate.web.deps import SessionDep
from escalate.web.pages import choices, forms, lines, listing
from escalate.web.pages.forms import FormState
from escalate.web.pages.integrations import integration_in_path
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.sessions import FormDep, FormLoginDep, Login, LoginDep

router = APIRouter(route_class=PageRoute)

RULES_LIMIT = 50
SAVED_NOTICES = {
    "added": "Rule added.",
    "edited": "Rule saved.",
    "deleted": "Rule deleted.",
    "moved": "Rule moved.",
}
# Only these may change on the catch-all (see rules.update_rule).
CATCH_ALL_FIELDS = ("service_id", "escalation_policy", "severity_override")


# --- the editor -------------------------------------------------------------------------


@router.get("/integrations/{integration_id}/routing")
def show_rules(
    integration_id: str, request: Request, session: SessionDep, login: LoginDep
) -> Response:
    integration = integration_in_path(session, login, integration_id)
    notice = SAVED_NOTICES.get(request.query_params.get("saved", ""))
    return _rules_page(request, session, login, integration, notice=notice)


@router.post("/integrations/{integration_id}/routing/rules")
def add_rule(
    integration_id: str,
    request: Request,
    session: SessionDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    authorize(login.actor, Permission.INTEGRATIONS_MANAGE)
    integration = integration_in_path(session, login, integration_id)
    state = FormState(values=_rule_values(form))
    forms.attempt(
        state,
        lambda: rule_service.create_rule(
            session,
            actor=login.actor,
            integration_id=integration.id,
            data=RoutingRuleCreate.model_validate(_rule_fields(state.values)),
        ),
    )
    if state.failed:
        session.rollback()
        integration = integration_in_path(session, login, integration_id)
        return _rules_page(request, session, login, integration, add_form=state)
    return _back(integration, "added")


@router.post("/integrations/{integration_id}/routing/rules/{rule_id}")
def edit_rule(
    integration_id: str,
    rule_id: str,
    request: Request,
    session: SessionDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    authorize(login.actor, Permission.INTEGRATIONS_MANAGE)
    integration = integration_in_path(session, login, integration_id)
    rule = _rule(session, login, integration, rule_id)
    state = FormState(values=_rule_values(form))

    def save() -> None:
        fields = _rule_fields(state.values, catch_all=rule.is_catch_all)
        data = RoutingRuleUpdate.model_validate(fields)
        rule_service.update_rule(session, actor=login.actor, rule_id=rule.id, data=data)

    forms.attempt(state, save)
    if state.failed:
        session.rollback()
        integration = integration_in_path(session, login, integration_id)
        return _rules_page(request, session, login, integration, edit_forms={rule.id: state})
    return _back(integration, "edited", anchor=f"rule-{rule.id}")


@router.post("/integrations/{integration_id}/routing/rules/{rule_id}/delete")
def delete_rule(
    integration_id: str,
    rule_id: str,
    request: Request,
    session: SessionDep,
    login: FormLoginDep,
) -> Response:
    authorize(login.actor, Permission.INTEGRATIONS_MANAGE)
    integration = integration_in_path(session, login, integration_id)
    rule = _rule(session, login, integration, rule_id)
    state = FormState()
    forms.attempt(
        state, lambda: rule_service.delete_rule(session, actor=login.actor, rule_id=rule.id)
    )
    if state.failed:
        session.rollback()
        integration = integration_in_path(session, login, integration_id)
        return _rules_page(
            request,
            session,
            login,
            integration,
            error=next(iter(state.errors.values())),
            status_code=state.status,
        )
    return _back(integration, "deleted")


@router.post("/integrations/{integration_id}/routing/rules/{rule_id}/move")
def move_rule(
    integration_id: str,
    rule_id: str,
    request: Request,
    session: SessionDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    authorize(login.actor, Permission.INTEGRATIONS_MANAGE)
    integration = integration_in_path(session, login, integration_id)
    rule = _rule(session, login, integration, rule_id)
    direction = forms.text(form, "direction")
    if direction not in ("up", "down") or rule.is_catch_all:
        raise errors.ValidationFailed(
            "a rule moves up or down, and the catch-all stays last", field="direction"
        )
    everything = rule_service.list_rules(
        session, actor=login.actor, integration_id=integration.id, page=PageParams(limit=MAX_LIMIT)
    )
    order = [r.id for r in everything.items if not r.is_catch_all]
    at = order.index(rule.id)
    to = at - 1 if direction == "up" else at + 1
    if 0 <= to < len(order):
        order[at], order[to] = order[to], order[at]
        rule_service.reorder_rules(
            session,
            actor=login.actor,
            integration_id=integration.id,
            data=RoutingOrder(rule_ids=order),
        )
    return _back(integration, "moved", anchor=f"rule-{rule.id}")


def _rules_page(
    request: Request,
    session: Session,
    login: Login,
    integration: Integration,
    *,
    notice: str | None = None,
    error: str | None = None,
    add_form: FormState | None = None,
    edit_forms: dict[int, FormState] | None = None,
    status_code: int = 200,
) -> Response:
    page = rule_service.list_rules(
        session,
        actor=login.actor,
        integration_id=integration.id,
        page=listing.page_params(request, default_limit=RULES_LIMIT),
    )
    movable = [r for r in page.items if not r.is_catch_all]
    edit_forms = edit_forms or {}
    failed = next((f for f in (add_form, *edit_forms.values()) if f and f.failed), None)
    return render(
        request,
        "integrations/routing.html",
        {
            "nav": "integrations",
            "integration": integration,
            "rules": page.items,
            "first_movable": movable[0].id if movable and page.offset == 0 else None,
            "last_movable": movable[-1].id
            if movable and page.offset + page.limit >= page.total
            else None,
            "pager": listing.pager(request, page, default_limit=RULES_LIMIT),
            "notice": notice,
            "error": error,
            "add_form": add_form or FormState(),
            "edit_forms": {
                r.id: edit_forms.get(r.id) or FormState(values=_values_of(r)) for r in page.items
            },
            "services": choices.services(session, login.actor),
            "incident_severities": choices.INCIDENT_SEVERITIES,
            "can_manage": login.can(Permission.INTEGRATIONS_MANAGE),
        },
        status_code=failed.status if failed else status_code,
    )


def _rule_values(form: FormData) -> dict[str, Any]:
    return {
        "name": forms.text(form, "name"),
        "matchers": forms.text(form, "matchers"),
        "service_id": forms.optional_text(form, "service_id"),
        "escalation_policy": forms.optional_text(form, "escalation_policy"),
        "severity_override": forms.optional_text(form, "severity_override"),
        "continue_matching": forms.checked(form, "continue_matching"),
    }


def _rule_fields(values: dict[str, Any], *, catch_all: bool = False) -> dict[str, Any]:
    """The form's text as the domain's fields; the matcher lines are parsed here."""
    if catch_all:
        return {name: values[name] for name in CATCH_ALL_FIELDS}
    matchers = lines.parse_matchers(values["matchers"])
    if not matchers:
        raise errors.ValidationFailed(
            f"give at least one matcher, as in {lines.EXAMPLE}; the catch-all already takes "
            "every alert",
            field="matchers",
        )
    return {**values, "matchers": [m.model_dump() for m in matchers]}


def _values_of(rule: RoutingRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "matchers": lines.format_matchers(rule.matchers),
        "service_id": rule.service_id,
        "escalation_policy": rule.escalation_policy,
        "severity_override": rule.severity_override,
        "continue_matching": rule.continue_matching,
    }


def _back(integration: Integration, saved: str, *, anchor: str = "rules") -> Response:
    return RedirectResponse(
        f"/integrations/{integration.id}/routing?saved={saved}#{anchor}", status_code=303
    )


def _rule(session: Session, login: Login, integration: Integration, rule_id: str) -> RoutingRule:
    rule = rule_service.get_rule(
        session, actor=login.actor, rule_id=listing.path_id(rule_id, noun="rule", field="rule_id")
    )
    if rule.integration_id != integration.id:
        raise errors.NotFound(f"rule {rule.id} not found in {integration.name}", field="rule_id")
    return rule
