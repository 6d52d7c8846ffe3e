"""Request-scoped dependencies: the container, a database session, the calling actor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from escalate.auth import service as auth_service
from escalate.auth.models import Role
from escalate.auth.permissions import Actor
from escalate.bootstrap import Container
from escalate.db import read_only_session, transaction
from escalate.errors import NotAuthenticated, PermissionDenied
from escalate.ids import MAX_ID
from escalate.pagination import MAX_LIMIT, PageParams

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def get_container(request: Request) -> Container:
    # async: FastAPI would run a plain function in the threadpool, a thread hop for nothing.
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


# Set on request.state by a route that turned an error into an answer: roll back, never
# commit what the handler wrote before it failed.
FAILED = "unit_of_work_failed"


def get_session(request: Request, container: ContainerDep) -> Iterator[Session]:
    """The request's unit of work. A state-changing request commits once, after its handler
    returns and before the answer is sent (so a 2xx means durable); an error rolls all of
    it back. A handler that catches a domain error and answers anyway rolls back itself.
    GET requests get a read-only session."""
    if request.method in SAFE_METHODS:
        session = read_only_session(container.session_factory)
    else:
        session = container.session_factory()
    session.info["clock"] = container.clock
    try:
        yield session
        # A page answers a domain error with an error page, so the error never reaches
        # here; PageRoute marks the request instead (see web/pages/routing.py).
        if request.method not in SAFE_METHODS and not getattr(request.state, FAILED, False):
            session.commit()
        else:
            session.rollback()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": the commit happens before the response is sent, not after.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


# Declared so the OpenAPI document (and the docs' Authorize button) knows the scheme; the
# missing-credential answer stays ours, as problem JSON.
bearer_scheme = HTTPBearer(
    auto_error=False,
    description="An API token from `escalate token create` or POST /api/v1/me/tokens.",
)
BearerDep = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)]


def get_api_actor(
    request: Request, session: SessionDep, container: ContainerDep, credentials: BearerDep
) -> Actor:
    if credentials is None or not credentials.credentials.strip():
        raise NotAuthenticated("missing credential: send 'Authorization: Bearer <token>'")
    token = auth_service.authenticate_token(session, secret=credentials.credentials.strip())
    if auth_service.token_use_is_stale(token, now=container.clock.now()):
        if request.method in SAFE_METHODS:
            # Its own short write, so that read requests keep their read-only session.
            with transaction(container.session_factory, clock=container.clock) as write:
                auth_service.note_token_use(write, container.clock, token_id=token.id)
        else:
            # A writing request already holds the write lock: note it in the same commit.
            auth_service.note_token_use(session, container.clock, token_id=token.id)
    actor = auth_service.actor_for(token.user)
    # Viewers read; that rule needs no per-route guard, so new routes get it for free.
    if request.method not in SAFE_METHODS and actor.role == Role.VIEWER:
        raise PermissionDenied("viewers have read-only access")
    session.info["actor"] = actor
    return actor


ActorDep = Annotated[Actor, Depends(get_api_actor)]


def get_page(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageDep = Annotated[PageParams, Depends(get_page)]
