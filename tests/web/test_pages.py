"""The staff pages: login, CSRF, redirects, the account page and its forms, logout."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import func, select

from escalate import formatting
from escalate.accounts import service as account_service
from escalate.accounts.models import Account, Contact, HealthChange
from escalate.accounts.schemas import (
    AccountCreate,
    AccountUpdate,
    HealthChangeIn,
    ServiceCreate,
    ServiceUsageIn,
)
from escalate.auth.models import AuditEntry, Role, User, WebSession
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container
from escalate.clock import FrozenClock
from escalate.db import transaction
from escalate.settings import Settings
from escalate.web.pages import rendering, sessions

PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- helpers --------------------------------------------------------------------------


def csrf_of(response: Response) -> str:
    match = CSRF_RE.search(response.text)
    assert match, "no CSRF field on the page"
    return unescape(match.group(1))


def log_in(client: TestClient, user: User, *, next_path: str | None = None) -> Response:
    form = client.get("/login")
    data = {"email": user.email, "password": PASSWORD, "csrf_token": csrf_of(form)}
    if next_path:
        data["next"] = next_path
    return client.post("/login", data=data, follow_redirects=False)


def logged_in(client: TestClient, make_user: Callable[..., User], role: Role) -> User:
    user = make_user(role, name=f"{role.value.title()} Person")
    assert log_in(client, user).status_code == 303
    return user


def health_of(container: Container, account_id: int) -> tuple[str, int]:
    with container.session_factory() as s:
        account = s.get(Account, account_id)
        assert account is not None
        changes = s.scalar(
            select(func.count())
            .select_from(HealthChange)
            .where(HealthChange.account_id == account_id)
        )
        return str(account.health), int(changes or 0)


def contact_count(container: Container, account_id: int) -> int:
    with container.session_factory() as s:
        return int(
            s.scalar(
                select(func.count()).select_from(Contact).where(Contact.account_id == account_id)
            )
            or 0
        )


def text_of(response: Response) -> str:
    """The page's visible text, roughly: tags removed, whitespace collapsed."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", response.text)))


# --- login ----------------------------------------------------------------------------


def test_login_form_is_html_with_a_signed_csrf_cookie(client: TestClient) -> None:
    response = client.get("/login")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert 'label for="login-email"' in response.text
    assert csrf_of(response)
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{sessions.LOGIN_CSRF_COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/login" in cookie
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_login_sets_a_session_cookie_and_returns_to_the_page_asked_for(
    client: TestClient, container: Container, make_user: Callable[..., User], make_account
) -> None:
    account_id = make_account("Acme")
    user = make_user(Role.MANAGER, name="Alex Johnson")
    first = client.get(f"/accounts/{account_id}?tab=x", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == f"/login?next=/accounts/{account_id}%3Ftab%3Dx"

    form = client.get(first.headers["location"])
    assert f'name="next" value="/accounts/{account_id}?tab=x"' in form.text
    response = client.post(
        "/login",
        data={
            "email": user.email.upper(),
            "password": PASSWORD,
            "csrf_token": csrf_of(form),
            "next": f"/accounts/{account_id}?tab=x",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/accounts/{account_id}?tab=x"
    session_cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith("escalate_session=")
    )
    assert "HttpOnly" in session_cookie
    assert "SameSite=lax" in session_cookie
    assert "Path=/" in session_cookie
    assert "Secure" not in session_cookie
    assert f"Max-Age={container.settings.session_hours * 3600}" in session_cookie

    page = client.get(f"/accounts/{account_id}")
    assert page.status_code == 200
    assert "Alex Johnson" in page.text and "Manager" in page.text
    # The login page now sends a signed-in user on.
    again = client.get("/login", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/"


def test_session_cookie_is_secure_when_configured(
    client: TestClient, container: Container, make_user: Callable[..., User]
) -> None:
    container.settings.cookie_secure = True
    https_client = TestClient(client.app, base_url="https://testserver")
    response = log_in(https_client, make_user(Role.VIEWER))
    assert response.status_code == 303
    cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith("escalate_session=") and "Secure" in c for c in cookies)


def test_wrong_password_answers_401_with_the_email_kept(
    client: TestClient, container: Container, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.ADMIN, email="maria@example.com")
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"email": "maria@example.com", "password": "nope", "csrf_token": csrf_of(form)},
        follow_redirects=False,
    )
    assert response.status_code == 401
    assert "Wrong email or password." in response.text
    assert 'value="maria@example.com"' in response.text
    assert "escalate_session" not in response.headers.get("set-cookie", "")
    unknown = client.post(
        "/login",
        data={"email": "nobody@example.com", "password": PASSWORD, "csrf_token": csrf_of(form)},
        follow_redirects=False,
    )
    assert unknown.status_code == 401
    with container.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(WebSession)) == 0
    assert user.id


