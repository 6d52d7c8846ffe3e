"""Escalation policies: the list and the editor. Steps are edited as lines, one step a
line: `5: Support 24/7, james@example.com, CSM` pages the schedule's on-call person and
James and the accounts' CSMs, then waits 5 minutes. An e-mail is a person, CSM the
customer success managers, anything else a schedule's name."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from escalate import errors
from escalate.auth.permissions import authorize
from escalate.oncall import policies as policy_service
from escalate.oncall.models import EscalationPolicy
from escalate.oncall.policy_schemas import PolicyCreate, PolicyUpdate
from escalate.pagination import MAX_LIMIT, PageParams
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages import forms, listing
from escalate.web.pages.forms import FormState
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.sessions import FormDep, FormLoginDep, Login, LoginDep

router = APIRouter(route_class=PageRoute)

FIELDS = ("name", "description", "repeat_count", "steps")
_STEP_LINE = re.compile(r"^\s*(?P<delay>-?\d+)\s*(?:m|min|minutes?)?\s*:\s*(?P<targets>.*)$")
_STEP_FIELD = re.compile(r"^steps\[(\d+)\]")


def steps_text(policy: EscalationPolicy) -> str:
    """A policy's steps as the editor's lines."""
    lines = []
    for step in policy.steps:
        names = [
            t.user.email if t.user is not None else t.schedule.name if t.schedule else "?"
            for t in step.targets
        ]
        if step.notify_account_csm:
            names.append("CSM")
        lines.append(f"{step.delay_minutes}: {', '.join(names)}")
    return "\n".join(lines)


def parse_steps(text: str) -> list[dict[str, Any]]:
    """The editor's lines as the API's steps; a line that is not `minutes: targets` is a
    ValidationFailed naming its number."""
    steps = []
    for number, line in enumerate((ln for ln in text.splitlines() if ln.strip()), start=1):
        found = _STEP_LINE.match(line)
        if found is None:
            raise errors.ValidationFailed(
                f"line {number}: write minutes, a colon, then the targets "
                "(e.g. 5: Support 24/7, james@example.com, CSM)",
                field="steps",
            )
        step: dict[str, Any] = {
            "delay_minutes": int(found["delay"]),
            "users": [],
            "schedules": [],
            "notify_account_csm": False,
        }
        for target in (t.strip() for t in found["targets"].split(",")):
            if not target:
                continue
            if target.lower() == "csm":
                step["notify_account_csm"] = True
            else:
                step["users" if "@" in target else "schedules"].append(target)
        steps.append(step)
    return steps


@router.get("/policies")
def list_policies(request: Request, session: SessionDep, login: LoginDep) -> Response:
    return _list_page(request, session, login, FormState(values={"repeat_count": "0"}))


@router.post("/policies")
def create_policy(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    authorize(login.actor, policy_service.WRITE)
    state = FormState(values={name: forms.text(form, name) for name in FIELDS})
    created: list[int] = []

    def create() -> None:
        data = PolicyCreate.model_validate(_body(state.values))
        policy = policy_service.create(session, container.clock, actor=login.actor, data=data)
        created.append(policy.id)

    _attempt(state, create)
    if state.failed:
        session.rollback()
        return _list_page(request, session, login, state)
    return RedirectResponse(f"/policies/{created[0]}?saved=created", status_code=303)


@router.get("/policies/{policy_id}")
def edit_policy(policy_id: str, request: Request, session: SessionDep, login: LoginDep) -> Response:
    policy = _policy(session, login, policy_id)
    state = FormState(
        values={
            "name": policy.name,
            "description": policy.description or "",
            "repeat_count": str(policy.repeat_count),
            "steps": steps_text(policy),
        }
    )
    return _edit_page(request, login, policy, state, saved=request.query_params.get("saved"))


@router.post("/policies/{policy_id}")
def update_policy(
    policy_id: str,
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    authorize(login.actor, policy_service.WRITE)
    policy = _policy(session, login, policy_id)
    state = FormState(values={name: forms.text(form, name) for name in FIELDS})

    def update() -> None:
        data = PolicyUpdate.model_validate(_body(state.values))
        policy_service.update(session, container.clock, actor=login.actor, policy=policy, data=data)

    _attempt(state, update)
    if state.failed:
        session.rollback()
        policy = _policy(session, login, policy_id)
        return _edit_page(request, login, policy, state)
    return RedirectResponse(f"/policies/{policy.id}?saved=saved", status_code=303)


@router.post("/policies/{policy_id}/delete")
def delete_policy(policy_id: str, session: SessionDep, login: FormLoginDep) -> Response:
    policy = _policy(session, login, policy_id)
    policy_service.delete(session, actor=login.actor, policy=policy)
    return RedirectResponse("/policies?saved=deleted", status_code=303)


def _body(values: dict[str, str]) -> dict[str, Any]:
    repeat = values["repeat_count"] or "0"
    if not re.fullmatch(r"-?\d+", repeat):
        raise errors.ValidationFailed("a whole number from 0 to 9", field="repeat_count")
    return {
        "name": values["name"],
        "description": values["description"] or None,
        "repeat_count": int(repeat),
        "steps": parse_steps(values["steps"]),
    }


def _attempt(state: FormState, action: Any) -> None:
    """As forms.attempt, with errors about one step ("steps[1].delay_minutes") shown
    beside the steps box, naming the line."""
    try:
        action()
    except ValidationError as exc:
        forms.from_validation_error(state, exc)
    except forms.FIXABLE_ERRORS as exc:
        forms.from_domain_error(state, exc)
    for name in list(state.errors):
        found = _STEP_FIELD.match(name)
        if found is not None:
            message = state.errors.pop(name)
            state.add("steps", f"Line {int(found.group(1)) + 1}: {message}")


def _policy(session: Session, login: Login, policy_id: str) -> EscalationPolicy:
    return policy_service.get(
        session,
        actor=login.actor,
        policy_id=listing.path_id(policy_id, noun="escalation policy", field="policy_id"),
    )


def _list_page(request: Request, session: Session, login: Login, state: FormState) -> Response:
    page = policy_service.list_policies(
        session, actor=login.actor, page=PageParams(limit=MAX_LIMIT, offset=0)
    )
    return render(
        request,
        "policies/list.html",
        {
            "nav": "policies",
            "policies": [policy_service.to_read(p) for p in page.items],
            "total": page.total,
            "form": state,
            "can_write": login.can(policy_service.WRITE),
            "saved": request.query_params.get("saved"),
        },
        status_code=state.status if state.failed else 200,
    )


def _edit_page(
    request: Request,
    login: Login,
    policy: EscalationPolicy,
    state: FormState,
    *,
    saved: str | None = None,
) -> Response:
    return render(
        request,
        "policies/edit.html",
        {
            "nav": "policies",
            "policy": policy_service.to_read(policy),
            "form": state,
            "can_write": login.can(policy_service.WRITE),
            "saved": saved,
        },
        status_code=state.status if state.failed else 200,
    )
