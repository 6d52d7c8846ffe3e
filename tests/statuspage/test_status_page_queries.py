"""Rendering a status page costs the same number of SQL statements whatever the number of
incidents in its 90-day window: incidents' services and impact levels are batch-loaded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event
from statuspage_support import add_incidents, make_group, make_services

from escalate.bootstrap import Container
from escalate.clock import FrozenClock


@contextmanager
def counting(container: Container) -> Iterator[list[str]]:
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(container.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(container.engine, "before_cursor_execute", record)


def _statements(client: TestClient, container: Container, path: str) -> int:
    client.get(path)  # warm: the first request may open connections, read caches
    with counting(container) as statements:
        response = client.get(path)
    assert response.status_code == 200, response.text
    return len(statements)


def test_statement_count_does_not_grow_with_incidents(
    client: TestClient, container: Container, clock: FrozenClock
) -> None:
    checkout, reports = make_services(container, "Checkout", "Reports")
    make_group(container, name="Shop", slug="shop", services=[checkout, reports])
    make_group(container, name="Back office", slug="office", services=[reports])
    add_incidents(container, clock, service_id=checkout, count=5)
    few = {path: _statements(client, container, path) for path in ("/status", "/status/shop")}
    assert "Looking 4" in client.get("/status/shop").text

    add_incidents(container, clock, service_id=checkout, count=45)
    page = client.get("/status/shop").text
    assert page.count("Looking ") >= 20  # the past incidents shown (at most 20) are there
    for path, before in few.items():
        assert _statements(client, container, path) <= before, path