def test_login_trims_the_email_but_takes_the_password_exactly(
    client: TestClient, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.VIEWER)

    def post(email: str, password: str) -> int:
        form = client.get("/login")
        data = {"email": email, "password": password, "csrf_token": csrf_of(form)}
        return client.post("/login", data=data, follow_redirects=False).status_code

    assert post(f"  {user.email} ", f" {PASSWORD}") == 401
    assert post(f"  {user.email} ", PASSWORD) == 303


def test_empty_login_form_names_what_is_missing(client: TestClient) -> None:
    form = client.get("/login")
    response = client.post("/login", data={"csrf_token": csrf_of(form)}, follow_redirects=False)
    assert response.status_code == 422
    assert "Enter your email and your password." in response.text


@pytest.mark.parametrize(
    "token_source", ["missing", "wrong", "forged_cookie", "expired_cookie"], ids=str
)
def test_login_without_a_valid_csrf_token_is_refused(
    client: TestClient,
    container: Container,
    make_user: Callable[..., User],
    token_source: str,
) -> None:
    user = make_user(Role.ADMIN)
    form = client.get("/login")
    token = csrf_of(form)
    data = {"email": user.email, "password": PASSWORD, "csrf_token": token}
    settings = container.settings
    if token_source == "missing":
        del data["csrf_token"]
    elif token_source == "wrong":
        data["csrf_token"] = token + "x"
    elif token_source == "forged_cookie":
        _replace_login_cookie(client, f"{token}.1.deadbeef")
    else:
        old_token, old_cookie = sessions.issue_login_token(settings, now=1_000_000)
        _replace_login_cookie(client, old_cookie)
        data["csrf_token"] = old_token
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert "expired" in response.text
    assert "escalate_session=" not in " ".join(response.headers.get_list("set-cookie"))
    with container.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(WebSession)) == 0


def _replace_login_cookie(client: TestClient, value: str) -> None:
    client.cookies.clear()
    client.cookies.set(sessions.LOGIN_CSRF_COOKIE, value, domain="testserver.local", path="/login")


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "javascript:alert(1)",
        "/accounts\r\nSet-Cookie: x=1",
        "/logout",
    ],
)
def test_login_returns_only_to_local_paths(
    client: TestClient, make_user: Callable[..., User], target: str
) -> None:
    response = log_in(client, make_user(Role.VIEWER), next_path=target)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


def test_a_new_login_replaces_the_old_session(
    client: TestClient, container: Container, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.VIEWER)
    data = {"email": user.email, "password": PASSWORD, "csrf_token": csrf_of(client.get("/login"))}
    assert client.post("/login", data=data, follow_redirects=False).status_code == 303
    old = client.cookies.get(sessions.SESSION_COOKIE)
    # A second login from the same browser (the form was open in another tab).
    token, cookie = sessions.issue_login_token(container.settings)
    client.cookies.set(sessions.LOGIN_CSRF_COOKIE, cookie, domain="testserver.local", path="/login")
    again = client.post("/login", data={**data, "csrf_token": token}, follow_redirects=False)
    assert again.status_code == 303
    assert client.cookies.get(sessions.SESSION_COOKIE) != old
    with container.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(WebSession)) == 1


