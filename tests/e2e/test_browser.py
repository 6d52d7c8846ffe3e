"""What a person sees: log in from a deep link, read TechCorp's account page, record a
health change, use the pages on a laptop and on a phone, watch an alert arrive on the
open alerts page, see who is on call and acknowledge a page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect
from sqlalchemy import select

from escalate.accounts import service as account_service
from escalate.accounts.models import Contact
from escalate.alerts import service as alert_service
from escalate.alerts.models import IntegrationKind
from escalate.alerts.schemas import IntegrationCreate
from escalate.auth import service as auth_service
from escalate.auth.permissions import SYSTEM
from escalate.bootstrap import Container, build_worker
from escalate.clock import FrozenClock
from escalate.db import transaction
from escalate.demo import data as demo_data
from escalate.demo import loader
from escalate.incidents import lifecycle
from escalate.incidents.models import Incident, IncidentSeverity
from escalate.incidents.schemas import IncidentDeclare

pytestmark = pytest.mark.browser

PASSWORD = demo_data.DEMO_PASSWORD
AFTER_THE_REVIEW = datetime(2025, 10, 27, 14, 0, tzinfo=UTC)
SCREENSHOT = Path("/tmp/escalate-account.png")
PHONE_SCREENSHOT = Path("/tmp/escalate-account-phone.png")
LAPTOP: ViewportSize = {"width": 1366, "height": 768}
PHONE: ViewportSize = {"width": 390, "height": 844}


# The demo story's "Enterprise" policy: severity, ack, first update, interval, resolution.
@dataclass(frozen=True)
class Story:
    account_id: int
    email: str


@pytest.fixture
def techcorp(container: Container, clock: FrozenClock) -> Story:
    clock.set(AFTER_THE_REVIEW)  # the story's history lies behind "now"
    return seed_techcorp(container)


def seed_techcorp(container: Container) -> Story:
    """The demo story, loaded as `escalate demo load` loads it: the product's own fixture."""
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        loader.load(s, container.clock)
        account = account_service.require_by_name(s, actor=SYSTEM, name=demo_data.TECHCORP.name)
        return Story(account_id=account.id, email=demo_data.ALEX.email)


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
    health.get_by_label("New health").select_option("at_risk")
    health.get_by_label("Reason").fill("Feedback on the resolution plan is overdue")
    health.get_by_role("button", name="Record health").click()

    expect(page.get_by_role("status")).to_have_text("Health updated.")
    expect(page.locator(".account-head .badge")).to_have_text("At risk")
    newest = health.locator(".timeline li").first
    expect(newest).to_contain_text("Feedback on the resolution plan is overdue")
    expect(newest).to_contain_text("by Alex Johnson")

    # An empty reason is refused beside the field, and nothing changes.
    health.get_by_text("Change health").click()
    health.get_by_label("New health").select_option("healthy")
    health.get_by_label("Reason").fill(" ")
    health.get_by_role("button", name="Record health").click()
    expect(health.locator(".field-error")).to_have_text("This field is required.")
    expect(page.locator(".account-head .badge")).to_have_text("At risk")


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


