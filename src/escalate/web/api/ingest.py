"""The doors monitoring tools send alerts through. They authenticate by integration key,
not by staff token. Their writes go through the committer (alerts.committer), which shares
one transaction among many requests and answers each after the commit: the event is
committed before the 2xx goes back. A refused event is answered 4xx and noted in the
inbound-errors log (in a unit of work of its own, after the refused one is rolled back).

The handlers are async: what they do before the write (read the body, find the integration
in memory, validate, map) is CPU work with nothing to wait for, and the write waits on the
committer without holding a thread.

`IngestDoor` answers these paths before FastAPI's routing: routing, dependency injection
and the framework's own middleware took about half the CPU time of an ingest request. The
FastAPI routes stay, delegating to the same handlers, for the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import iter_route_contexts
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from escalate.alerts import generic, mapping
from escalate.alerts import service as alert_service
from escalate.alerts.cache import IntegrationCache, KnownIntegration
from escalate.alerts.committer import Committer
from escalate.alerts.models import Integration, IntegrationKind
from escalate.alerts.schemas import AlertmanagerWebhook, EventV2
from escalate.auth import service as auth_service
from escalate.bootstrap import Container
from escalate.db import read_only_session
from escalate.errors import NotAuthenticated
from escalate.web.deps import BearerDep
from escalate.web.problems import problem
from escalate.web.responses import FastJSONResponse
from escalate.web.status import validation_errors

INGEST_MAX_BYTES = 512 * 1024
UNKNOWN_KEY = "unknown or disabled integration key"
ALERTMANAGER = "/api/v1/ingest/alertmanager"
GENERIC = "/api/v1/ingest/generic"
ENQUEUE = "/v2/enqueue"

router = APIRouter(prefix="/ingest", tags=["ingest"])
# PagerDuty's Events API v2 path, outside /api/v1 so that clients change only the base URL.
events_v2_router = APIRouter(tags=["ingest"])


@dataclass(frozen=True)
class RawBody:
    data: bytes
    too_large: bool


async def read_body(request: Request) -> RawBody:
    """The body, read up to the ingest limit (the app-wide limit is looser)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > INGEST_MAX_BYTES:
        return RawBody(b"", too_large=True)
    chunks: list[bytes] = []
    seen = 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > INGEST_MAX_BYTES:
            return RawBody(b"".join(chunks)[:2048], too_large=True)
        chunks.append(chunk)
    return RawBody(b"".join(chunks), too_large=False)


class Refusal(Exception):
    """An inbound event refused: how to answer, and what to note in the log."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str,
        *,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        integration_id: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail, self.field = status, title, detail, field
        self.errors = errors or []
        self.integration_id = integration_id


def _too_large() -> Refusal:
    detail = f"the request body exceeds {INGEST_MAX_BYTES} bytes"
    return Refusal(413, "Payload too large", detail, field="body")


def _invalid(exc: ValidationError) -> Refusal:
    raw: list[dict[str, Any]] = [dict(e) for e in exc.errors()]
    broken = next((e for e in raw if e.get("type") == "json_invalid"), None)
    if broken is not None:
        reason = (broken.get("ctx") or {}).get("error", "parse error")
        detail = f"the request body is not valid JSON: {reason}"
        return Refusal(400, "Malformed JSON", detail, field="body")
    items = validation_errors(raw)
    summary = "; ".join(f"{i['field']}: {i['message']}" for i in items)
    return Refusal(422, "Invalid input", summary, field=items[0]["field"], errors=items)


def _container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def _credentials(request: Request, key_in_path: str | None) -> tuple[str, str | None]:
    """(the integration key, a bearer token that may be a staff token pasted by mistake):
    the key from the path when the route has one, else the bearer token."""
    bearer = _bearer_token(request)
    if key_in_path is not None:
        return key_in_path.strip(), bearer
    return bearer or "", bearer


def _bearer_token(request: Request) -> str | None:
    """The credentials of `Authorization: Bearer <token>`, read as FastAPI's HTTPBearer
    reads them (None for another scheme or an empty one)."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        return None
    return credentials.strip()


def _committer(request: Request) -> Committer:
    committer: Committer = request.app.state.committer
    return committer


def _integrations(request: Request) -> IntegrationCache:
    cache: IntegrationCache = request.app.state.integrations
    return cache


Ingest = Callable[[Session, Integration], list[alert_service.Outcome]]


async def _store(
    request: Request, known: KnownIntegration, ingest: Ingest, *, stale: Refusal, dedup_key: str
) -> list[alert_service.Outcome]:
    """Run `ingest` in the committer's next batch, with the integration row as it is in
    that transaction; raise `stale` instead if the key no longer opens it. Requests go in
    their batch by integration and dedup key, one writer per integration (see
    alerts.committer)."""

    def work(session: Session) -> list[alert_service.Outcome]:
        integration = _integrations(request).verify(session, known)
        if integration is None:
            raise stale
        return ingest(session, integration)

    order = f"{known.id:012d}/{dedup_key}"
    return await _committer(request).run(work, order=order, writer=f"integration:{known.id}")


