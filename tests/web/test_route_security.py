"""Walks the app's whole route table, so routes added by later issues are covered too:
every route but the public ones rejects a missing credential, and a viewer changes nothing."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from escalate.auth.models import AuditEntry, Role
from escalate.bootstrap import Container

# Public by design: health checks, the login form, the API's own description, static assets.
# Adding to this list is a security decision; make it in review, not to quiet this test.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/docs"),
    # PagerDuty Events API v2: the credential is the routing_key in the body (the integration
    # key), and a missing or unknown one answers 400 in PagerDuty's shape, as PagerDuty does.
    ("POST", "/v2/enqueue"),
    # The generic JSON webhook: the credential is the integration key (in the path or as a
    # bearer token), never a staff token; without one it answers 401 (checked below).
    ("POST", "/api/v1/ingest/generic/{key}"),
    ("POST", "/api/v1/ingest/generic"),
    # One-click links in page notifications: the signed, single-use, expiring token in the
    # path is the credential (only its hash is stored); GET only shows a button. A forged
    # one answers 404 (tests/oncall/test_escalation_links.py).
    ("GET", "/actions/{token}"),
    ("POST", "/actions/{token}"),
    # The public status page and its Atom feed: no credential by design; they show only
    # public updates (tests/communication/test_status_page.py checks nothing else leaks).
    ("GET", "/status"),
    ("GET", "/status/feed.atom"),
    # An incident as a status page shows it, where each feed entry links: public updates
    # only, and 404 for an incident the page does not show
    # (tests/communication/test_status_page_links.py).
    ("GET", "/status/incidents/{incident_id}"),
    ("GET", "/status/{slug}/incidents/{incident_id}"),
    # The customer portal's login and invite forms: the invite link's single-use token is
    # the credential (only its hash is stored); an unknown one answers 404.
    ("GET", "/portal/login"),
    ("POST", "/portal/login"),
    ("GET", "/portal/invite/{token}"),
    ("POST", "/portal/invite/{token}"),
    # "Forgot your password": answers the same whether the address has access or not, and
    # mails a new single-use link only to an active portal user (tests/communication).
    ("GET", "/portal/forgot"),
    ("POST", "/portal/forgot"),
    # The rest of the portal needs a customer's login, not a staff one: without it they
    # redirect to /portal/login (not /login). tests/communication/test_portal_isolation.py
    # walks every /portal route for that and for account isolation.
    ("GET", "/portal"),
    ("GET", "/portal/incidents/{incident_id}"),
    ("POST", "/portal/logout"),
}
PUBLIC_PREFIXES = ("/static/", "/status/")


def _route_table(client: TestClient) -> list[tuple[str, str]]:
    """(method, path template) for every route, including those of included routers."""
    table = []
    for route in iter_route_contexts(client.app.router.routes):  # type: ignore[attr-defined]
        if route.methods is None:  # a mount (static files)
            continue
        table.extend((method, route.path) for method in sorted(route.methods) if method != "HEAD")
    return table


def _is_api(template_path: str) -> bool:
    return template_path.startswith("/api/") or template_path == "/metrics"


def _routes(client: TestClient) -> list[tuple[str, str, bool]]:
    """(method, path with sample ids, is_api) for every route of the app."""
    return [
        (method, re.sub(r"\{[^}]+\}", "1", path), _is_api(path))
        for method, path in _route_table(client)
    ]


def _is_public(method: str, template_path: str) -> bool:
    return (
        (method, template_path) in PUBLIC
        or template_path == "/status"
        or template_path.startswith(PUBLIC_PREFIXES)
    )


def test_route_table_is_not_empty(client: TestClient) -> None:
    paths = {path for _, path, _ in _routes(client)}
    assert {"/api/v1/accounts", "/api/v1/accounts/1", "/metrics", "/accounts"} <= paths


def test_every_private_route_rejects_a_missing_credential(client: TestClient) -> None:
    checked = 0
    for method, template in _route_table(client):
        if _is_public(method, template):
            continue
        path = re.sub(r"\{[^}]+\}", "1", template)
        response = client.request(method, path, json={}, follow_redirects=False)
        checked += 1
        if _is_api(template):
            assert response.status_code == 401, (method, path, response.status_code)
        else:
            # Pages send people to the login form, or refuse a form post outright.
            assert response.status_code in (303, 401, 403), (method, path)
            if response.status_code == 303:
                assert response.headers["location"].startswith("/login"), (method, path)
    assert checked >= 20


def test_public_routes_answer_without_credential(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/login").status_code == 200
    for path in ("/api/v1/ingest/generic", "/api/v1/ingest/generic/not-a-key"):
        refused = client.post(path, json={"title": "x"})
        assert refused.status_code == 401 and refused.json()["field"] == "key", path


@pytest.mark.parametrize("role", [Role.VIEWER])
def test_a_viewer_token_changes_nothing(
    client: TestClient, container: Container, make_token, make_account, role: Role
) -> None:
    make_account("Existing")
    headers = make_token(role)
    with container.session_factory() as session:
        before = session.scalar(select(func.count()).select_from(AuditEntry))
    writes = [
        (method, path)
        for method, path, is_api in _routes(client)
        if is_api and method not in ("GET", "HEAD", "OPTIONS")
    ]
    assert len(writes) >= 10
    for method, path in writes:
        response = client.request(method, path, headers=headers, json={})
        assert response.status_code == 403, (method, path, response.status_code, response.text)
        assert response.json()["title"] == "Forbidden"
    with container.session_factory() as session:
        after = session.scalar(select(func.count()).select_from(AuditEntry))
    assert after == before


def test_a_viewer_can_read(client: TestClient, make_token, make_account) -> None:
    account_id = make_account("Readable")
    headers = make_token(Role.VIEWER)
    assert client.get(f"/api/v1/accounts/{account_id}", headers=headers).status_code == 200
    assert client.get("/metrics", headers=headers).status_code == 200
