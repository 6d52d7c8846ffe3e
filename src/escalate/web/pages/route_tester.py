"""The route tester: where would this alert go right now? It answers with the decision
ingestion takes (rules.test_route), for a sample typed as fields or a raw payload, and
writes nothing, so viewers may use it too."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from escalate import errors
from escalate.alerts import rules as rule_service
from escalate.alerts import service as alert_service
from escalate.alerts import silences as silence_service
from escalate.alerts.models import Integration, Severity
from escalate.alerts.schemas import RouteTest, RouteTestResult
from escalate.incidents import service as incident_service
from escalate.oncall import escalation
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages import choices, forms, lines, listing
from escalate.web.pages.forms import FormState
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.sessions import FormDep, FormLoginDep, Login, LoginDep

router = APIRouter(route_class=PageRoute)


@router.get("/routing/test")
def route_tester(request: Request, session: SessionDep, login: LoginDep) -> Response:
    params = request.query_params
    values: dict[str, Any] = {
        "integration_id": params.get("integration", ""),
        "summary": "Test alert",
        "severity": Severity.ERROR.value,
    }
    alert_id = listing.optional_id(params.get("alert"))
    if alert_id is not None:
        # "Where would this alert go now?": the tester filled in from a stored alert.
        alert = alert_service.get_alert(session, actor=login.actor, alert_id=alert_id)
        values.update(
            integration_id=str(alert.integration_id),
            summary=alert.summary,
            severity=alert.severity,
            source=alert.source or "",
            dedup_key=alert.dedup_key,
            labels=lines.format_labels(alert.labels),
        )
    return _tester_page(request, session, login, FormState(values=values))


@router.post("/routing/test")
def run_route_test(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    names = ("integration_id", "summary", "severity", "source", "dedup_key", "labels", "payload")
    state = FormState(values={name: forms.text(form, name) for name in names})
    results: list[RouteTestResult] = []

    def run() -> None:
        integration_id = listing.optional_id(state.values["integration_id"])
        if integration_id is None:
            raise errors.ValidationFailed("choose an integration", field="integration_id")
        integration = alert_service.get_integration(
            session, actor=login.actor, integration_id=integration_id
        )
        result = rule_service.test_route(
            session,
            container.clock,
            actor=login.actor,
            data=_route_test(integration, state.values),
        )
        results.append(escalation.with_people(session, container.clock, result))

    forms.attempt(state, run)
    _fold_errors(state)
    session.rollback()  # the tester writes nothing; make sure of it
    return _tester_page(request, session, login, state, result=results[0] if results else None)


def _route_test(integration: Integration, values: dict[str, Any]) -> RouteTest:
    """The integration by name (the tester looks it up by name first), and the sample as
    typed, or the raw payload when one is given."""
    if values["payload"]:
        try:
            payload = json.loads(values["payload"])
        except ValueError as exc:
            raise errors.ValidationFailed(f"not valid JSON: {exc}", field="payload") from None
        if not isinstance(payload, dict):
            raise errors.ValidationFailed("a JSON object is needed, {...}", field="payload")
        return RouteTest.model_validate({"integration": integration.name, "payload": payload})
    alert: dict[str, Any] = {
        "summary": values["summary"],
        "severity": values["severity"],
        "source": values["source"] or None,
        "labels": lines.parse_labels(values["labels"]),
    }
    if values["dedup_key"]:
        alert["dedup_key"] = values["dedup_key"]
    return RouteTest.model_validate({"integration": integration.name, "alert": alert})


def _fold_errors(state: FormState) -> None:
    """Errors named by the domain's paths ("alert.labels", "payload.alerts.0.labels") go
    beside the form field they came from; the rest above the form."""
    for name in list(state.errors):
        parts = re.split(r"[.\[]", name)
        field = parts[1] if parts[0] == "alert" and len(parts) > 1 else parts[0]
        if field != name or name not in state.values:
            message = state.errors.pop(name)
            state.add(field if field in state.values else "form", message)


def _tester_page(
    request: Request,
    session: Session,
    login: Login,
    state: FormState,
    *,
    result: RouteTestResult | None = None,
) -> Response:
    silence = incident = None
    if result is not None and result.suppressed_by is not None:
        silence = silence_service.get_silence(
            session, actor=login.actor, silence_id=result.suppressed_by
        )
    if result is not None and result.would_join_incident is not None:
        incident = incident_service.get_incident_by_number(
            session, actor=login.actor, number=result.would_join_incident
        )
    return render(
        request,
        "routing/test.html",
        {
            "nav": "integrations",
            "form": state,
            "integrations": choices.integrations(session, login.actor),
            "severities": choices.ALERT_SEVERITIES,
            "result": result,
            "silence": silence,
            "incident": incident,
        },
        status_code=state.status if state.failed else 200,
    )
