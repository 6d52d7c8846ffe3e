"""What a person sees: log in from a deep link, read TechCorp's account page, record a
health change, and use the pages on a laptop and on a phone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from escalate.accounts import service as account_service
from escalate.accounts.schemas import (
    AccountCreate,
    ContactCreate,
    ContractCreate,
    HealthChangeIn,
    ServiceCreate,
    ServiceUsageIn,
)
from escalate.auth import service as auth_service
from escalate.auth.models import Role
from escalate.auth.permissions import SYSTEM
from escalate.auth.schemas import UserCreate
from escalate.bootstrap import Container
from escalate.db import transaction
from escalate.sla import service as sla_service
from escalate.sla.schemas import CreditTierIn, SlaPolicyCreate, SlaTargetIn

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
SCREENSHOT = Path("/tmp/escalate-account.png")
PHONE_SCREENSHOT = Path("/tmp/escalate-account-phone.png")
LAPTOP: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 390, "height": 844}
# The demo story's "Enterprise" policy: severity, ack, first update, interval, resolution.
ENTERPRISE = [
    ("SEV1", 15, 30, 30, 240),
    ("SEV2", 30, 60, 60, 480),
    ("SEV3", 120, 240, 240, 4320),
    ("SEV4", 480, 1440, 1440, 10080),
]


@dataclass(frozen=True)
class Story:
    account_id: int
    email: str


@pytest.fixture
def techcorp(container: Container) -> Story:
    return seed_techcorp(container)


def seed_techcorp(container: Container) -> Story:
    """TechCorp Solutions as the demo story has it, written through the services."""
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        alex = auth_service.create(
            s,
            container.clock,
            actor=SYSTEM,
            data=UserCreate(
                email="alex.johnson@example.com",
                name="Alex Johnson",
                role=Role.MANAGER,
                title="Customer Success Manager",
                password=PASSWORD,
            ),
        )
        policy = sla_service.create(
            s,
            actor=SYSTEM,
            data=SlaPolicyCreate(
                name="Enterprise",
                uptime_target_percent=Decimal("99.9"),
                credit_cap_percent=Decimal("100"),
                targets=[
                    SlaTargetIn(
                        severity=sev,
                        acknowledgement_minutes=ack,
                        first_update_minutes=first,
                        update_interval_minutes=interval,
                        resolution_minutes=resolution,
                    )
                    for sev, ack, first, interval, resolution in ENTERPRISE
                ],
                credit_tiers=[
                    CreditTierIn(below_uptime_percent=Decimal(b), credit_percent=Decimal(c))
                    for b, c in (("99.9", "10"), ("99.0", "25"), ("95.0", "100"))
                ],
            ),
        )
        account = account_service.create(
            s,
            container.clock,
            actor=SYSTEM,
            data=AccountCreate(
                name="TechCorp Solutions",
                tier="enterprise",
                timezone="America/New_York",
                csm_user_id=alex.id,
            ),
        )
        for contact in (
            ContactCreate(
                name="Sarah Mitchell",
                role="Customer lead for the escalation",
                email="sarah.mitchell@techcorp.example",
                phone="+1 212 555 0142",
                receives_incident_notifications=True,
            ),
            ContactCreate(name="Customer's Representative", role="Customer advocate"),
        ):
            account_service.add_contact(s, actor=SYSTEM, account=account, data=contact)
        service = account_service.create_service(
            s, actor=SYSTEM, data=ServiceCreate(name="Production API")
        )
        account_service.add_service_usage(
            s, actor=SYSTEM, account=account, data=ServiceUsageIn(service_id=service.id)
        )
        account_service.add_contract(
            s,
            actor=SYSTEM,
            account=account,
            data=ContractCreate(
                sla_policy_id=policy.id,
                term_start=date(2025, 1, 1),
                term_end=date(2025, 12, 31),
                renewal_date=date(2026, 1, 1),
                monthly_fee=Decimal("5000"),
                currency="USD",
            ),
        )
        account_service.change_health(
            s,
            container.clock,
            actor=SYSTEM,
            account=account,
            data=HealthChangeIn(
                health="critical",
                reason="6-hour outage of the Production API; considering a contract review",
            ),
        )
        return Story(account_id=account.id, email=alex.email)


@pytest.fixture
def laptop(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport=LAPTOP)
    yield context.new_page()
    context.close()


@pytest.fixture
def phone(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    yield context.new_page()
    context.close()


def log_in_from(page: Page, base: str, path: str, story: Story) -> None:
    """Open a deep link, get sent to the login form, log in, land where we meant to go."""
    page.goto(base + path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(story.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(base + path)


def no_horizontal_overflow(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_deep_link_login_shows_the_account_page(
    laptop: Page, live_server: str, techcorp: Story
) -> None:
    page = laptop
    log_in_from(page, live_server, f"/accounts/{techcorp.account_id}", techcorp)

    expect(page.get_by_role("heading", level=1)).to_have_text("TechCorp Solutions")
    expect(page.get_by_role("cell", name="Sarah Mitchell")).to_be_visible()
    expect(page.get_by_text("5,000.00 USD").first).to_be_visible()
    sev1 = page.get_by_role("row", name=re.compile(r"SEV1"))
    expect(sev1).to_contain_text("15 min")
    expect(sev1).to_contain_text("4 h")
    expect(page.get_by_text("below 99.9% → 10%")).to_be_visible()
    expect(page.get_by_text("Alex Johnson").first).to_be_visible()
    expect(page.get_by_role("link", name="API docs")).to_be_visible()
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_a_manager_records_a_health_change_in_the_browser(
    laptop: Page, live_server: str, techcorp: Story
) -> None:
    page = laptop
    log_in_from(page, live_server, f"/accounts/{techcorp.account_id}", techcorp)
    health = page.locator("#health")
    health.get_by_text("Change health").click()
    health.get_by_label("New health").select_option("neutral")
    health.get_by_label("Reason").fill("Review meeting held; resolution plan agreed")
    health.get_by_role("button", name="Record health").click()

    expect(page.get_by_role("status")).to_have_text("Health updated.")
    expect(page.locator(".account-head .badge")).to_have_text("Neutral")
    expect(health.get_by_text("Review meeting held; resolution plan agreed")).to_be_visible()
    expect(health.get_by_text("by Alex Johnson")).to_be_visible()

    # An empty reason is refused beside the field, and nothing changes.
    health.get_by_text("Change health").click()
    health.get_by_label("New health").select_option("healthy")
    health.get_by_label("Reason").fill(" ")
    health.get_by_role("button", name="Record health").click()
    expect(health.locator(".field-error")).to_have_text("This field is required.")
    expect(page.locator(".account-head .badge")).to_have_text("Neutral")


def test_pages_fit_a_phone_and_the_menu_works(
    phone: Page, live_server: str, techcorp: Story
) -> None:
    page = phone
    log_in_from(page, live_server, f"/accounts/{techcorp.account_id}", techcorp)
    expect(page.get_by_role("heading", level=1)).to_have_text("TechCorp Solutions")
    expect(page.get_by_text("Sarah Mitchell").first).to_be_visible()
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(PHONE_SCREENSHOT), full_page=True)

    # The navigation folds behind a menu button, which opens it.
    menu = page.get_by_role("button", name="Menu")
    accounts_link = page.get_by_role("navigation", name="Main").get_by_role("link", name="Accounts")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(accounts_link).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    accounts_link.click()
    expect(page).to_have_url(f"{live_server}/accounts")
    expect(page.get_by_role("link", name="TechCorp Solutions")).to_be_visible()
    assert no_horizontal_overflow(page)

    page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert no_horizontal_overflow(page)

    page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login\?logged_out=1$"))
    expect(page.get_by_text("You have been logged out.")).to_be_visible()
    assert no_horizontal_overflow(page)
