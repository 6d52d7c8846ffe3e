"""Cookie logins for the staff pages, and CSRF protection for every form.

The session cookie holds only a random secret; the login itself is a server-side
`WebSession` row, so logging out or disabling a user ends it at once. Forms after login
carry the `WebSession.csrf_token`; the login form, which has no session yet, uses a
double-submit token: a random value in a short-lived signed cookie and in a hidden field."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from starlette.datastructures import FormData
from starlette.responses import Response

from escalate.auth import service as auth_service
from escalate.auth.models import Role
from escalate.auth.permissions import Actor, Permission
from escalate.errors import NotAuthenticated
from escalate.settings import Settings
from escalate.web.deps import SAFE_METHODS, ContainerDep, SessionDep

SESSION_COOKIE = "escalate_session"
LOGIN_CSRF_COOKIE = "escalate_login_csrf"
CSRF_FIELD = "csrf_token"
LOGIN_CSRF_SECONDS = 2 * 60 * 60
# A login form older than this gets a fresh token rather than one about to expire.
LOGIN_CSRF_RENEW_SECONDS = 10 * 60
DEFAULT_NEXT = "/"


class LoginRequired(Exception):
    """No live login: the route answers with a redirect to the login page."""

    def __init__(self, next_path: str | None, *, clear_cookie: bool = False) -> None:
        super().__init__("login required")
        self.next_path = next_path
        self.clear_cookie = clear_cookie


class CsrfFailed(Exception):
    """A form arrived without the token it was rendered with: refused, nothing changes."""


@dataclass(frozen=True)
class Login:
    """Who is signed in, copied out of the ORM so error pages can still show it after a
    rollback."""

    user_id: int
    name: str
    email: str
    role: Role
    csrf_token: str
    actor: Actor

    def can(self, permission: Permission) -> bool:
        return self.actor.can(permission)

    @property
    def can_write_accounts(self) -> bool:
        return self.can(Permission.ACCOUNTS_WRITE)


def current_login(request: Request, session: SessionDep, container: ContainerDep) -> Login:
    """The signed-in user, or LoginRequired. Sets the actor that the audit log records."""
    existing: Login | None = getattr(request.state, "login", None)
    if existing is not None:
        return existing
    secret = request.cookies.get(SESSION_COOKIE)
    next_path = _here(request) if request.method in SAFE_METHODS else None
    if not secret:
        raise LoginRequired(next_path)
    try:
        web_session = auth_service.resolve_web_session(session, container.clock, secret=secret)
    except NotAuthenticated:
        raise LoginRequired(next_path, clear_cookie=True) from None
    user = web_session.user
    actor = auth_service.actor_for(user)
    session.info["actor"] = actor
    login = Login(
        user_id=user.id,
        name=user.name,
        email=user.email,
        role=actor.role,
        csrf_token=web_session.csrf_token,
        actor=actor,
    )
    request.state.login = login
    return login


LoginDep = Annotated[Login, Depends(current_login)]


async def submitted_form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(submitted_form)]


def form_login(login: LoginDep, form: FormDep) -> Login:
    """The signed-in user of a form post whose CSRF token matches their login's."""
    if not tokens_match(_field(form, CSRF_FIELD), login.csrf_token):
        raise CsrfFailed
    return login


FormLoginDep = Annotated[Login, Depends(form_login)]


def tokens_match(given: str, expected: str) -> bool:
    return bool(given) and hmac.compare_digest(given.encode(), expected.encode())


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


# --- the session cookie ---------------------------------------------------------------


def set_session_cookie(response: Response, settings: Settings, secret: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=settings.session_hours * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=settings.cookie_secure
    )


# --- the login form's double-submit token ---------------------------------------------


def _login_signature(key: str, token: str, issued: int) -> str:
    message = f"escalate.login-csrf:{token}:{issued}".encode()
    return hmac.new(key.encode(), message, hashlib.sha256).hexdigest()


def issue_login_token(settings: Settings, *, now: float | None = None) -> tuple[str, str]:
    """A fresh token and the signed cookie value that carries it."""
    issued = int(time.time() if now is None else now)
    token = secrets.token_urlsafe(24)
    signature = _login_signature(settings.effective_secret_key(), token, issued)
    return token, f"{token}.{issued}.{signature}"


def read_login_token(
    settings: Settings, cookie: str | None, *, now: float | None = None
) -> tuple[str, int] | None:
    """The token in a login-CSRF cookie and its age in seconds, if it is genuine and live."""
    if not cookie:
        return None
    token, _, rest = cookie.partition(".")
    issued_text, _, signature = rest.partition(".")
    if not token or not issued_text.isdigit() or not signature:
        return None
    issued = int(issued_text)
    expected = _login_signature(settings.effective_secret_key(), token, issued)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        return None
    age = int(time.time() if now is None else now) - issued
    if age < 0 or age > LOGIN_CSRF_SECONDS:
        return None
    return token, age


def login_token_for_form(settings: Settings, request: Request) -> tuple[str, str | None]:
    """The token to put in the login form, and a new cookie value when one is needed.

    A live token is reused so that two open login tabs do not invalidate each other."""
    current = read_login_token(settings, request.cookies.get(LOGIN_CSRF_COOKIE))
    if current is not None and current[1] < LOGIN_CSRF_SECONDS - LOGIN_CSRF_RENEW_SECONDS:
        return current[0], None
    token, cookie = issue_login_token(settings)
    return token, cookie


def set_login_csrf_cookie(response: Response, settings: Settings, value: str) -> None:
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        value,
        max_age=LOGIN_CSRF_SECONDS,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def clear_login_csrf_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        LOGIN_CSRF_COOKIE,
        path="/login",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )


def login_form_token_valid(settings: Settings, request: Request, submitted: str) -> bool:
    current = read_login_token(settings, request.cookies.get(LOGIN_CSRF_COOKIE))
    return current is not None and tokens_match(submitted, current[0])


# --- where to go after login ----------------------------------------------------------


def safe_next(value: str | None) -> str:
    """A local path to return to after login; anything else (other hosts, schemes,
    protocol-relative or backslash tricks, control characters) becomes the dashboard."""
    if not value or len(value) > 2000:
        return DEFAULT_NEXT
    if not value.startswith("/") or value.startswith("//") or "\\" in value:
        return DEFAULT_NEXT
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        return DEFAULT_NEXT
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return DEFAULT_NEXT
    if parts.path in ("/login", "/logout"):
        return DEFAULT_NEXT
    return value


def login_url(next_path: str | None) -> str:
    target = safe_next(next_path)
    if target == DEFAULT_NEXT:
        return "/login"
    return "/login?next=" + quote(target, safe="/")


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + ("?" + query if query else "")