async def _record(
    container: Container,
    request: Request,
    refusal: Refusal,
    *,
    endpoint: str,
    body: bytes,
    key: str | None = None,
) -> None:
    def work(session: Session) -> None:
        integration_id = refusal.integration_id
        if integration_id is None and key:
            integration_id = alert_service.integration_id_for_key(session, key=key)
        alert_service.record_inbound_error(
            session,
            container.clock,
            endpoint=endpoint,
            status_code=refusal.status,
            reason=f"{refusal.title}: {refusal.detail}",
            body=body,
            integration_id=integration_id,
            remote_addr=request.client.host if request.client else None,
            hide=(key,) if key else (),
        )

    await _committer(request).run(work)


# --- Prometheus Alertmanager -----------------------------------------------------------


def _body_doc(description: str) -> dict[str, Any]:
    """The body's place in the OpenAPI document (the route reads it raw, to log refusals)."""
    schema = {"type": "object", "description": description}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


_WEBHOOK_BODY = _body_doc(
    "Alertmanager's webhook_configs JSON, version 4: a group of alerts with status, labels, "
    "annotations, startsAt, endsAt, fingerprint and generatorURL."
)


@router.post("/alertmanager/{key}", status_code=202, openapi_extra=_WEBHOOK_BODY)
async def alertmanager_by_path(key: str, request: Request, _bearer: BearerDep) -> Response:
    """Prometheus Alertmanager webhook (version 4), the integration key in the path."""
    return await answer_alertmanager(request, key_in_path=key)


@router.post("/alertmanager", status_code=202, openapi_extra=_WEBHOOK_BODY)
async def alertmanager_by_bearer(request: Request, _bearer: BearerDep) -> Response:
    """Prometheus Alertmanager webhook (version 4), the integration key sent as
    `Authorization: Bearer <key>` (Alertmanager's `http_config.authorization`)."""
    return await answer_alertmanager(request, key_in_path=None)


async def answer_alertmanager(request: Request, *, key_in_path: str | None) -> Response:
    container = _container(request)
    key, staff_token = _credentials(request, key_in_path)
    body = await read_body(request)
    try:
        known, webhook = await _admit(
            container,
            request,
            body,
            key=key,
            staff_token=staff_token,
            kind=IntegrationKind.ALERTMANAGER,
            parse=_parse_webhook,
        )
        events = mapping.from_alertmanager(webhook)

        def ingest(session: Session, integration: Integration) -> list[alert_service.Outcome]:
            return alert_service.ingest_events(
                session, container.clock, integration=integration, events=events
            )

        stale = Refusal(401, "Not authenticated", UNKNOWN_KEY, field="key")
        first = events[0].dedup_key if events else ""
        outcomes = await _store(request, known, ingest, stale=stale, dedup_key=first)
    except Refusal as refusal:
        return await _refused(
            container, request, refusal, endpoint=ALERTMANAGER, body=body, key=key
        )
    return _accepted(outcomes)


Parsed = TypeVar("Parsed")


async def _admit(
    container: Container,
    request: Request,
    body: RawBody,
    *,
    key: str,
    staff_token: str | None,
    kind: IntegrationKind,
    parse: Callable[[bytes, KnownIntegration], Parsed],
) -> tuple[KnownIntegration, Parsed]:
    """The integration the key opens and the body parsed, or a Refusal. A refusal decided
    with what this process remembers of the key is answered by the key as it is now."""
    if body.too_large:
        raise _too_large()
    known = await _authenticate(container, request, key=key, staff_token=staff_token)
    try:
        _require_kind(known, kind)
        return known, parse(body.data, known)
    except Refusal:
        await _authenticate(container, request, key=key, staff_token=staff_token, fresh=True)
        raise


def _parse_webhook(data: bytes, known: KnownIntegration) -> AlertmanagerWebhook:
    try:
        return AlertmanagerWebhook.model_validate_json(data)
    except ValidationError as exc:
        refusal = _invalid(exc)
        refusal.integration_id = known.id
        raise refusal from None


def _parse_generic(data: bytes, known: KnownIntegration) -> Any:
    try:
        return generic.parse_body(data)
    except generic.MalformedBody as exc:
        raise Refusal(
            400, "Malformed JSON", exc.detail, field="body", integration_id=known.id
        ) from None


