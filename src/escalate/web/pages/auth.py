"""Log in and log out."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import RedirectResponse, Response

from escalate.auth import service as auth_service
from escalate.auth import throttle
from escalate.errors import NotAuthenticated
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages import forms, sessions
from escalate.web.pages.rendering import render
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.sessions import FormDep, FormLoginDep

router = APIRouter(route_class=PageRoute)


@router.get("/login")
def login_form(
    request: Request,
    session: SessionDep,
    container: ContainerDep,
    next_path: Annotated[str | None, Query(alias="next")] = None,
    logged_out: str | None = None,
) -> Response:
    target = sessions.safe_next(next_path)
    if _already_signed_in(request, session, container):
        return RedirectResponse(target, status_code=303)
    notice = "You have been logged out." if logged_out else None
    return _login_page(request, container, next_path=target, notice=notice)


def throttle_message(until: datetime) -> str:
    return f"Too many wrong passwords for this address. Try again after {until:%H:%M} UTC."


@router.post("/login")
def login(
    request: Request, session: SessionDep, container: ContainerDep, form: FormDep
) -> Response:
    settings = container.settings
    email = forms.text(form, "email")
    password = forms.text(form, "password", strip=False)
    target = sessions.safe_next(forms.text(form, "next"))
    if not sessions.login_form_token_valid(
        settings, request, forms.text(form, sessions.CSRF_FIELD)
    ):
        return _login_page(
            request,
            container,
            next_path=target,
            email=email,
            error="This login form has expired. Please try again.",
            status_code=403,
        )
    if not email or not password:
        return _login_page(
            request,
            container,
            next_path=target,
            email=email,
            error="Enter your email and your password.",
            status_code=422,
        )
    locked = throttle.locked_until(session, container.clock, scope=throttle.STAFF, email=email)
    if locked is not None:
        return _login_page(
            request,
            container,
            next_path=target,
            email=email,
            error=throttle_message(locked),
            status_code=429,
        )
    try:
        user = auth_service.authenticate_password(session, email=email, password=password)
    except NotAuthenticated:
        throttle.record_failure(session, container.clock, scope=throttle.STAFF, email=email)
        return _login_page(
            request,
            container,
            next_path=target,
            email=email,
            error="Wrong email or password.",
            status_code=401,
        )
    throttle.clear(session, scope=throttle.STAFF, email=email)
    actor = auth_service.actor_for(user)
    session.info["actor"] = actor
    # A login replaces whatever session the browser held: no fixation.
    old_secret = request.cookies.get(sessions.SESSION_COOKIE)
    if old_secret:
        auth_service.end_web_session(session, secret=old_secret)
    _, secret = auth_service.start_web_session(
        session,
        container.clock,
        user=user,
        lifetime=timedelta(hours=settings.session_hours),
    )
    response = RedirectResponse(target, status_code=303)
    sessions.set_session_cookie(response, settings, secret)
    sessions.clear_login_csrf_cookie(response, settings)
    return response


@router.post("/logout")
def logout(
    request: Request, session: SessionDep, container: ContainerDep, login: FormLoginDep
) -> Response:
    secret = request.cookies.get(sessions.SESSION_COOKIE)
    if secret:
        auth_service.end_web_session(session, secret=secret)
    response = RedirectResponse("/login?logged_out=1", status_code=303)
    sessions.clear_session_cookie(response, container.settings)
    return response


def _already_signed_in(request: Request, session: SessionDep, container: ContainerDep) -> bool:
    secret = request.cookies.get(sessions.SESSION_COOKIE)
    if not secret:
        return False
    try:
        auth_service.resolve_web_session(session, container.clock, secret=secret)
    except NotAuthenticated:
        return False
    return True


def _login_page(
    request: Request,
    container: ContainerDep,
    *,
    next_path: str,
    email: str = "",
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    settings = container.settings
    token, cookie = sessions.login_token_for_form(settings, request)
    response = render(
        request,
        "login.html",
        {
            "csrf_token": token,
            "next_path": next_path if next_path != sessions.DEFAULT_NEXT else "",
            "email": email,
            "error": error,
            "notice": notice,
        },
        status_code=status_code,
        headers={"WWW-Authenticate": 'FormBased realm="Escalate"'} if status_code == 401 else None,
    )
    if cookie is not None:
        sessions.set_login_csrf_cookie(response, settings, cookie)
    return response
