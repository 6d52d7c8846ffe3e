"""`create_app(container)`: the one FastAPI app that serves the API, pages, health and metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from escalate import __version__
from escalate.alerts import snapshot as routing_snapshot
from escalate.alerts.cache import IntegrationCache
from escalate.alerts.committer import Committer
from escalate.bootstrap import Container
from escalate.db import WalCheckpointer, read_only_session
from escalate.errors import ValidationFailed
from escalate.jobs import service as job_service
from escalate.notify import outbox
from escalate.web import calendar, health, pages, problems
from escalate.web.api import router as api_router
from escalate.web.api.ingest import IngestDoor, events_v2_router
from escalate.web.metrics import Metrics
from escalate.web.middleware import BodySizeLimit, RequestMetrics

STATIC_DIR = Path(__file__).parent / "static"


def create_app(container: Container, *, background: Any = None) -> FastAPI:
    """Build the app. `background` is started and stopped with it (the in-process worker)."""
    problem = container.settings.serving_problem()
    if problem:
        raise ValidationFailed(problem, field="ESCALATE_SECRET_KEY")

    # The ingest path's writes share transactions (see alerts.committer).
    settings = container.settings
    lanes = 1 if settings.is_sqlite else settings.ingest_lanes
    # Its transactions keep what routing reads between batches (see alerts.snapshot).
    committer = Committer(
        container.session_factory,
        container.clock,
        lanes=lanes,
        session_info={routing_snapshot.SESSION_KEY: routing_snapshot.RoutingSnapshot()},
        on_loop=settings.is_sqlite,
    )

    checkpointer = WalCheckpointer(container.engine) if settings.is_sqlite else None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if checkpointer is not None:
            checkpointer.start()
        if background is not None:
            background.start()
        try:
            yield
        finally:
            committer.close()
            if checkpointer is not None:
                checkpointer.stop()
            if background is not None:
                background.stop()

    app = FastAPI(
        title="Escalate",
        version=__version__,
        summary="Incident response and customer escalation, from the first alert to the "
        "customer who is satisfied again.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
        # Our metrics are Prometheus's (/metrics); FastAPI's OpenTelemetry support would
        # still look for global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.container = container
    app.state.committer = committer
    app.state.integrations = IntegrationCache()
    app.state.metrics = Metrics(lambda: _queue_stats(container))

    problems.install(app)
    # Routes are matched in order, one by one, and matching all of them took half the
    # time of an ingest request: the ingest doors come first, they take the most traffic.
    app.include_router(events_v2_router)  # PagerDuty's path, outside /api/v1
    app.include_router(health.router)
    app.include_router(api_router())
    app.include_router(pages.router())
    app.include_router(calendar.router)  # the secret-URL iCalendar feeds
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    _install_docs(app)

    app.add_middleware(IngestDoor)  # innermost: the ingest paths skip FastAPI's routing
    # Our own limit rather than FastAPI's max_body_size: that one answers a declared
    # oversize body in plain text, and every error here is problem JSON.
    app.add_middleware(BodySizeLimit, max_bytes=container.settings.max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    return app


def _install_docs(app: FastAPI) -> None:
    @app.get("/api/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        # Served from /static: the pages load nothing from a CDN.
        return get_swagger_ui_html(
            openapi_url="/api/v1/openapi.json",
            title="Escalate API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )


def _queue_stats(container: Container) -> dict[str, Any]:
    with read_only_session(container.session_factory) as session:
        now = container.clock.now()
        stats = job_service.queue_stats(session, now=now)
        stats["outbox"] = outbox.depth(session, now=now)
        return stats