async def _refused(
    container: Container,
    request: Request,
    refusal: Refusal,
    *,
    endpoint: str,
    body: RawBody,
    key: str,
) -> JSONResponse:
    """Log a refusal and answer it as problem JSON."""
    await _record(container, request, refusal, endpoint=endpoint, body=body.data, key=key)
    headers = {"WWW-Authenticate": "Bearer"} if refusal.status == 401 else None
    return problem(
        refusal.status,
        refusal.title,
        refusal.detail,
        field=refusal.field,
        errors_list=refusal.errors or None,
        headers=headers,
    )


def _accepted(outcomes: list[alert_service.Outcome]) -> JSONResponse:
    """202 with what each event did."""
    return FastJSONResponse(
        {
            "status": "success",
            "message": "Event processed",
            "alerts": [
                {
                    "dedup_key": o.dedup_key,
                    "alert_id": o.alert_id,
                    "action": o.action.value,
                    "applied": o.applied,
                }
                for o in outcomes
            ],
        },
        status_code=202,
    )


async def _authenticate(
    container: Container,
    request: Request,
    *,
    key: str,
    staff_token: str | None,
    fresh: bool = False,
) -> KnownIntegration:
    if not key:
        raise Refusal(
            401,
            "Not authenticated",
            "missing integration key: put it in the path or send 'Authorization: Bearer <key>'",
            field="key",
        )
    known = await _find(container, request, key, fresh=fresh)
    if known is not None:
        return known
    if staff_token:
        is_staff: bool = await run_in_threadpool(_is_staff_token, container, staff_token)
        if is_staff:  # someone pasted their own API token: say so, not "unknown key"
            raise Refusal(
                403,
                "Forbidden",
                "a staff API token cannot send alerts; use the integration's key",
                field="key",
            )
    raise Refusal(401, "Not authenticated", UNKNOWN_KEY, field="key")


async def _find(
    container: Container, request: Request, key: str, *, fresh: bool = False
) -> KnownIntegration | None:
    """The active integration this key opens: from memory, or from the database when this
    process has not seen the key yet, or when `fresh` (to refuse an event, an answer
    goes by the key as it is now, not as this process remembers it)."""
    cache = _integrations(request)
    known = None if fresh else cache.get(key)
    if known is None:
        known = await run_in_threadpool(_load, container, cache, key)
    return known


def _load(container: Container, cache: IntegrationCache, key: str) -> KnownIntegration | None:
    with read_only_session(container.session_factory) as session:
        return cache.load(session, key=key)


def _is_staff_token(container: Container, secret: str) -> bool:
    with read_only_session(container.session_factory) as session:
        try:
            auth_service.authenticate_token(session, secret=secret)
        except NotAuthenticated:
            return False
        return True


def _require_kind(integration: KnownIntegration, kind: IntegrationKind) -> None:
    if integration.kind != kind:
        raise Refusal(
            403,
            "Forbidden",
            f"integration {integration.name!r} receives {integration.kind} events, not {kind}",
            field="key",
            integration_id=integration.id,
        )


# --- generic JSON ----------------------------------------------------------------------

_GENERIC_BODY = _body_doc(
    "Any JSON object, or a list of them for several events. The integration's mapping says "
    "where the title, severity, dedup key, status and labels are; by default it reads "
    '{"title", "severity", "status", "dedup_key", "labels", "source", "details"}.'
)


@router.post("/generic/{key}", status_code=202, openapi_extra=_GENERIC_BODY)
async def generic_by_path(key: str, request: Request, _bearer: BearerDep) -> Response:
    """Generic JSON webhook, the integration key in the path."""
    return await answer_generic(request, key_in_path=key)


@router.post("/generic", status_code=202, openapi_extra=_GENERIC_BODY)
async def generic_by_bearer(request: Request, _bearer: BearerDep) -> Response:
    """Generic JSON webhook, the integration key sent as `Authorization: Bearer <key>`."""
    return await answer_generic(request, key_in_path=None)


async def answer_generic(request: Request, *, key_in_path: str | None) -> Response:
    container = _container(request)
    key, staff_token = _credentials(request, key_in_path)
    body = await read_body(request)
    try:
        known, document = await _admit(
            container,
            request,
            body,
            key=key,
            staff_token=staff_token,
            kind=IntegrationKind.GENERIC,
            parse=_parse_generic,
        )

        def ingest(session: Session, integration: Integration) -> list[alert_service.Outcome]:
            # The mapping is the integration's, read in the transaction that stores.
            try:
                return alert_service.ingest_generic(
                    session, container.clock, integration=integration, document=document
                )
            except generic.UnmappableBody as exc:
                errors = [
                    {"field": p.field, "message": p.message, "type": "mapping"}
                    for p in exc.problems
                ]
                raise Refusal(
                    422,
                    "Invalid input",
                    exc.detail,
                    field=exc.field,
                    errors=errors,
                    integration_id=integration.id,
                ) from None

        stale = Refusal(401, "Not authenticated", UNKNOWN_KEY, field="key")
        outcomes = await _store(request, known, ingest, stale=stale, dedup_key="")
    except Refusal as refusal:
        return await _refused(container, request, refusal, endpoint=GENERIC, body=body, key=key)
    return _accepted(outcomes)


