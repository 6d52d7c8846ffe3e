"""Contact methods and notification rules through the API, on SQLite and PostgreSQL: what a
person may manage, every channel's address check, and bad input refused with a 4xx that
names the field, nothing half-written."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from fastapi.testclient import TestClient
from notify_support import HttpReceiver

from escalate.auth import service as auth_service
from escalate.auth.models import Role
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.errors import PermissionDenied
from escalate.notify import contacts
from escalate.notify.dispatcher import Dispatcher
from escalate.notify.models import Channel
from escalate.notify.schemas import ContactMethodCreate


def _token_of(container: Container, user_id: int) -> dict[str, str]:
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        user = auth_service.get(s, user_id=user_id)
        _, secret = auth_service.create_token(s, container.clock, actor=SYSTEM, user=user, name="t")
    return {"Authorization": f"Bearer {secret}"}


def test_a_person_manages_their_own_methods_and_rules(
    client: TestClient, container: Container, make_user
) -> None:
    me = make_user(Role.RESPONDER)
    headers = _token_of(container, me.id)

    email = client.post(
        "/api/v1/me/contact-methods",
        json={"channel": "email", "address": " Ana@Escalate.Example "},
        headers=headers,
    )
    assert email.status_code == 201, email.text
    assert email.json()["address"] == "Ana@escalate.example"
    assert email.json()["secret"] is None and email.json()["position"] == 0
    sms = client.post(
        "/api/v1/me/contact-methods",
        json={"channel": "sms", "address": "+44 7700 900123", "label": "Phone"},
        headers=headers,
    ).json()
    assert sms["address"] == "+447700900123" and sms["position"] == 1

    for method_id, delay in ((email.json()["id"], 0), (sms["id"], 3)):
        rule = client.post(
            "/api/v1/me/notification-rules",
            json={"contact_method_id": method_id, "delay_minutes": delay},
            headers=headers,
        )
        assert rule.status_code == 201, rule.text
    rules = client.get(f"/api/v1/users/{me.id}/notification-rules", headers=headers).json()
    assert [(r["contact_method_id"], r["delay_minutes"]) for r in rules["items"]] == [
        (email.json()["id"], 0),
        (sms["id"], 3),
    ]

    patched = client.patch(
        f"/api/v1/me/contact-methods/{sms['id']}",
        json={"is_active": False, "position": 5},
        headers=headers,
    )
    assert patched.status_code == 200 and patched.json()["is_active"] is False

    deleted = client.delete(f"/api/v1/me/contact-methods/{sms['id']}", headers=headers)
    assert deleted.status_code == 204
    listed = client.get("/api/v1/me/contact-methods", headers=headers).json()
    assert [m["id"] for m in listed["items"]] == [email.json()["id"]]
    rules = client.get("/api/v1/me/notification-rules", headers=headers).json()
    assert rules["total"] == 1  # the SMS rule went with its method


def test_only_admins_manage_someone_elses_methods(
    client: TestClient, container: Container, make_user, admin_headers
) -> None:
    ana, bob = make_user(Role.RESPONDER), make_user(Role.MANAGER)
    body = {"channel": "email", "address": "ana@escalate.example"}
    as_bob = _token_of(container, bob.id)

    refused = client.post(f"/api/v1/users/{ana.id}/contact-methods", json=body, headers=as_bob)
    assert refused.status_code == 403
    assert client.get(f"/api/v1/users/{ana.id}/contact-methods", headers=as_bob).status_code == 403
    made = client.post(f"/api/v1/users/{ana.id}/contact-methods", json=body, headers=admin_headers)
    assert made.status_code == 201
    missing = client.post("/api/v1/users/999999/contact-methods", json=body, headers=admin_headers)
    assert missing.status_code == 404


def test_a_webhook_secret_is_generated_shown_once_and_signs(
    client: TestClient,
    container: Container,
    make_user,
    http_receiver: HttpReceiver,
) -> None:
    me = make_user(Role.RESPONDER)
    headers = _token_of(container, me.id)
    made = client.post(
        "/api/v1/me/contact-methods",
        json={"channel": "webhook", "address": f"{http_receiver.url}/mine"},
        headers=headers,
    ).json()
    secret = made["secret"]
    assert secret.startswith("whsec_") and made["has_secret"] is True
    listed = client.get("/api/v1/me/contact-methods", headers=headers).json()
    assert "secret" not in listed["items"][0]

    sent = client.post(f"/api/v1/me/contact-methods/{made['id']}/test", headers=headers)
    assert sent.status_code == 202
    dispatcher = Dispatcher(container.session_factory, container.clock, container.settings)
    try:
        assert dispatcher.run_once() == 1
    finally:
        dispatcher.close()
    [request] = http_receiver.to("/mine")
    signed = request.headers["x-escalate-timestamp"].encode() + b"." + request.body
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    assert request.headers["x-escalate-signature"] == f"sha256={signature}"
    assert request.json()["event"] == "test"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"channel": "email", "address": "not-an-address"}, "address"),
        ({"channel": "sms", "address": "07700 900123"}, "address"),
        ({"channel": "sms", "address": "+44 7700 900123", "secret": "whatever-secret"}, "secret"),
        ({"channel": "webhook", "address": "ftp://example.com/x"}, "address"),
        ({"channel": "webhook", "address": "https://"}, "address"),
        ({"channel": "slack", "address": "hooks.example/T1"}, "address"),
        ({"channel": "slack", "address": "C0123456", "secret": "not-a-bot-token"}, "secret"),
        (
            {"channel": "slack", "address": "https://x.example/h", "secret": "xoxb-1234567"},
            "address",
        ),
        ({"channel": "pigeon", "address": "roof"}, "channel"),
        ({"channel": "email"}, "address"),
        ({"channel": "email", "address": "a@b.example", "position": -1}, "position"),
        ({"channel": "email", "address": "a@b.example", "extra": 1}, "extra"),
    ],
)
def test_bad_contact_methods_are_refused_naming_the_field(
    client: TestClient, admin_headers, body, field
) -> None:
    response = client.post("/api/v1/me/contact-methods", json=body, headers=admin_headers)
    assert response.status_code == 422, response.text
    problem = response.json()
    named = problem.get("field") or " ".join(e.get("field", "") for e in problem.get("errors", []))
    assert field in named, problem
    assert client.get("/api/v1/me/contact-methods", headers=admin_headers).json()["total"] == 0


def test_bad_rules_are_refused_naming_the_field(
    client: TestClient, container: Container, make_user, admin_headers
) -> None:
    ana = make_user(Role.RESPONDER)
    theirs = client.post(
        f"/api/v1/users/{ana.id}/contact-methods",
        json={"channel": "email", "address": "ana@escalate.example"},
        headers=admin_headers,
    ).json()
    mine = client.post(
        "/api/v1/me/contact-methods",
        json={"channel": "email", "address": "me@escalate.example"},
        headers=admin_headers,
    ).json()
    cases = [
        ({"contact_method_id": mine["id"], "delay_minutes": -1}, 422, "delay_minutes"),
        ({"contact_method_id": theirs["id"], "delay_minutes": 0}, 422, "contact_method_id"),
        ({"contact_method_id": 0}, 422, "contact_method_id"),
        ({"delay_minutes": 5}, 422, "contact_method_id"),
    ]
    for body, code, field in cases:
        response = client.post("/api/v1/me/notification-rules", json=body, headers=admin_headers)
        assert response.status_code == code, (body, response.text)
        assert field in response.text, (body, response.text)
    ok = {"contact_method_id": mine["id"], "delay_minutes": 5}
    assert (
        client.post("/api/v1/me/notification-rules", json=ok, headers=admin_headers).status_code
        == 201
    )
    twice = client.post("/api/v1/me/notification-rules", json=ok, headers=admin_headers)
    assert twice.status_code == 409 and "delay_minutes" in twice.text
    assert client.get("/api/v1/me/notification-rules", headers=admin_headers).json()["total"] == 1
    assert (
        client.delete("/api/v1/me/notification-rules/424242", headers=admin_headers).status_code
        == 404
    )


def test_viewers_read_but_do_not_change_their_methods_in_any_adapter(
    container: Container, make_user
) -> None:
    viewer = make_user(Role.VIEWER)
    actor = auth_service.actor_for(viewer)
    data = ContactMethodCreate(channel=Channel.EMAIL, address="v@escalate.example")
    with transaction(container.session_factory, clock=container.clock) as s:
        assert contacts.list_methods(s, actor=actor, user_id=viewer.id).items == []
        with pytest.raises(PermissionDenied):
            contacts.create_method(s, container.clock, actor=actor, user_id=viewer.id, data=data)