# --- protected pages ------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/accounts", "/accounts/1", "/accounts?tier=business"])
def test_pages_redirect_to_login_without_a_session(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/login")
    if path != "/":
        assert location.startswith("/login?next=/accounts")


def test_a_stale_session_cookie_is_cleared_and_redirected(
    client: TestClient, container: Container, clock: FrozenClock, make_user
) -> None:
    log_in(client, make_user(Role.VIEWER))
    clock.advance(timedelta(hours=container.settings.session_hours, seconds=1))
    response = client.get("/accounts", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/accounts"
    assert 'escalate_session=""' in response.headers["set-cookie"]


def test_form_posts_without_a_session_change_nothing(
    client: TestClient, container: Container, make_account
) -> None:
    account_id = make_account("Acme")
    before = health_of(container, account_id)
    response = client.post(
        f"/accounts/{account_id}/health",
        data={"health": "critical", "reason": "x", "csrf_token": "anything"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert health_of(container, account_id) == before


# --- the account page -----------------------------------------------------------------


def _techcorp(container: Container, make_account, make_user) -> int:
    account_id = make_account("TechCorp Solutions")
    csm = make_user(Role.MANAGER, name="Alex Johnson")
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        account = s.get(Account, account_id)
        assert account is not None
        account_service.update(
            s,
            container.clock,
            actor=SYSTEM,
            account=account,
            data=AccountUpdate(csm_user_id=csm.id),
        )
        service = account_service.create_service(
            s, actor=SYSTEM, data=ServiceCreate(name="Production API")
        )
        account_service.add_service_usage(
            s, actor=SYSTEM, account=account, data=ServiceUsageIn(service_id=service.id)
        )
        account_service.change_health(
            s,
            container.clock,
            actor=SYSTEM,
            account=account,
            data=HealthChangeIn(health="critical", reason="6-hour outage on 22 Oct"),
        )
    return account_id


def test_account_page_shows_contacts_contracts_and_sla_targets(
    client: TestClient, container: Container, make_user, make_account
) -> None:
    account_id = _techcorp(container, make_account, make_user)
    logged_in(client, make_user, Role.VIEWER)
    response = client.get(f"/accounts/{account_id}")
    assert response.status_code == 200
    page = text_of(response)
    assert "TechCorp Solutions" in page
    assert "Enterprise" in page and "Critical" in page
    assert "America/New_York" in page and "Alex Johnson" in page
    assert "Sarah Mitchell" in page and "Yes" in page
    assert "Production API" in page and "Production" in page
    assert "5,000.00 USD" in page
    assert "1 Jan 2025 \N{EN DASH} 31 Dec 2025" in page
    # SLA targets of the current contract, in human units.
    for expected in ("SEV1", "15 min", "30 min", "4 h", "8 h", "72 h", "168 h", "24 h"):
        assert expected in page, expected
    assert "99.9%" in page
    assert "below 99.9% → 10%" in page
    assert "below 95% → 100%" in page
    assert "capped at 100%" in page
    # Health history, in the account's time zone with its abbreviation (12:00 UTC = 08:00 EDT).
    assert "6-hour outage on 22 Oct" in page
    assert "22 Oct 2025, 08:00 EDT" in page
    assert "times in America/New_York" in page
    # A viewer reads; the forms are not there.
    assert f'action="/accounts/{account_id}/health"' not in response.text
    assert f'action="/accounts/{account_id}/contacts"' not in response.text


@pytest.mark.parametrize("path", ["/accounts/999999", "/accounts/abc", "/accounts/-1"])
def test_unknown_account_is_an_html_404(
    client: TestClient, make_user: Callable[..., User], path: str
) -> None:
    logged_in(client, make_user, Role.VIEWER)
    response = client.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "not found" in response.text
    assert "Log out" in response.text  # in the layout, with the navigation


# --- the health form ------------------------------------------------------------------


def test_a_manager_changes_health_and_the_audit_log_names_them(
    client: TestClient, container: Container, make_user, make_account
) -> None:
    account_id = make_account("Acme")
    manager = logged_in(client, make_user, Role.MANAGER)
    page = client.get(f"/accounts/{account_id}")
    assert f'action="/accounts/{account_id}/health"' in page.text
    response = client.post(
        f"/accounts/{account_id}/health",
        data={"health": "at_risk", "reason": "Missed two updates", "csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/accounts/{account_id}?saved=health#health"
    assert health_of(container, account_id) == ("at_risk", 2)

    shown = text_of(client.get(response.headers["location"]))
    assert "Health updated." in shown
    assert "Missed two updates" in shown
    assert f"by {manager.name}" in shown
    with container.session_factory() as s:
        entry = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity_type == "accounts", AuditEntry.action == "update")
            .order_by(AuditEntry.id.desc())
        ).first()
        assert entry is not None
        assert entry.actor_user_id == manager.id
        assert entry.actor_label == manager.email


@pytest.mark.parametrize("token", ["missing", "wrong", "another_users"])
def test_health_change_without_the_csrf_token_is_refused(
    client: TestClient,
    container: Container,
    make_user,
    make_account,
    token: str,
) -> None:
    account_id = make_account("Acme")
    other = make_user(Role.MANAGER)
    other_client = TestClient(client.app)
    log_in(other_client, other)
    other_token = csrf_of(other_client.get(f"/accounts/{account_id}"))
    logged_in(client, make_user, Role.MANAGER)
    own_token = csrf_of(client.get(f"/accounts/{account_id}"))
    assert other_token != own_token
    data = {"health": "critical", "reason": "forged"}
    if token == "wrong":
        data["csrf_token"] = own_token[:-2] + "zz"
    elif token == "another_users":
        data["csrf_token"] = other_token
    before = health_of(container, account_id)
    response = client.post(f"/accounts/{account_id}/health", data=data, follow_redirects=False)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "security token" in response.text
    assert health_of(container, account_id) == before


@pytest.mark.parametrize("role", [Role.VIEWER, Role.RESPONDER])
def test_roles_that_may_not_write_see_no_forms_and_are_refused(
    client: TestClient, container: Container, make_user, make_account, role: Role
) -> None:
    account_id = make_account("Acme")
    logged_in(client, make_user, role)
    page = client.get(f"/accounts/{account_id}")
    assert "Record health" not in page.text and "Add a contact" not in page.text
    before = health_of(container, account_id)
    response = client.post(
        f"/accounts/{account_id}/health",
        data={"health": "critical", "reason": "no", "csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "Not allowed" in response.text
    assert health_of(container, account_id) == before
    contact = client.post(
        f"/accounts/{account_id}/contacts",
        data={"name": "Eve", "csrf_token": csrf_of(page)},
        follow_redirects=False,
    )
    assert contact.status_code == 403
    assert contact_count(container, account_id) == 1


@pytest.mark.parametrize(
    ("health", "reason", "field", "message"),
    [
        ("at_risk", "   ", "health-reason", "This field is required."),
        ("on_fire", "a reason", "health-health", "Choose one of the options."),
        ("healthy", "x" * 2001, "health-reason", "at most 2000 characters"),
    ],
)
def test_health_form_errors_rerender_with_the_message_and_write_nothing(
    client: TestClient,
    container: Container,
    make_user,
    make_account,
    health: str,
    reason: str,
    field: str,
    message: str,
) -> None:
    account_id = make_account("Acme")
    logged_in(client, make_user, Role.ADMIN)
    page = client.get(f"/accounts/{account_id}")
    before = health_of(container, account_id)
    response = client.post(
        f"/accounts/{account_id}/health",
        data={"health": health, "reason": reason, "csrf_token": csrf_of(page)},
    )
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.text
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert health_of(container, account_id) == before


# --- the contact form -----------------------------------------------------------------


def test_a_manager_adds_a_contact(
    client: TestClient, container: Container, make_user, make_account
) -> None:
    account_id = make_account("Acme")
    logged_in(client, make_user, Role.MANAGER)
    page = client.get(f"/accounts/{account_id}")
    response = client.post(
        f"/accounts/{account_id}/contacts",
        data={
            "name": "Customer's Representative",
            "role": "Customer advocate",
            "email": "",
            "phone": "+1 212 555 0100",
            "csrf_token": csrf_of(page),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert contact_count(container, account_id) == 2
    shown = text_of(client.get(response.headers["location"]))
    assert "Contact added." in shown
    assert "Customer's Representative" in shown and "Customer advocate" in shown
    assert "+1 212 555 0100" in shown


@pytest.mark.parametrize(
    ("data", "status", "field", "message"),
    [
        ({"name": ""}, 422, "contact-name", "This field is required."),
        ({"name": "Bob", "email": "not-an-email"}, 422, "contact-email", "valid email"),
        (
            {"name": "Bob", "receives_incident_notifications": "on"},
            422,
            "contact-email",
            "needs one",
        ),
        ({"name": "Bob", "email": "DUPLICATE"}, 409, "contact-email", "already has a contact"),
    ],
)
def test_contact_form_errors_rerender_with_the_message_and_write_nothing(
    client: TestClient,
    container: Container,
    make_user,
    make_account,
    data: dict[str, str],
    status: int,
    field: str,
    message: str,
) -> None:
    account_id = make_account("Acme")
    with container.session_factory() as s:
        existing = s.scalars(select(Contact).where(Contact.account_id == account_id)).one()
        existing_email = existing.email
    if data.get("email") == "DUPLICATE":
        data = {**data, "email": existing_email.upper()}
    logged_in(client, make_user, Role.ADMIN)
    page = client.get(f"/accounts/{account_id}")
    response = client.post(
        f"/accounts/{account_id}/contacts", data={**data, "csrf_token": csrf_of(page)}
    )
    assert response.status_code == status
    assert f'id="{field}-error"' in response.text
    assert message in response.text
    assert '<details class="disclosure" open>' in response.text
    # What was typed is still there.
    if data.get("name"):
        assert f'value="{data["name"]}"' in response.text
    assert contact_count(container, account_id) == 1


# --- list and dashboard ---------------------------------------------------------------


def _accounts(container: Container, specs: list[tuple[str, str, str]]) -> None:
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        for name, tier, health in specs:
            account_service.create(
                s,
                container.clock,
                actor=SYSTEM,
                data=AccountCreate(name=name, tier=tier, health=health),
            )


def test_accounts_list_filters_and_pages(
    client: TestClient, container: Container, make_user, make_account
) -> None:
    make_account("TechCorp Solutions")
    _accounts(
        container,
        [
            ("Globex", "business", "healthy"),
            ("Initech", "standard", "at_risk"),
            ("Umbrella", "enterprise", "critical"),
        ],
    )
    logged_in(client, make_user, Role.VIEWER)
    everything = text_of(client.get("/accounts"))
    assert "4 accounts." in everything
    for name in ("Globex", "Initech", "TechCorp Solutions", "Umbrella"):
        assert name in everything
    assert "—" in everything  # an account without a contract has no renewal

    by_tier = text_of(client.get("/accounts?tier=enterprise"))
    assert "TechCorp Solutions" in by_tier and "Umbrella" in by_tier
    assert "Globex" not in by_tier

    by_health = text_of(client.get("/accounts?health=at_risk"))
    assert "Initech" in by_health and "Umbrella" not in by_health

    searched = text_of(client.get("/accounts?q=tech"))
    assert "TechCorp Solutions" in searched and "Initech" in searched
    assert "Globex" not in searched
    assert "No account matches" in text_of(client.get("/accounts?q=zzz"))

    first = client.get("/accounts?limit=2")
    assert "1\N{EN DASH}2 of 4" in text_of(first)
    assert 'href="/accounts?limit=2&amp;offset=2"' in first.text
    second = client.get("/accounts?limit=2&offset=2")
    assert "3\N{EN DASH}4 of 4" in text_of(second)
    assert "TechCorp Solutions" in second.text and "Globex" not in second.text
    assert 'href="/accounts?limit=2"' in second.text

    assert client.get("/accounts?tier=gold").status_code == 400
    assert client.get("/accounts?limit=abc&offset=-5").status_code == 200


def test_dashboard_counts_accounts_by_health(
    client: TestClient, container: Container, make_user
) -> None:
    _accounts(
        container,
        [
            ("Globex", "business", "healthy"),
            ("Initech", "standard", "at_risk"),
            ("Umbrella", "enterprise", "critical"),
            ("Hooli", "enterprise", "critical"),
        ],
    )
    logged_in(client, make_user, Role.RESPONDER)
    response = client.get("/")
    assert response.status_code == 200
    page = text_of(response)
    assert "Customer health across 4 accounts." in page
    assert re.search(r"Critical 2 accounts", page)
    assert re.search(r"At risk 1 account\b", page)
    assert re.search(r"Healthy 1 account\b", page)
    assert "Needs attention" in page
    assert "Umbrella" in page and "Hooli" in page and "Initech" in page
    assert "Globex" not in page
    assert 'aria-current="page"' in response.text


# --- logout ---------------------------------------------------------------------------


def test_logout_ends_the_session(
    client: TestClient, container: Container, make_user: Callable[..., User]
) -> None:
    logged_in(client, make_user, Role.ADMIN)
    page = client.get("/accounts")
    secret = client.cookies.get(sessions.SESSION_COOKIE)
    assert secret

    refused = client.post("/logout", data={}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/accounts", follow_redirects=False).status_code == 200

    response = client.post("/logout", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?logged_out=1"
    assert "You have been logged out." in client.get(response.headers["location"]).text
    with container.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(WebSession)) == 0

    # The old cookie value no longer opens anything.
    client.cookies.set(sessions.SESSION_COOKIE, secret)
    after = client.get("/accounts", follow_redirects=False)
    assert after.status_code == 303
    assert after.headers["location"].startswith("/login")


# --- pure helpers ---------------------------------------------------------------------


def test_filters_write_what_formatting_writes_and_a_dash_for_nothing() -> None:
    # The words themselves are tested in tests/test_formatting.py; the CLI shares them.
    assert rendering.duration(90) == formatting.duration(90) == "1 h 30 min"
    assert rendering.money(Decimal("120000"), "JPY") == formatting.money(120000, "JPY")
    assert rendering.percent(Decimal("99.9000")) == "99.9%"
    for missing in (rendering.duration(None), rendering.money(None, "USD")):
        assert missing == rendering.MISSING == "—"
    assert rendering.percent(None) == "—"
    filters = rendering.templates().env.filters
    assert (filters["money"], filters["duration"], filters["percent"]) == (
        rendering.money,
        rendering.duration,
        rendering.percent,
    )


def test_login_tokens_are_signed_and_expire() -> None:
    settings = Settings(secret_key="k1")
    token, cookie = sessions.issue_login_token(settings, now=1_000_000)
    assert sessions.read_login_token(settings, cookie, now=1_000_060) == (token, 60)
    assert sessions.read_login_token(Settings(secret_key="k2"), cookie, now=1_000_060) is None
    late = 1_000_000 + sessions.LOGIN_CSRF_SECONDS + 1
    assert sessions.read_login_token(settings, cookie, now=late) is None
    forged = cookie.replace(token, "A" * len(token))
    assert sessions.read_login_token(settings, forged, now=1_000_060) is None
    assert sessions.read_login_token(settings, "garbage", now=1_000_060) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/accounts/3?x=1", "/accounts/3?x=1"),
        ("/", "/"),
        (None, "/"),
        ("", "/"),
        ("accounts", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/x", "/"),
        ("/login?next=/x", "/"),
        ("/a\tb", "/"),
    ],
)
def test_safe_next(value: str | None, expected: str) -> None:
    assert sessions.safe_next(value) == expected


def test_unknown_page_is_an_html_404_but_unknown_api_path_is_problem_json(client) -> None:
    page = client.get("/no-such-page", headers={"accept": "text/html"})
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text.lower()
    api = client.get("/api/v1/no-such-thing", headers={"accept": "text/html"})
    assert api.status_code == 404
    assert api.headers["content-type"] == "application/problem+json"


def test_a_manager_invites_a_contact_to_the_portal_from_the_account_page(
    client: TestClient, container: Container, make_user, make_account
) -> None:
    from escalate.accounts.models import Contact
    from escalate.notify.models import Notification

    account_id = make_account("Acme")
    with container.session_factory() as session:
        contact = session.scalars(
            select(Contact).where(Contact.account_id == account_id, Contact.email.is_not(None))
        ).first()
        assert contact is not None
        contact_id, email = contact.id, contact.email
    logged_in(client, make_user, Role.MANAGER)
    page = client.get(f"/accounts/{account_id}")
    action = f"/accounts/{account_id}/contacts/{contact_id}/portal-invite"
    assert f'action="{action}"' in page.text
    response = client.post(action, data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert response.status_code == 303
    # The tests' settings configure no SMTP server: the page says the link is not mailed.
    shown = text_of(client.get(response.headers["location"]))
    assert "Portal invitation created but not sent" in shown
    assert "Portal invitation sent." not in shown
    with container.session_factory() as session:
        mailed = session.scalars(
            select(Notification.address).where(Notification.kind == "portal_invite")
        ).all()
    assert mailed == [email.lower()]
    # A viewer sees no invite button and cannot send one.
    client.cookies.clear()
    logged_in(client, make_user, Role.VIEWER)
    page = client.get(f"/accounts/{account_id}")
    assert f'action="{action}"' not in page.text
