"""Ten wrong passwords for one address within 15 minutes lock its logins (staff and portal
apart) until the oldest of them is 15 minutes old; the right password clears the count."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from login_support import csrf_login_form
from sqlalchemy import func, select

from escalate.auth.models import LoginFailure, Role
from escalate.bootstrap import Container
from escalate.clock import FrozenClock

PASSWORD = "correct horse battery"  # the conftest's make_user password


def _try(client: TestClient, path: str, email: str, password: str) -> int:
    token = csrf_login_form(client, path)
    response = client.post(
        path,
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    return response.status_code


def _failures(container: Container) -> int:
    with container.session_factory() as s:
        return int(s.scalar(select(func.count()).select_from(LoginFailure)) or 0)


def test_ten_wrong_passwords_lock_the_address_for_a_while(
    client: TestClient, container: Container, clock: FrozenClock, make_user
) -> None:
    user = make_user(Role.RESPONDER)
    for _ in range(10):
        clock.advance(timedelta(seconds=30))
        assert _try(client, "/login", user.email, "wrong password") == 401
    # Locked: even the right password is not checked, and the page says until when.
    clock.advance(timedelta(seconds=30))
    until = clock.now() - timedelta(seconds=300) + timedelta(minutes=15)
    locked = client.post(
        "/login",
        data={
            "email": user.email.upper(),
            "password": PASSWORD,
            "csrf_token": csrf_login_form(client, "/login"),
        },
        follow_redirects=False,
    )
    assert locked.status_code == 429
    assert f"Try again after {until:%H:%M} UTC" in locked.text
    # Another address is not affected.
    other = make_user(Role.RESPONDER)
    assert _try(client, "/login", other.email, PASSWORD) == 303
    client.cookies.clear()
    # Once the oldest failure is 15 minutes old, the right password works and clears all.
    clock.advance(timedelta(minutes=15) - timedelta(seconds=300) + timedelta(seconds=1))
    assert _try(client, "/login", user.email, PASSWORD) == 303
    assert _failures(container) == 0


def test_portal_logins_count_apart(
    client: TestClient, container: Container, clock: FrozenClock, make_user
) -> None:
    user = make_user(Role.RESPONDER)
    for _ in range(10):
        assert _try(client, "/portal/login", user.email, "wrong password") == 401
    assert _try(client, "/portal/login", user.email, "wrong password") == 429
    # The staff login of the same address is not locked by the portal's count.
    assert _try(client, "/login", user.email, PASSWORD) == 303
