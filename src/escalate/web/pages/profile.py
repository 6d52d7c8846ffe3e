""" "My notifications": the signed-in person's contact methods and notification rules, with
forms to add and remove them and a button that sends a test notification."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from escalate.notify import contacts
from escalate.notify.models import Channel
from escalate.notify.schemas import ContactMethodCreate, NotificationRuleCreate
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages import forms, listing
from escalate.web.pages.forms import FormState
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.sessions import FormDep, FormLoginDep, Login, LoginDep

router = APIRouter(route_class=PageRoute)

PATH = "/profile/notifications"
NOTICES = {
    "method-added": "Contact method added.",
    "method-removed": "Contact method removed, with its rules.",
    "rule-added": "Notification rule added.",
    "rule-removed": "Notification rule removed.",
    "test-sent": "Test notification queued: it should arrive within a few seconds.",
}
CHANNELS = [
    (Channel.EMAIL.value, "E-mail"),
    (Channel.SMS.value, "SMS"),
    (Channel.SLACK.value, "Slack"),
    (Channel.WEBHOOK.value, "Webhook"),
]


@router.get(PATH)
def my_notifications(request: Request, session: SessionDep, login: LoginDep) -> Response:
    notice = NOTICES.get(request.query_params.get("saved", ""))
    return _page(request, session, login, notice=notice)


@router.post(f"{PATH}/methods")
def add_method(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    login: FormLoginDep,
    form: FormDep,
) -> Response:
    names = ("channel", "address", "label", "secret")
    state = FormState(values={name: forms.text(form, name) for name in names})
    generated: list[str | None] = []

    def create() -> None:
        data = ContactMethodCreate.model_validate(
            {name: state.values[name] or None for name in names}
        )
        _, secret = contacts.create_method(
            session, container.clock, actor=login.actor, user_id=login.user_id, data=data
        )
        generated.append(secret)

    forms.attempt(state, create)
    if state.failed:
        session.rollback()
        return _page(request, session, login, method_form=state)
    if generated[0] is not None:
        # Shown on this answer only: a redirect would have to carry the secret in a URL.
        session.commit()
        return _page(request, session, login, notice=NOTICES["method-added"], secret=generated[0])
    return RedirectResponse(f"{PATH}?saved=method-added", status_code=303)


@router.post(f"{PATH}/methods/{{method_id}}/delete")
def delete_method(method_id: str, session: SessionDep, login: FormLoginDep) -> Response:
    contacts.delete_method(
        session,
        actor=login.actor,
        user_id=login.user_id,
        method_id=listing.path_id(method_id, noun="contact method", field="method_id"),
    )
    return RedirectResponse(f"{PATH}?saved=method-removed", status_code=303)


@router.post(f"{PATH}/methods/{{method_id}}/test")
def test_method(
    method_id: str, session: SessionDep, container: ContainerDep, login: FormLoginDep
) -> Response:
    contacts.send_test(
        session,
        container.clock,
        actor=login.actor,
        user_id=login.user_id,
        method_id=listing.path_id(method_id, noun="contact method", field="method_id"),
    )
    return RedirectResponse(f"{PATH}?saved=test-sent", status_code=303)


@router.post(f"{PATH}/rules")
def add_rule(request: Request, session: SessionDep, login: FormLoginDep, form: FormDep) -> Response:
    names = ("contact_method_id", "delay_minutes")
    state = FormState(values={name: forms.text(form, name) for name in names})

    def create() -> None:
        data = NotificationRuleCreate.model_validate(
            {
                "contact_method_id": state.values["contact_method_id"] or None,
                "delay_minutes": state.values["delay_minutes"] or 0,
            }
        )
        contacts.create_rule(session, actor=login.actor, user_id=login.user_id, data=data)

    forms.attempt(state, create)
    if state.failed:
        session.rollback()
        return _page(request, session, login, rule_form=state)
    return RedirectResponse(f"{PATH}?saved=rule-added", status_code=303)


@router.post(f"{PATH}/rules/{{rule_id}}/delete")
def delete_rule(rule_id: str, session: SessionDep, login: FormLoginDep) -> Response:
    contacts.delete_rule(
        session,
        actor=login.actor,
        user_id=login.user_id,
        rule_id=listing.path_id(rule_id, noun="notification rule", field="rule_id"),
    )
    return RedirectResponse(f"{PATH}?saved=rule-removed", status_code=303)


def _page(
    request: Request,
    session: Session,
    login: Login,
    *,
    notice: str | None = None,
    secret: str | None = None,
    method_form: FormState | None = None,
    rule_form: FormState | None = None,
) -> Response:
    methods = contacts.list_methods(session, actor=login.actor, user_id=login.user_id).items
    rules = contacts.list_rules(session, actor=login.actor, user_id=login.user_id).items
    by_id = {m.id: m for m in methods}
    failed = method_form if method_form and method_form.failed else rule_form
    return render(
        request,
        "profile/notifications.html",
        {
            "nav": "profile",
            "notice": notice,
            "secret": secret,
            "methods": [contacts.to_read(m) for m in methods],
            "rules": [(r, by_id.get(r.contact_method_id)) for r in rules],
            "method_form": method_form or FormState(values={"channel": Channel.EMAIL.value}),
            "rule_form": rule_form or FormState(values={"delay_minutes": "0"}),
            "channels": CHANNELS,
            "method_choices": [(m.id, f"{m.label} ({m.channel})") for m in methods],
        },
        status_code=failed.status if failed and failed.failed else 200,
    )
