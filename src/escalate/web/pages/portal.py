"""The customer portal: log in (after an e-mailed invitation), and see the account's own
incidents, their customer-facing updates and SLA clocks. Every read passes the signed-in
customer's account to portal.service, which filters by it; anything else is 404."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from escalate.accounts.models import Account
from escalate.auth import throttle
from escalate.errors import NotAuthenticated, ValidationFailed
from escalate.portal import service as portal_service
from escalate.web.deps import FAILED, ContainerDep, SessionDep
from escalate.web.pages import forms, listing, sessions
from escalate.web.pages.auth import throttle_message
from escalate.web.pages.portal_sessions import (
    PORTAL_COOKIE,
    CustomerDep,
    FormCustomerDep,
    PortalRoute,
    clear_cookie,
    form_token,
    form_token_valid,
    set_cookie,
    set_form_cookie,
)
from escalate.web.pages.rendering import render
from escalate.web.pages.sessions import FormDep

router = APIRouter(route_class=PortalRoute)


def _form_page(
    request: Request,
    container: ContainerDep,
    template: str,
    context: dict[str, object],
    *,
    status_code: int = 200,
) -> Response:
    token, cookie = form_token(container.settings, request)
    response = render(request, template, {"csrf_token": token, **context}, status_code=status_code)
    if cookie is not None:
        set_form_cookie(response, container.settings, cookie)
    return response


@router.get("/portal/login")
def login_form(request: Request, container: ContainerDep) -> Response:
    notice = "You have been logged out." if request.query_params.get("logged_out") else None
    return _form_page(request, container, "portal/login.html", {"email": "", "notice": notice})


@router.post("/portal/login")
def login(
    request: Request, session: SessionDep, container: ContainerDep, form: FormDep
) -> Response:
    email = forms.text(form, "email")
    password = forms.text(form, "password", strip=False)
    if not form_token_valid(container.settings, request, forms.text(form, sessions.CSRF_FIELD)):
        error, status = "This login form has expired. Please try again.", 403
    elif not email or not password:
        error, status = "Enter your email and your password.", 422
    elif (
        locked := throttle.locked_until(
            session, container.clock, scope=throttle.PORTAL, email=email
        )
    ) is not None:
        error, status = throttle_message(locked), 429
    else:
        try:
            user = portal_service.authenticate(session, email=email, password=password)
        except NotAuthenticated:
            throttle.record_failure(session, container.clock, scope=throttle.PORTAL, email=email)
            error, status = "Wrong email or password.", 401
        else:
            throttle.clear(session, scope=throttle.PORTAL, email=email)
            old = request.cookies.get(PORTAL_COOKIE)
            if old:
                portal_service.end_session(session, secret=old)
            _, secret = portal_service.start_session(
                session,
                container.clock,
                user=user,
                lifetime=timedelta(hours=container.settings.session_hours),
            )
            return _signed_in(container, secret)
    return _form_page(
        request,
        container,
        "portal/login.html",
        {"email": email, "error": error},
        status_code=status,
    )


def _signed_in(container: ContainerDep, secret: str) -> Response:
    response = RedirectResponse("/portal", status_code=303)
    set_cookie(response, container.settings, secret)
    return response


@router.get("/portal/forgot")
def forgot_form(request: Request, container: ContainerDep) -> Response:
    sent = bool(request.query_params.get("sent"))
    return _form_page(request, container, "portal/forgot.html", {"email": "", "sent": sent})


@router.post("/portal/forgot")
def forgot(
    request: Request, session: SessionDep, container: ContainerDep, form: FormDep
) -> Response:
    email = forms.text(form, "email")
    error = None
    if not form_token_valid(container.settings, request, forms.text(form, sessions.CSRF_FIELD)):
        error = "This form has expired. Please try again."
    elif "@" not in email:
        error = "Enter the e-mail address you log in with."
    if error is not None:
        setattr(request.state, FAILED, True)
        return _form_page(
            request,
            container,
            "portal/forgot.html",
            {"email": email, "sent": False, "error": error},
            status_code=422,
        )
    portal_service.request_reset(session, container.clock, container.settings, email=email)
    return RedirectResponse("/portal/forgot?sent=1", status_code=303)


@router.post("/portal/logout")
def logout(
    request: Request, session: SessionDep, container: ContainerDep, customer: FormCustomerDep
) -> Response:
    secret = request.cookies.get(PORTAL_COOKIE)
    if secret:
        portal_service.end_session(session, secret=secret)
    response = RedirectResponse("/portal/login?logged_out=1", status_code=303)
    clear_cookie(response, container.settings)
    return response


@router.get("/portal/invite/{token}")
def invite_form(
    token: str, request: Request, session: SessionDep, container: ContainerDep
) -> Response:
    user = portal_service.check_invite(session, container.clock, token=token)
    return _form_page(
        request, container, "portal/invite.html", {"email": user.email, "token": token}
    )


@router.post("/portal/invite/{token}")
def accept_invite(
    token: str, request: Request, session: SessionDep, container: ContainerDep, form: FormDep
) -> Response:
    user = portal_service.check_invite(session, container.clock, token=token)
    password = forms.text(form, "password", strip=False)
    error = None
    if not form_token_valid(container.settings, request, forms.text(form, sessions.CSRF_FIELD)):
        error = "This form has expired. Please try again."
    elif password != forms.text(form, "password_again", strip=False):
        error = "The two passwords differ."
    else:
        try:
            user = portal_service.accept_invite(
                session, container.clock, token=token, password=password
            )
        except ValidationFailed as exc:
            error = exc.detail
    if error is not None:
        setattr(request.state, FAILED, True)
        return _form_page(
            request,
            container,
            "portal/invite.html",
            {"email": user.email, "token": token, "error": error},
            status_code=422,
        )
    # The password was just set through the mailed link: no second login.
    _, secret = portal_service.start_session(
        session,
        container.clock,
        user=user,
        lifetime=timedelta(hours=container.settings.session_hours),
    )
    return _signed_in(container, secret)


@router.get("/portal")
def overview(request: Request, session: SessionDep, customer: CustomerDep) -> Response:
    rows = portal_service.incidents_for(session, account_id=customer.account_id)
    account = session.get(Account, customer.account_id)
    return render(
        request,
        "portal/overview.html",
        {
            "customer": customer,
            "account": account,
            "open": [r for r in rows if portal_service.is_open(r[0])],
            "past": [r for r in rows if not portal_service.is_open(r[0])],
            "labels": portal_service.labels_of(session, [r[0] for r in rows]),
            "clocks": portal_service.clocks_for(
                session, account_id=customer.account_id, incident_ids=[r[0].id for r in rows]
            ),
        },
    )


@router.get("/portal/incidents/{incident_id}")
def incident(
    incident_id: str, request: Request, session: SessionDep, customer: CustomerDep
) -> Response:
    found = listing.path_id(incident_id, noun="incident", field="incident_id")
    row, affected = portal_service.incident_for(
        session, account_id=customer.account_id, incident_id=found
    )
    return render(
        request,
        "portal/incident.html",
        {
            "customer": customer,
            "account": session.get(Account, customer.account_id),
            "incident": row,
            "label": portal_service.labels_of(session, [row])[row.id],
            "affected": affected,
            "updates": portal_service.updates_for(
                session, account_id=customer.account_id, incident_id=found
            ),
            "clocks": portal_service.clocks_for(
                session, account_id=customer.account_id, incident_id=found
            ),
        },
    )
