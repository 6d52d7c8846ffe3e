"""The route class of every page: domain errors become HTML pages in the layout (the
app-wide handlers answer problem JSON, which is right for the API and wrong here), a
missing login becomes a redirect, and every page gets its security headers."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import RedirectResponse, Response

from escalate import errors
from escalate.web.deps import FAILED
from escalate.web.pages import sessions
from escalate.web.pages.rendering import render, sentence
from escalate.web.status import status_for

SECURITY_HEADERS = {
    # Pages load only their own CSS, script and images; nothing may frame them. Style
    # attributes are allowed (style-src-attr): the schedule timeline places each shift's
    # bar with one, and an attribute can neither load nor run anything.
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; "
        "style-src-attr 'unsafe-inline'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

ERROR_TEXT = {
    400: ("Bad request", "The address asked for something this page cannot show."),
    403: ("Not allowed", "Your role does not allow this action."),
    404: ("Not found", "There is nothing at this address."),
    409: ("Conflict", "This clashes with what is already recorded."),
    422: ("Invalid input", "Some of what was sent is not valid."),
}


class PageRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                response = await handler(request)
            except (
                sessions.LoginRequired,
                sessions.CsrfFailed,
                errors.EscalateError,
                RequestValidationError,
            ) as exc:
                # The session dependency exits after this answer is made, and never sees
                # the error: without the mark it would commit what the handler wrote first.
                setattr(request.state, FAILED, True)
                response = _error_response(request, exc)
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return page_handler


def _error_response(request: Request, exc: Exception) -> Response:
    if isinstance(exc, sessions.LoginRequired):
        return redirect_to_login(request, exc)
    if isinstance(exc, sessions.CsrfFailed):
        return error_page(
            request,
            403,
            detail="The form was not accepted because its security token is missing "
            "or out of date. Reload the page and try again.",
            title="Form expired",
        )
    if isinstance(exc, errors.NotAuthenticated):
        return redirect_to_login(request, sessions.LoginRequired(None))
    if isinstance(exc, errors.EscalateError):
        return error_page(request, status_for(exc), detail=exc.detail)
    return error_page(request, 400)


def redirect_to_login(request: Request, exc: sessions.LoginRequired) -> Response:
    response = RedirectResponse(sessions.login_url(exc.next_path), status_code=303)
    if exc.clear_cookie:
        settings = request.app.state.container.settings
        sessions.clear_session_cookie(response, settings)
    return response


# Who reads an error page, by where it happened: the public status page and the customer
# portal keep their own layout and never offer the staff login.
AUDIENCES = (("/status", "status"), ("/portal", "portal"))


def audience_of(path: str) -> str:
    for prefix, audience in AUDIENCES:
        if path == prefix or path.startswith(prefix + "/"):
            return audience
    return "staff"


def error_page(
    request: Request, status: int, *, detail: str | None = None, title: str | None = None
) -> Response:
    default_title, default_detail = ERROR_TEXT.get(status, ("Something went wrong", ""))
    return render(
        request,
        "error.html",
        {
            "status": status,
            "title": title or default_title,
            "detail": sentence(detail) if detail else default_detail,
            "audience": audience_of(request.url.path),
        },
        status_code=status,
    )
