"""RFC 9457 problem JSON for every error the API answers, translated in one place."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from escalate import errors
from escalate.web.pages.routing import error_page
from escalate.web.status import status_for, validation_errors

PROBLEM_TYPE = "application/problem+json"


def problem(
    status: int,
    title: str,
    detail: str,
    *,
    field: str | None = None,
    errors_list: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
    }
    if field:
        body["field"] = field
    if errors_list:
        body["errors"] = errors_list
    return JSONResponse(body, status_code=status, media_type=PROBLEM_TYPE, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(errors.EscalateError)
    async def _domain(_request: Request, exc: errors.EscalateError) -> JSONResponse:
        status = status_for(exc)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return problem(status, exc.title, exc.detail, field=exc.field, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in raw):
            detail = next(e for e in raw if e.get("type") == "json_invalid")
            ctx = detail.get("ctx") or {}
            return problem(
                400,
                "Malformed JSON",
                f"the request body is not valid JSON: {ctx.get('error', 'parse error')}",
                field="body",
            )
        items = validation_errors(raw)
        summary = "; ".join(f"{i['field']}: {i['message']}" for i in items)
        return problem(422, "Invalid input", summary, field=items[0]["field"], errors_list=items)

    @app.exception_handler(IntegrityError)
    async def _integrity(_request: Request, exc: IntegrityError) -> JSONResponse:
        # The services check uniqueness first; this is the race two requests can still run,
        # settled by the database's constraint. The transaction is rolled back with it.
        return problem(
            409, "Conflict", "the change conflicts with data written at the same time; retry"
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request):
            return error_page(request, exc.status_code)
        return problem(
            exc.status_code,
            _reason(exc.status_code),
            str(exc.detail),
            field="body" if exc.status_code == 413 else None,
            headers=dict(exc.headers) if exc.headers else None,
        )


def _wants_html(request: Request) -> bool:
    """A person's browser on a page URL gets an HTML error page; programs get problem JSON."""
    if request.url.path.startswith(("/api/", "/metrics", "/healthz", "/readyz")):
        return False
    return "text/html" in request.headers.get("accept", "")


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
