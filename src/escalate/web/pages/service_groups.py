"""Service groups for staff: the list, the new-group form and the editor (name, address,
description, visibility, order and member services), each linking to its public page
`/status/<slug>`. Kept off /status/, which is public."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from escalate.accounts.models import ServiceGroup
from escalate.auth.permissions import authorize
from escalate.pagination import MAX_LIMIT, PageParams
from escalate.statuspage import groups as group_service
from escalate.statuspage.schemas import ServiceGroupCreate, ServiceGroupUpdate
from escalate.web.deps import SessionDep
from escalate.web.pages import choices, forms, listing
from escalate.web.pages.forms import FormState
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.sessions import FormDep, FormLoginDep, Login, LoginDep

router = APIRouter(route_class=PageRoute)

TEXT_FIELDS = ("name", "slug", "description", "position")


@router.get("/service-groups")
def list_groups(request: Request, session: SessionDep, login: LoginDep) -> Response:
    state = FormState(values={"is_public": True, "position": "0", "services": []})
    return _list_page(request, session, login, state)


@router.post("/service-groups")
def create_group(
    request: Request, session: SessionDep, login: FormLoginDep, form: FormDep
) -> Response:
    authorize(login.actor, group_service.WRITE)
    state = _state(form)
    created: list[int] = []

    def create() -> None:
        data = ServiceGroupCreate.model_validate(_body(state.values))
        created.append(group_service.create(session, actor=login.actor, data=data).id)

    _attempt(state, create)
    if state.failed:
        session.rollback()
        return _list_page(request, session, login, state)
    return RedirectResponse(f"/service-groups/{created[0]}?saved=created", status_code=303)


@router.get("/service-groups/{group_id}")
def edit_group(group_id: str, request: Request, session: SessionDep, login: LoginDep) -> Response:
    group = _group(session, login, group_id)
    read = group_service.to_read(session, group)
    state = FormState(
        values={
            "name": read.name,
            "slug": read.slug,
            "description": read.description or "",
            "position": str(read.position),
            "is_public": read.is_public,
            "services": [str(i) for i in read.service_ids],
        }
    )
    return _edit_page(
        request, session, login, group, state, saved=request.query_params.get("saved")
    )


@router.post("/service-groups/{group_id}")
def update_group(
    group_id: str, request: Request, session: SessionDep, login: FormLoginDep, form: FormDep
) -> Response:
    authorize(login.actor, group_service.WRITE)
    group = _group(session, login, group_id)
    state = _state(form)

    def update() -> None:
        data = ServiceGroupUpdate.model_validate(_body(state.values))
        group_service.update(session, actor=login.actor, group=group, data=data)

    _attempt(state, update)
    if state.failed:
        session.rollback()
        group = _group(session, login, group_id)
        return _edit_page(request, session, login, group, state)
    return RedirectResponse(f"/service-groups/{group.id}?saved=saved", status_code=303)


@router.post("/service-groups/{group_id}/delete")
def delete_group(group_id: str, session: SessionDep, login: FormLoginDep) -> Response:
    group = _group(session, login, group_id)
    group_service.delete(session, actor=login.actor, group=group)
    return RedirectResponse("/service-groups?saved=deleted", status_code=303)


def _state(form: FormData) -> FormState:
    values: dict[str, Any] = {name: forms.text(form, name) for name in TEXT_FIELDS}
    values["is_public"] = forms.checked(form, "is_public")
    values["services"] = [v for v in form.getlist("services") if isinstance(v, str) and v]
    return FormState(values=values)


def _body(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": values["name"],
        "slug": values["slug"],
        "description": values["description"] or None,
        "is_public": values["is_public"],
        "position": values["position"] or "0",
        "services": values["services"],
    }


def _attempt(state: FormState, action: Callable[[], object]) -> None:
    """As forms.attempt; an error about one member ("services[2]") shows beside the list."""
    forms.attempt(state, action)
    for name in list(state.errors):
        if name.startswith("services["):
            state.add("services", state.errors.pop(name))


def _group(session: Session, login: Login, group_id: str) -> ServiceGroup:
    return group_service.get(
        session,
        actor=login.actor,
        group_id=listing.path_id(group_id, noun="service group", field="group_id"),
    )


def _service_options(session: Session, login: Login, chosen: list[str]) -> list[tuple[str, str]]:
    """Every service, the chosen ones first in page order: the order the form posts back."""
    options = choices.services(session, login.actor)
    names = dict(options)
    first = [(value, names[value]) for value in chosen if value in names]
    return first + [(value, name) for value, name in options if value not in chosen]


def _list_page(request: Request, session: Session, login: Login, state: FormState) -> Response:
    page = group_service.list_groups(
        session, actor=login.actor, page=PageParams(limit=MAX_LIMIT, offset=0)
    )
    return render(
        request,
        "service_groups/list.html",
        {
            "nav": "service-groups",
            "groups": group_service.to_reads(session, page.items),
            "total": page.total,
            "form": state,
            "services": _service_options(session, login, state.values["services"]),
            "can_write": login.can(group_service.WRITE),
            "saved": request.query_params.get("saved"),
        },
        status_code=state.status if state.failed else 200,
    )


def _edit_page(
    request: Request,
    session: Session,
    login: Login,
    group: ServiceGroup,
    state: FormState,
    *,
    saved: str | None = None,
) -> Response:
    return render(
        request,
        "service_groups/edit.html",
        {
            "nav": "service-groups",
            "group": group_service.to_read(session, group),
            "form": state,
            "services": _service_options(session, login, state.values["services"]),
            "can_write": login.can(group_service.WRITE),
            "saved": saved,
        },
        status_code=state.status if state.failed else 200,
    )