def test_an_alert_appears_on_the_open_alerts_page_without_a_reload(
    laptop: Page, live_server: str, techcorp: Story, container: Container
) -> None:
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        integration, key = alert_service.create_integration(
            s,
            container.clock,
            actor=SYSTEM,
            data=IntegrationCreate(name="Checkout monitoring", kind=IntegrationKind.EVENTS_V2),
        )
        integration_id = integration.id
    page = laptop
    # The demo story has alerts of its own: watch this integration's. A one-second refresh
    # keeps the test short; people get the default.
    log_in_from(page, live_server, f"/alerts?integration={integration_id}&refresh=1", techcorp)
    expect(page.get_by_text("No alert matches these filters.")).to_be_visible()
    page.evaluate("window.stillTheSamePage = true")

    def send(dedup_key: str, summary: str) -> None:
        event = {
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {"summary": summary, "source": "checkout-1", "severity": "critical"},
        }
        assert httpx.post(f"{live_server}/v2/enqueue", json=event).status_code == 202

    send("checkout-latency", "Checkout latency above 2 s")
    row = page.locator("tr[data-alert-id]", has_text="Checkout latency above 2 s")
    expect(row).to_be_visible()
    expect(row).to_contain_text("UNROUTED")
    expect(row).to_contain_text("Triggered")
    expect(page.get_by_text("1 alert matches the filters.")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True  # no reload happened

    # Paused, the list stands still; resumed, it catches up.
    pause = page.get_by_role("button", name="Pause")
    pause.click()
    resume = page.get_by_role("button", name="Resume")
    expect(resume).to_have_attribute("aria-pressed", "true")
    expect(page.get_by_text("Live updates paused")).to_be_visible()
    send("checkout-errors", "Checkout errors above 5%")
    resume.click()
    expect(page.locator("tr[data-alert-id]", has_text="Checkout errors above 5%")).to_be_visible()
    expect(page.get_by_text("2 alerts match the filters.")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True
    assert no_horizontal_overflow(page)


def test_who_is_on_call_and_acknowledging_a_page_in_the_browser(
    laptop: Page, live_server: str, techcorp: Story, container: Container
) -> None:
    # 2025-10-27 14:00 UTC: the EMEA layer of the demo's follow-the-sun rotation, first week.
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        alex = auth_service.get_by_email(s, email=demo_data.ALEX.email)
        assert alex is not None
        incident = lifecycle.declare(
            s,
            container.clock,
            actor=auth_service.actor_for(alex),
            data=IncidentDeclare(
                title="Checkout API returns 502",
                severity=IncidentSeverity.SEV2,
                escalation_policy=demo_data.SUPPORT_POLICY.name,
            ),
        )
        incident_id = incident.id
    build_worker(container, worker_id="browser-test").drain()  # pages step 1

    page = laptop
    log_in_from(page, live_server, "/schedules", techcorp)
    page.goto(live_server + "/")
    on_call = page.locator("#oncall-now")
    row = on_call.get_by_role("row", name=re.compile("Support follow-the-sun"))
    expect(row).to_contain_text("Liam O'Brien")

    refused: list[str] = []
    page.on(
        "console",
        lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None,
    )
    row.get_by_role("link", name="Support follow-the-sun").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Support follow-the-sun")
    expect(page.get_by_text("Liam O'Brien").first).to_be_visible()
    # The day timeline's bars stand where their shifts are (their offsets are inline
    # styles, which the page's policy must let through).
    bars = page.locator(".oncall-bar")
    lefts = {round(box["x"]) for box in (b.bounding_box() for b in bars.all()) if box}
    assert len(lefts) >= 3, lefts
    assert refused == []

    page.goto(f"{live_server}/incidents/{incident_id}")
    timeline = page.locator("#timeline-title").locator("xpath=ancestor::section[1]")
    expect(timeline).to_contain_text("Liam O'Brien")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_text("Alex Johnson").first).to_be_visible()
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    with container.session_factory() as s:
        stored = s.get(Incident, incident_id)
        assert stored is not None
        assert (stored.status, stored.acknowledged_by_user_id) == ("acknowledged", alex.id)
    assert no_horizontal_overflow(page)


def test_an_update_posted_on_the_incident_page_reaches_the_portal_and_the_status_page(
    chromium: Browser, laptop: Page, live_server: str, techcorp: Story, container: Container
) -> None:
    """Issue 5: a responder posts a public update from the incident page; TechCorp's
    contact, invited to the portal, logs in and reads it; the public status page shows it."""
    from escalate.notify.models import Notification
    from escalate.portal import service as portal_service

    sarah_email = "sarah.mitchell@techcorp.example"
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        alex = auth_service.get_by_email(s, email=demo_data.ALEX.email)
        assert alex is not None
        incident = lifecycle.declare(
            s,
            container.clock,
            actor=auth_service.actor_for(alex),
            data=IncidentDeclare(
                title="Production API errors for EU customers",
                severity=IncidentSeverity.SEV2,
                service=demo_data.PRODUCTION_API.name,
            ),
        )
        incident_id = incident.id
        contact_id = s.scalar(select(Contact.id).where(Contact.email == sarah_email))
        assert contact_id is not None
        portal_service.invite(
            s,
            container.clock,
            container.settings,
            actor=auth_service.actor_for(alex),
            account_id=techcorp.account_id,
            contact_id=contact_id,
        )
        mailed = s.scalars(
            select(Notification.body).where(Notification.kind == "portal_invite")
        ).one()
    token = re.search(r"/portal/invite/(\S+)", mailed)
    assert token is not None
    with transaction(container.session_factory, clock=container.clock) as s:
        portal_service.accept_invite(
            s, container.clock, token=token.group(1), password="sarahs-portal-pass"
        )

    page = laptop
    log_in_from(page, live_server, f"/incidents/{incident_id}", techcorp)
    composer = page.locator("#update-composer")
    text = composer.get_by_label("Message")
    expect(text).to_have_value(re.compile("^We are aware of a problem"))
    composer.get_by_label("Kind").select_option("identified")
    expect(text).to_have_value(re.compile("identified", re.IGNORECASE))  # the kind's template
    composer.get_by_label("Audience").select_option("public")
    message = "A faulty load balancer rule sends EU traffic to a drained pool; rolling back."
    text.fill(message)
    composer.get_by_role("button", name="Post update").click()
    expect(page).to_have_url(re.compile(rf"/incidents/{incident_id}\?saved=update"))
    expect(page.get_by_text("Update posted.")).to_be_visible()
    expect(page.get_by_text(message).first).to_be_visible()

    customer = chromium.new_context(viewport=LAPTOP).new_page()
    customer.goto(f"{live_server}/portal/login")
    customer.get_by_label("Email").fill(sarah_email)
    customer.get_by_label("Password").fill("sarahs-portal-pass")
    customer.get_by_role("button", name="Log in").click()
    customer.get_by_role("link", name=re.compile("Production API")).first.click()
    expect(customer.get_by_text(message)).to_be_visible()

    status = chromium.new_context(viewport=LAPTOP).new_page()  # nobody logged in
    status.goto(f"{live_server}/status")
    expect(status.get_by_text(message)).to_be_visible()
    assert "Production API errors for EU customers" not in status.content()


def _incident_with_everything(container: Container) -> int:
    """A SEV1 on the demo's Production API (so TechCorp is affected), with a commander, and
    its checklist's first deadlines passed (so items are overdue)."""
    with transaction(container.session_factory, clock=container.clock, actor=SYSTEM) as s:
        alex = auth_service.get_by_email(s, email=demo_data.ALEX.email)
        assert alex is not None
        incident = lifecycle.declare(
            s,
            container.clock,
            actor=auth_service.actor_for(alex),
            data=IncidentDeclare(
                title="Checkout API returns 502 for every European customer since the deploy",
                severity=IncidentSeverity.SEV1,
                service=demo_data.PRODUCTION_API.name,
            ),
        )
        return incident.id


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_the_incident_page_is_laid_out_and_keeps_a_refused_entry(
    chromium: Browser,
    live_server: str,
    techcorp: Story,
    container: Container,
    clock: FrozenClock,
    viewport: ViewportSize,
) -> None:
    incident_id = _incident_with_everything(container)
    clock.advance(timedelta(minutes=30))  # past the first checklist deadlines
    context = chromium.new_context(viewport=viewport, is_mobile=viewport == PHONE)
    page = context.new_page()
    refused_styles: list[str] = []
    page.on(
        "console",
        lambda m: refused_styles.append(m.text) if "Content Security Policy" in m.text else None,
    )
    log_in_from(page, live_server, f"/incidents/{incident_id}", techcorp)
    name = "phone" if viewport == PHONE else "laptop"

    # Roles: a labelled field and a labelled select, side by side on a laptop.
    roles = page.locator("#roles")
    role = roles.get_by_label("Role", exact=True)
    person = roles.get_by_label("Person", exact=True)
    expect(role).to_have_value("commander")
    role_box, person_box = role.bounding_box(), person.bounding_box()
    assert role_box and person_box
    if viewport == LAPTOP:
        assert abs(role_box["y"] - person_box["y"]) < 2  # one line
        assert person_box["width"] < viewport["width"] / 2  # not a full-width select

    # The affected service and its remove button sit together on one line.
    chip = page.locator(".chip", has_text=demo_data.PRODUCTION_API.name)
    remove = chip.get_by_role("button", name=f"Remove {demo_data.PRODUCTION_API.name}")
    chip_box, remove_box = chip.bounding_box(), remove.bounding_box()
    assert chip_box and remove_box and chip_box["height"] < 40
    assert chip_box["y"] <= remove_box["y"] <= chip_box["y"] + chip_box["height"]

    # The checklist: each box left of its title, on its line; an overdue item in red.
    item = page.locator(".checklist-item").first
    box = item.get_by_role("checkbox").bounding_box()
    title = item.locator(".checklist-title").bounding_box()
    assert box and title and box["x"] + box["width"] <= title["x"]
    assert box["y"] < title["y"] + title["height"]
    overdue = page.locator(".checklist-item.is-overdue .checklist-title").first
    expect(overdue).to_have_css("color", "rgb(180, 35, 24)")
    assert no_horizontal_overflow(page)
    page.screenshot(path=f"/tmp/escalate-incident-{name}.png", full_page=True)

    # An account that does not exist: the error beside the field, the name kept.
    add = page.locator("form[aria-label='Add an account']")
    add.get_by_label("Add account (name or id)").fill("Nobody Incorporated")
    add.get_by_role("button", name="Add account").click()
    add = page.locator("form[aria-label='Add an account']")
    expect(add.locator(".field-error")).to_have_text("No account named 'Nobody Incorporated'.")
    expect(add.get_by_label("Add account (name or id)")).to_have_value("Nobody Incorporated")
    assert no_horizontal_overflow(page)
    assert refused_styles == []
    context.close()


def test_the_declare_form_fits_a_phone(phone: Page, live_server: str, techcorp: Story) -> None:
    page = phone
    log_in_from(page, live_server, "/incidents/new", techcorp)
    choices = page.locator(".choice")
    expect(choices).to_have_count(4)
    first, second = choices.nth(0).bounding_box(), choices.nth(1).bounding_box()
    assert first and second and second["y"] >= first["y"] + first["height"]  # one per line
    page.get_by_label(re.compile("SEV2")).check()
    page.get_by_role("button", name="Declare").click()  # no title
    expect(page.locator(".field-error")).to_have_text("This field is required.")
    expect(page.get_by_label(re.compile("SEV2"))).to_be_checked()
    assert no_horizontal_overflow(page)
    page.screenshot(path="/tmp/escalate-declare-phone.png", full_page=True)
