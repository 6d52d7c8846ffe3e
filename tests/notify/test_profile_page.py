""" "My notifications": a signed-in person adds contact methods and rules, sees a bad address
refused next to its field, gets a webhook secret once, and sends a test that arrives."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient
from notify_support import SmtpInbox

from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.notify.dispatcher import Dispatcher

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
PATH = "/profile/notifications"


def _csrf(text: str) -> str:
    match = CSRF_RE.search(text)
    assert match
    return unescape(match.group(1))


def test_my_notifications_page(
    client: TestClient, container: Container, make_user, inbox: SmtpInbox
) -> None:
    user = make_user(Role.RESPONDER, email="ana@escalate.example")
    login = client.get("/login")
    form = {"email": user.email, "password": PASSWORD, "csrf_token": _csrf(login.text)}
    assert client.post("/login", data=form, follow_redirects=False).status_code == 303

    page = client.get(PATH)
    assert page.status_code == 200
    assert "My notifications" in page.text and "pages go to your login e-mail" in page.text
    csrf = _csrf(page.text)

    bad = client.post(
        f"{PATH}/methods", data={"csrf_token": csrf, "channel": "sms", "address": "0770"}
    )
    assert bad.status_code == 422
    assert 'id="method-address-error"' in bad.text and "E.164" in bad.text

    added = client.post(
        f"{PATH}/methods",
        data={"csrf_token": csrf, "channel": "email", "address": "ana.pager@escalate.example"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    hook = client.post(
        f"{PATH}/methods",
        data={"csrf_token": csrf, "channel": "webhook", "address": "https://in.escalate.example/h"},
    )
    assert hook.status_code == 200 and "data-secret>whsec_" in hook.text
    assert "whsec_" not in client.get(PATH).text  # shown once

    page = client.get(PATH)
    method_id = re.search(r'id="method-(\d+)"', page.text)
    assert method_id
    rule = client.post(
        f"{PATH}/rules",
        data={"csrf_token": csrf, "contact_method_id": method_id.group(1), "delay_minutes": "-5"},
    )
    assert rule.status_code == 422 and 'id="rule-delay_minutes-error"' in rule.text
    rule = client.post(
        f"{PATH}/rules",
        data={"csrf_token": csrf, "contact_method_id": method_id.group(1), "delay_minutes": "3"},
        follow_redirects=False,
    )
    assert rule.status_code == 303
    assert "after 3 min, if still unacknowledged" in client.get(PATH).text

    sent = client.post(
        f"{PATH}/methods/{method_id.group(1)}/test",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    dispatcher = Dispatcher(container.session_factory, container.clock, container.settings)
    try:
        assert dispatcher.run_once() == 1
    finally:
        dispatcher.close()
    assert [m["To"] for m in inbox.messages] == ["ana.pager@escalate.example"]

    removed = client.post(
        f"{PATH}/methods/{method_id.group(1)}/delete",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert removed.status_code == 303
    assert "ana.pager@escalate.example" not in client.get(PATH).text
