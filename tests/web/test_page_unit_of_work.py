"""A page that writes and then fails answers an error page and keeps nothing it wrote: the
session dependency never sees the error PageRoute turned into a page."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from escalate.bootstrap import Container
from escalate.errors import ValidationFailed
from escalate.incidents.models import Counter
from escalate.web.deps import SessionDep
from escalate.web.pages.routing import PageRoute


def _app(container: Container) -> FastAPI:
    router = APIRouter(route_class=PageRoute)

    @router.post("/write-then-fail")
    def write_then_fail(session: SessionDep) -> dict[str, str]:
        session.add(Counter(name="written-then-failed", value=1))
        session.flush()
        raise ValidationFailed("the second half of the form is wrong", field="second")

    @router.post("/write")
    def write(session: SessionDep) -> dict[str, str]:
        session.add(Counter(name="written", value=1))
        return {"ok": "yes"}

    app = FastAPI()
    app.state.container = container
    app.include_router(router)
    return app


def test_a_failed_page_keeps_nothing_and_a_good_one_commits(container: Container) -> None:
    client = TestClient(_app(container))
    failed = client.post("/write-then-fail")
    assert failed.status_code == 422
    assert "second half of the form" in failed.text
    assert client.post("/write").status_code == 200
    with container.session_factory() as session:
        names = set(session.scalars(select(Counter.name)))
    assert "written" in names
    assert "written-then-failed" not in names
