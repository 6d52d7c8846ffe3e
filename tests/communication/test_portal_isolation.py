"""The portal shows a customer only their own account. Walks the app's route table, so
portal routes added later are held to it too: a customer of account A gets 404 for every
route that names account B's incident (or anything else of B's), pages without a path
parameter never show B's incidents, updates or contacts, and without a portal login every
portal page sends to the portal's login. Staff and portal cookies never open each other."""

from __future__ import annotations

import re

import pytest
from comms_support import World, build_world, make_customer, portal_login
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from escalate.bootstrap import Container
from escalate.web.pages.portal_sessions import PORTAL_COOKIE
from escalate.web.pages.sessions import SESSION_COOKIE

OPEN_WITHOUT_LOGIN = {"/portal/login", "/portal/invite/{token}", "/portal/forgot"}


def _portal_routes(client: TestClient) -> list[tuple[str, str]]:
    table = []
    for route in iter_route_contexts(client.app.router.routes):  # type: ignore[attr-defined]
        if route.methods is None or not route.path.startswith("/portal"):
            continue
        table.extend((m, route.path) for m in sorted(route.methods) if m != "HEAD")
    return table


def _fill(template: str, other: World) -> str:
    """The path with every parameter naming something of the other account."""
    values = {
        "incident_id": str(other.incident_id),
        "account_id": str(other.accounts["Acme"]),
        "contact_id": str(next(iter(other.contacts.values()))),
        "update_id": "1",
    }
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "not-a-real-token"), template)


@pytest.fixture
def worlds(client: TestClient, container: Container, admin_headers) -> tuple[World, World]:
    mine = build_world(container, title="MINE-TITLE")
    other = build_world(container, title="OTHER-TITLE")
    for world, text in ((mine, "MINE-UPDATE"), (other, "OTHER-UPDATE")):
        for audience in ("customers", "public"):
            response = client.post(
                f"/api/v1/incidents/{world.incident_id}/updates",
                headers=admin_headers,
                json={"kind": "investigating", "audience": audience, "message": text},
            )
            assert response.status_code == 201
    return mine, other


def test_every_portal_route_hides_another_accounts_things(
    client: TestClient, container: Container, worlds: tuple[World, World]
) -> None:
    mine, other = worlds
    email = next(e for e in mine.notified if "@acme" in e)
    make_customer(container, account_id=mine.accounts["Acme"], contact_id=mine.contacts[email])
    portal_login(client, email)
    secrets_of_other = ["OTHER-TITLE", "OTHER-UPDATE", *other.contacts]
    routes = _portal_routes(client)
    assert len(routes) >= 5
    with_params = 0
    for method, template in routes:
        if template == "/portal/logout":
            continue  # ends the session the walk runs in; checked on its own below
        path = _fill(template, other)
        response = client.request(method, path, follow_redirects=False)
        if "{" in template:
            with_params += 1
            assert response.status_code == 404, (method, template, response.status_code)
        for secret in secrets_of_other:
            assert secret not in response.text, (method, template, secret)
    assert with_params >= 2
    own = client.get(f"/portal/incidents/{mine.incident_id}")
    assert own.status_code == 200 and "MINE-UPDATE" in own.text


def test_an_excluded_account_does_not_see_the_incident(
    client: TestClient, container: Container, worlds: tuple[World, World]
) -> None:
    mine, _ = worlds
    email = next(e for e in mine.contacts if "@initech" in e)
    make_customer(container, account_id=mine.accounts["Initech"], contact_id=mine.contacts[email])
    portal_login(client, email)
    assert client.get(f"/portal/incidents/{mine.incident_id}").status_code == 404
    assert "MINE-TITLE" not in client.get("/portal").text


def test_without_a_portal_login_every_portal_page_sends_to_the_portal_login(
    client: TestClient, worlds: tuple[World, World]
) -> None:
    mine, _ = worlds
    for method, template in _portal_routes(client):
        if template in OPEN_WITHOUT_LOGIN:
            continue
        path = _fill(template, mine)
        response = client.request(method, path, follow_redirects=False)
        assert response.status_code in (303, 403), (method, template)
        if response.status_code == 303:
            assert response.headers["location"] == "/portal/login", (method, template)


def test_staff_and_portal_cookies_never_open_each_other(
    client: TestClient, container: Container, make_user, worlds: tuple[World, World]
) -> None:
    mine, _ = worlds
    staff = make_user()
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    client.post(
        "/login",
        data={"email": staff.email, "password": "correct horse battery", "csrf_token": token[1]},
        follow_redirects=False,
    )
    staff_secret = client.cookies.get(SESSION_COOKIE)
    assert staff_secret
    assert client.get("/portal", follow_redirects=False).headers["location"] == "/portal/login"
    client.cookies.set(PORTAL_COOKIE, staff_secret, path="/portal")
    response = client.get(f"/portal/incidents/{mine.incident_id}", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/portal/login"

    client.cookies.clear()
    email = next(e for e in mine.notified if "@acme" in e)
    make_customer(container, account_id=mine.accounts["Acme"], contact_id=mine.contacts[email])
    portal_login(client, email)
    portal_secret = client.cookies.get(PORTAL_COOKIE)
    assert portal_secret
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, portal_secret)
    response = client.get("/incidents", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


def test_logout_ends_the_portal_session(
    client: TestClient, container: Container, worlds: tuple[World, World]
) -> None:
    mine, _ = worlds
    email = next(e for e in mine.notified if "@globex" in e)
    make_customer(container, account_id=mine.accounts["Globex"], contact_id=mine.contacts[email])
    portal_login(client, email)
    page = client.get("/portal")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    assert client.post("/portal/logout", data={}, follow_redirects=False).status_code == 403
    done = client.post("/portal/logout", data={"csrf_token": token[1]}, follow_redirects=False)
    assert done.status_code == 303
    assert client.get("/portal", follow_redirects=False).status_code == 303
