"""The policy pages and the incident page's escalation parts, as a signed-in person sees
them, on both engines: create and edit a policy with the step lines, errors beside the
field, acknowledge and resolve buttons, the paging history."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from escalate.auth.models import Role, User
from escalate.bootstrap import Container
from escalate.incidents.models import Incident
from escalate.jobs.worker import Worker
from escalate.oncall.models import EscalationPolicy
from escalate.web.pages.policies import parse_steps

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(client: TestClient, path: str) -> str:
    match = CSRF_RE.search(client.get(path).text)
    assert match, f"no CSRF field on {path}"
    return unescape(match.group(1))


def _log_in(client: TestClient, user: User) -> None:
    data = {"email": user.email, "password": "correct horse battery"}
    data["csrf_token"] = _csrf(client, "/login")
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303


def test_step_lines_parse_into_the_apis_steps() -> None:
    assert parse_steps("5: Support 24/7, james@example.com, csm\n\n10 min: Nights") == [
        {
            "delay_minutes": 5,
            "users": ["james@example.com"],
            "schedules": ["Support 24/7"],
            "notify_account_csm": True,
        },
        {"delay_minutes": 10, "users": [], "schedules": ["Nights"], "notify_account_csm": False},
    ]


def test_create_and_edit_a_policy_in_the_pages(
    client: TestClient, container: Container, make_user, add_schedule
) -> None:
    admin = make_user(Role.ADMIN, name="Admin")
    make_user(Role.RESPONDER, name="James Wilson", email="james@example.com")
    add_schedule([admin.id], name="Support 24/7")
    _log_in(client, admin)
    token = _csrf(client, "/policies")
    bad = client.post(
        "/policies",
        data={
            "csrf_token": token,
            "name": "Support",
            "repeat_count": "1",
            "description": "",
            "steps": "5: Support 24/7\n0: nobody@example.com",
        },
    )
    assert bad.status_code == 422
    assert "Line 2" in bad.text
    with container.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(EscalationPolicy)) == 0

    created = client.post(
        "/policies",
        data={
            "csrf_token": token,
            "name": "Support",
            "repeat_count": "1",
            "description": "",
            "steps": "5: Support 24/7\n10: james@example.com, CSM",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    edit_path = created.headers["location"].split("?")[0]
    page = client.get(edit_path)
    assert "10: james@example.com, CSM" in page.text
    saved = client.post(
        edit_path,
        data={
            "csrf_token": token,
            "name": "Support",
            "repeat_count": "0",
            "description": "Nights too",
            "steps": "3: james@example.com",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    listing = client.get("/policies").text
    assert "James Wilson" in listing and "then 3 min" in listing


def test_the_incident_page_shows_the_paging_history_and_acknowledges(
    client: TestClient,
    container: Container,
    worker: Worker,
    make_user,
    make_policy,
    admin_headers,
) -> None:
    responder = make_user(Role.RESPONDER, name="Rita Responder")
    make_policy("Rita", steps=[{"delay_minutes": 5, "users": [responder.id]}])
    declared = client.post(
        "/api/v1/incidents",
        headers=admin_headers,
        json={"title": "Search is down", "severity": "SEV2", "escalation_policy": "Rita"},
    ).json()
    worker.drain()
    _log_in(client, responder)
    path = f"/incidents/{declared['id']}"
    page = client.get(path)
    assert "Paged step 1 of policy Rita: Rita Responder (named in the policy)" in page.text
    assert "Acknowledge" in page.text
    token = _csrf(client, path)
    done = client.post(f"{path}/acknowledge", data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert "Acknowledged by Rita Responder" in client.get(path).text
    forged = client.post(f"{path}/resolve", data={"csrf_token": "wrong"})
    assert forged.status_code == 403
    assert client.post(f"{path}/resolve", data={"csrf_token": token}).status_code == 200
    with container.session_factory() as session:
        incident = session.get(Incident, declared["id"])
        assert incident is not None and incident.status == "resolved"


def test_a_viewer_sees_the_incident_without_the_respond_buttons(
    client: TestClient, make_user, admin_headers
) -> None:
    declared = client.post(
        "/api/v1/incidents", headers=admin_headers, json={"title": "Quiet", "severity": "SEV4"}
    ).json()
    _log_in(client, make_user(Role.VIEWER))
    page = client.get(f"/incidents/{declared['id']}")
    assert page.status_code == 200 and "Declared by" in page.text
    assert "/acknowledge" not in page.text and "not escalating" in page.text
