"""Health, readiness and metrics: what the people who run Escalate point their tools at."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import text

from escalate import migrate
from escalate.web.deps import ActorDep, ContainerDep
from escalate.web.metrics import CONTENT_TYPE

router = APIRouter(tags=["operations"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process is alive. No credential, no database."""
    return {"status": "ok"}


@router.get("/readyz")
def readyz(container: ContainerDep) -> JSONResponse:
    """The database answers and its schema is the one this code expects."""
    try:
        with container.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        state = migrate.schema_state(container.engine)
    except Exception as exc:  # any failure to reach the database means "not ready"
        return JSONResponse(
            {"status": "unavailable", "detail": f"database unreachable: {exc.__class__.__name__}"},
            status_code=503,
        )
    problem = state.problem()
    if problem:
        return JSONResponse(
            {"status": "unavailable", "detail": problem, "revision": state.current},
            status_code=503,
        )
    return JSONResponse({"status": "ready", "revision": state.current})


@router.get("/metrics")
def metrics(request: Request, _actor: ActorDep) -> Response:
    """Prometheus text format. Needs a token: scrape with `authorization` credentials."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE)
