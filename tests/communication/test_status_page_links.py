"""Every Atom feed entry links to a page that shows it, on the page of the feed it is in;
subscribing answers with a redirect (Post/Redirect/Get); and the public pages' errors keep
their own layout without the staff login."""

from __future__ import annotations

import re
from datetime import timedelta
from xml.etree import ElementTree

from comms_support import World, build_world, make_group
from fastapi.testclient import TestClient

from escalate.bootstrap import Container
from escalate.clock import FrozenClock

ATOM = "{http://www.w3.org/2005/Atom}"
BASE = "http://testserver"


def _post(client: TestClient, headers, world: World, message: str, **extra: str) -> None:
    body = {"kind": "investigating", "audience": "public", "message": message, **extra}
    response = client.post(
        f"/api/v1/incidents/{world.incident_id}/updates", headers=headers, json=body
    )
    assert response.status_code == 201, response.text


def _entry_links(client: TestClient, feed_path: str) -> dict[str, str]:
    """Each entry's link (path and anchor) by its text."""
    feed = ElementTree.fromstring(client.get(feed_path).content)
    links = {}
    for entry in feed.iter(f"{ATOM}entry"):
        link = entry.find(f"{ATOM}link")
        content = entry.find(f"{ATOM}content")
        assert link is not None and content is not None and content.text
        links[content.text] = link.attrib["href"].removeprefix(BASE)
    return links


def _shows(client: TestClient, link: str, message: str) -> bool:
    path, _, anchor = link.partition("#")
    page = client.get(path)
    assert page.status_code == 200, link
    found = re.search(rf'id="{anchor}">(.*?)</div>', page.text, re.S)
    return found is not None and message in found.group(1)


def test_feed_entries_link_to_their_update_long_after_the_incident(
    client: TestClient, container: Container, admin_headers, clock: FrozenClock
) -> None:
    world = build_world(container)
    make_group(container, name="Shop", slug="shop", service_ids=[world.service_id])
    _post(client, admin_headers, world, "Checkout is failing.")
    _post(client, admin_headers, world, "Checkout works again.", kind="resolved")
    clock.advance(timedelta(days=120))  # past the page's 90 days: the page lists it no more
    assert "Checkout is failing." not in client.get("/status").text

    main = _entry_links(client, "/status/feed.atom")
    group = _entry_links(client, "/status/shop/feed.atom")
    assert set(main) == set(group) == {"Checkout is failing.", "Checkout works again."}
    for message, link in main.items():
        assert link.startswith(f"/status/incidents/{world.incident_id}#update-")
        assert _shows(client, link, message), link
    for message, link in group.items():
        assert link.startswith(f"/status/shop/incidents/{world.incident_id}#update-")
        assert _shows(client, link, message), link


def test_an_incident_page_shows_only_what_its_status_page_shows(
    client: TestClient, container: Container, admin_headers
) -> None:
    world = build_world(container, title="SECRET-TITLE db-7")
    make_group(container, name="Shop", slug="shop", service_ids=[world.service_id])
    make_group(container, name="Other", slug="other", service_ids=[world.other_service_id])
    assert client.get(f"/status/incidents/{world.incident_id}").status_code == 404  # no update
    _post(client, admin_headers, world, "A public word.")
    shown = client.get(f"/status/incidents/{world.incident_id}")
    assert shown.status_code == 200 and "A public word." in shown.text
    assert "SECRET-TITLE" not in shown.text
    assert client.get(f"/status/other/incidents/{world.incident_id}").status_code == 404
    assert client.get("/status/incidents/not-a-number").status_code == 404


def test_subscribing_redirects_to_a_notice_and_a_bad_address_stays_in_the_form(
    client: TestClient, container: Container
) -> None:
    world = build_world(container)
    make_group(container, name="Shop", slug="shop", service_ids=[world.service_id])
    posted = client.post(
        "/status/subscribe",
        data={"email": "fan@public.example", "group": "shop"},
        follow_redirects=False,
    )
    assert posted.status_code == 303
    assert posted.headers["location"] == "/status/shop?subscribed=1#subscribe"
    assert "fan@public.example" not in posted.headers["location"]
    notice = client.get(posted.headers["location"])
    assert "Check your inbox" in notice.text
    assert "Check your inbox" not in client.get("/status/shop").text

    refused = client.post("/status/subscribe", data={"email": "not an address"})
    assert refused.status_code == 422
    assert "All services" in refused.text or "System status" in refused.text  # the page
    assert 'id="subscribe-email-error">Enter a valid e-mail address.' in refused.text
    assert 'value="not an address"' in refused.text


def test_public_error_pages_keep_their_layout_and_offer_no_staff_login(
    client: TestClient, container: Container
) -> None:
    html = {"accept": "text/html"}
    status_404 = client.get("/status/no-such-page", headers=html)
    assert status_404.status_code == 404
    assert 'href="/login"' not in status_404.text
    assert 'href="/status"' in status_404.text and "status-public" in status_404.text
    portal_404 = client.get("/portal/invite/forged-token", headers=html)
    assert portal_404.status_code == 404
    assert 'href="/login"' not in portal_404.text and 'href="/portal"' in portal_404.text
    staff_404 = client.get("/no-such-page", headers=html)
    assert 'href="/login"' in staff_404.text  # staff pages still offer it