# --- PagerDuty Events API v2 -----------------------------------------------------------

_EVENT_BODY = _body_doc(
    "A PagerDuty Events API v2 alert event: routing_key, event_action (trigger, acknowledge, "
    "resolve), dedup_key, payload (summary, source, severity, ...), links, images."
)


@events_v2_router.post("/v2/enqueue", status_code=202, openapi_extra=_EVENT_BODY)
async def enqueue(request: Request) -> Response:
    """PagerDuty Events API v2 compatible: the routing key is the integration key, and the
    answers are PagerDuty's, so existing clients only change their base URL."""
    return await answer_enqueue(request)


async def answer_enqueue(request: Request) -> Response:
    container = _container(request)
    body = await read_body(request)
    routing_key: str | None = None
    try:
        if body.too_large:
            raise _too_large()
        try:
            event = EventV2.model_validate_json(body.data)
        except ValidationError as exc:
            routing_key = _peek_routing_key(body.data)
            raise _invalid(exc) from None
        routing_key = event.routing_key
        invalid_key = Refusal(400, "Invalid routing key", "Invalid routing key")
        known = await _find(container, request, routing_key)
        if known is not None and known.kind != IntegrationKind.EVENTS_V2:
            known = await _find(container, request, routing_key, fresh=True)
        if known is None:
            raise invalid_key
        if known.kind != IntegrationKind.EVENTS_V2:
            raise Refusal(
                400,
                "Invalid routing key",
                f"Routing key belongs to an integration of kind {known.kind}",
                integration_id=known.id,
            )
        events = [mapping.from_event_v2(event)]

        def ingest(session: Session, integration: Integration) -> list[alert_service.Outcome]:
            return alert_service.ingest_events(
                session, container.clock, integration=integration, events=events
            )

        dedup_key = events[0].dedup_key
        [outcome] = await _store(request, known, ingest, stale=invalid_key, dedup_key=dedup_key)
    except Refusal as refusal:
        await _record(
            container, request, refusal, endpoint=ENQUEUE, body=body.data, key=routing_key
        )
        return _pagerduty_error(refusal)
    return FastJSONResponse(
        {"status": "success", "message": "Event processed", "dedup_key": outcome.dedup_key},
        status_code=202,
    )


def _peek_routing_key(data: bytes) -> str | None:
    """The routing key of an invalid event, if it has one: to file the error under its
    integration and to blank it in the logged excerpt."""
    try:
        parsed = json.loads(data)
    except ValueError:
        return None
    key = parsed.get("routing_key") if isinstance(parsed, dict) else None
    return key if isinstance(key, str) and key else None


def _pagerduty_error(refusal: Refusal) -> JSONResponse:
    """PagerDuty's answer to a refused event: 400 (413 when too large) with a list of
    messages."""
    messages = [f"{e['field']}: {e['message']}" for e in refusal.errors] or [refusal.detail]
    status = 413 if refusal.status == 413 else 400
    return JSONResponse(
        {"status": "invalid event", "message": "Event object is invalid", "errors": messages},
        status_code=status,
    )


# --- the door ---------------------------------------------------------------------------

Answer = Callable[[Request], Awaitable[Response]]


def _by_path(answer: Callable[..., Awaitable[Response]], key: str | None) -> Answer:
    return lambda request: answer(request, key_in_path=key)


class IngestDoor:
    """ASGI middleware that answers POSTs to the ingest paths itself, with the handlers
    above, and passes everything else on. It sits inside the app's metrics and body-limit
    middleware and sets the matched route, so the metrics label these requests as
    FastAPI would."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: dict[str, Any] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._match(scope) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        template, answer = found
        scope["route"] = self._route(scope, template)
        response = await answer(Request(scope, receive))
        await response(scope, receive, send)

    @staticmethod
    def _match(scope: Scope) -> tuple[str, Answer] | None:
        if scope["method"] != "POST":
            return None
        path: str = scope["path"]
        if path == ENQUEUE:
            return ENQUEUE, answer_enqueue
        for prefix, answer in ((ALERTMANAGER, answer_alertmanager), (GENERIC, answer_generic)):
            if path == prefix:
                return prefix, _by_path(answer, None)
            key = path.removeprefix(prefix + "/")
            if key != path and key and "/" not in key:
                return prefix + "/{key}", _by_path(answer, key)
        return None

    def _route(self, scope: Scope, template: str) -> Any:
        """The FastAPI route with this path template (found once, from the app's routes)."""
        if self._routes is None:
            self._routes = {
                context.path: context.original_route
                for context in iter_route_contexts(scope["app"].router.routes)
                if context.path
            }
        return self._routes.get(template)
