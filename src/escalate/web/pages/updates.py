"""The update composer of an incident: write an update, preview what each audience would
receive, post it; and the past updates with their deliveries per contact."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from escalate.incidents import lifecycle
from escalate.incidents import service as incident_service
from escalate.incidents import updates as update_service
from escalate.incidents.models import Audience, Incident, IncidentStatus, UpdateKind
from escalate.incidents.update_schemas import UpdateCreate, UpdatePreview
from escalate.web.deps import FAILED, ContainerDep, SessionDep
from escalate.web.pages import forms, listing
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.sessions import FormDep, FormLoginDep, Login, LoginDep

router = APIRouter(route_class=PageRoute)

FIELDS = ("kind", "audience", "message", "status")


def _data(form: FormData) -> UpdateCreate:
    return UpdateCreate.model_validate(
        {
            "kind": forms.text(form, "kind"),
            "audience": forms.text(form, "audience"),
            "message": forms.text(form, "message"),
            "status": forms.optional_text(form, "status"),
        }
    )


def composer_context(
    session: SessionDep,
    login: Login,
    incident: Incident,
    *,
    state: forms.FormState | None = None,
    kind: str | None = None,
) -> dict[str, object]:
    """What templates/incidents/_composer.html needs. A resolved incident takes only its
    resolution notice (the domain's rule), so that is the only kind offered."""
    templates = update_service.templates(session, actor=login.actor, incident_id=incident.id)
    messages = {t.kind.value: t.message for t in templates}
    resolved = incident.status == IncidentStatus.RESOLVED
    kinds = [UpdateKind.RESOLVED] if resolved else list(UpdateKind)
    chosen = kind if kind in {k.value for k in kinds} else _suggested_kind(incident).value
    return {
        "templates": [t for t in templates if t.kind in kinds],
        "template_messages": messages,
        "state": state
        or forms.FormState(
            values={
                "kind": chosen,
                "audience": Audience.CUSTOMERS.value,
                "message": messages[chosen],
            }
        ),
        "kinds": kinds,
        "audiences": list(Audience),
        "statuses": list(IncidentStatus),
        "can_post": login.role in lifecycle.RESPONDERS,
    }


def _suggested_kind(incident: Incident) -> UpdateKind:
    """The template that fits where the incident stands: first word to customers while it
    is new, then the status it is in."""
    status = IncidentStatus(incident.status)
    if status in (IncidentStatus.TRIGGERED, IncidentStatus.ACKNOWLEDGED):
        return UpdateKind.ACKNOWLEDGEMENT
    return UpdateKind(status.value)


def _composer(
    request: Request,
    session: SessionDep,
    login: Login,
    incident_id: int,
    *,
    state: forms.FormState | None = None,
    preview: UpdatePreview | None = None,
    kind: str | None = None,
) -> Response:
    incident = incident_service.get_incident(session, actor=login.actor, incident_id=incident_id)
    page = update_service.list_updates(
        session, actor=login.actor, incident_id=incident_id, page=listing.page_params(request)
    )
    context = composer_context(session, login, incident, state=state, kind=kind)
    return render(
        request,
        "incidents/updates.html",
        {
            **context,
            "nav": "incidents",
            "incident": incident,
            "updates": page.items,
            "deliveries": update_service.deliveries_of(session, [u.id for u in page.items]),
            "pager": listing.pager(request, page, path=f"/incidents/{incident_id}/updates"),
            "preview": preview,
            "posted": request.query_params.get("posted", ""),
        },
        status_code=state.status if state else 200,
    )


@router.get("/incidents/{incident_id}/updates")
def updates_page(
    incident_id: str, request: Request, session: SessionDep, login: LoginDep
) -> Response:
    found = listing.path_id(incident_id, noun="incident", field="incident_id")
    return _composer(request, session, login, found, kind=request.query_params.get("kind"))


def _parsed(form: FormData, state: forms.FormState) -> UpdateCreate | None:
    try:
        return _data(form)
    except ValidationError as exc:
        forms.from_validation_error(state, exc)
        return None


@router.post("/incidents/{incident_id}/updates")
def post_update(
    incident_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    found = listing.path_id(incident_id, noun="incident", field="incident_id")
    state = forms.FormState(values={k: forms.text(form, k) for k in FIELDS})
    data = _parsed(form, state)
    if data is not None:
        forms.attempt(
            state,
            lambda: update_service.post_update(
                session,
                container.clock,
                container.settings,
                actor=login.actor,
                incident_id=found,
                data=data,
            ),
        )
    if state.failed:
        setattr(request.state, FAILED, True)
        session.rollback()
        return _composer(request, session, login, found, state=state)
    if form.get("back") == "incident":
        return RedirectResponse(f"/incidents/{found}?saved=update#customers-title", status_code=303)
    return RedirectResponse(f"/incidents/{found}/updates?posted=1", status_code=303)


@router.post("/incidents/{incident_id}/updates/preview")
def preview_update(
    incident_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    found = listing.path_id(incident_id, noun="incident", field="incident_id")
    state = forms.FormState(values={k: forms.text(form, k) for k in FIELDS})
    # A preview writes nothing: the request's unit of work is rolled back.
    setattr(request.state, FAILED, True)
    data = _parsed(form, state)
    preview = None
    if data is not None:
        preview = update_service.preview(
            session,
            container.clock,
            container.settings,
            actor=login.actor,
            incident_id=found,
            data=data,
        )
    return _composer(request, session, login, found, state=state, preview=preview)
