"""Portal logins: a cookie of their own (`escalate_portal`, path /portal) resolved against
the customer_sessions table only, so a staff cookie never opens the portal and a portal
cookie never opens the staff pages. The login and invite forms use the staff pages'
double-submit token, in a cookie of their own."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.responses import RedirectResponse, Response

from escalate.errors import NotAuthenticated
from escalate.portal import service as portal_service
from escalate.settings import Settings
from escalate.web.deps import ContainerDep, SessionDep
from escalate.web.pages import sessions
from escalate.web.pages.routing import PageRoute
from escalate.web.pages.sessions import FormDep

PORTAL_COOKIE = "escalate_portal"
PORTAL_LOGIN_CSRF_COOKIE = "escalate_portal_login_csrf"
PORTAL_PATH = "/portal"


class PortalLoginRequired(Exception):
    """No live portal login: the answer is a redirect to the portal's login form."""

    def __init__(self, *, clear_cookie: bool = False) -> None:
        super().__init__("portal login required")
        self.clear_cookie = clear_cookie


@dataclass(frozen=True)
class Customer:
    """The signed-in portal user, copied out of the ORM."""

    user_id: int
    account_id: int
    email: str
    csrf_token: str


def current_customer(request: Request, session: SessionDep, container: ContainerDep) -> Customer:
    secret = request.cookies.get(PORTAL_COOKIE)
    if not secret:
        raise PortalLoginRequired
    try:
        row = portal_service.resolve_session(session, container.clock, secret=secret)
    except NotAuthenticated:
        raise PortalLoginRequired(clear_cookie=True) from None
    customer = Customer(
        user_id=row.customer.id,
        account_id=row.customer.account_id,
        email=row.customer.email,
        csrf_token=row.csrf_token,
    )
    request.state.customer = customer
    return customer


CustomerDep = Annotated[Customer, Depends(current_customer)]


def form_customer(customer: CustomerDep, form: FormDep) -> Customer:
    value = form.get(sessions.CSRF_FIELD)
    if not sessions.tokens_match(value if isinstance(value, str) else "", customer.csrf_token):
        raise sessions.CsrfFailed
    return customer


FormCustomerDep = Annotated[Customer, Depends(form_customer)]


class PortalRoute(PageRoute):
    """PageRoute, with a missing portal login sent to the portal's login form."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def portal_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except PortalLoginRequired as exc:
                response = RedirectResponse(f"{PORTAL_PATH}/login", status_code=303)
                if exc.clear_cookie:
                    clear_cookie(response, request.app.state.container.settings)
                return response

        return portal_handler


def set_cookie(response: Response, settings: Settings, secret: str) -> None:
    response.set_cookie(
        PORTAL_COOKIE,
        secret,
        max_age=settings.session_hours * 3600,
        path=PORTAL_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def clear_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        PORTAL_COOKIE,
        path=PORTAL_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def form_token(settings: Settings, request: Request) -> tuple[str, str | None]:
    """The token for a login or invite form, and a new cookie value when one is needed."""
    current = sessions.read_login_token(settings, request.cookies.get(PORTAL_LOGIN_CSRF_COOKIE))
    if (
        current is not None
        and current[1] < sessions.LOGIN_CSRF_SECONDS - sessions.LOGIN_CSRF_RENEW_SECONDS
    ):
        return current[0], None
    return sessions.issue_login_token(settings)


def set_form_cookie(response: Response, settings: Settings, value: str) -> None:
    response.set_cookie(
        PORTAL_LOGIN_CSRF_COOKIE,
        value,
        max_age=sessions.LOGIN_CSRF_SECONDS,
        path=PORTAL_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def form_token_valid(settings: Settings, request: Request, submitted: str) -> bool:
    current = sessions.read_login_token(settings, request.cookies.get(PORTAL_LOGIN_CSRF_COOKIE))
    return current is not None and sessions.tokens_match(submitted, current[0])
