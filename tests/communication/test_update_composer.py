"""The update composer page and the `escalate incident update` command reach the same
service as the API: same rules, same deliveries."""

from __future__ import annotations

import re

from comms_support import build_world, count, csrf_of
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from escalate.bootstrap import Container
from escalate.cli.main import app
from escalate.incidents.models import StatusUpdate, UpdateDelivery
from escalate.notify.models import Notification


def _staff_login(client: TestClient, make_user) -> None:
    user = make_user()
    page = client.get("/login")
    client.post(
        "/login",
        data={
            "email": user.email,
            "password": "correct horse battery",
            "csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1],  # type: ignore[index]
        },
    )


def test_a_responder_previews_and_posts_from_the_page(
    client: TestClient, container: Container, make_user
) -> None:
    world = build_world(container)
    _staff_login(client, make_user)
    page = client.get(f"/incidents/{world.incident_id}/updates")
    assert page.status_code == 200
    assert "Checkout API" in page.text  # the template names the affected service
    token = csrf_of(page.text)
    form = {
        "csrf_token": token,
        "kind": "identified",
        "audience": "customers",
        "message": "Found it.",
    }
    preview = client.post(f"/incidents/{world.incident_id}/updates/preview", data=form)
    assert preview.status_code == 200
    for email in world.notified:
        assert email in preview.text
    assert count(container, StatusUpdate) == 0

    empty = client.post(f"/incidents/{world.incident_id}/updates", data={**form, "message": " "})
    assert empty.status_code == 422
    assert count(container, StatusUpdate) == 0

    posted = client.post(
        f"/incidents/{world.incident_id}/updates", data=form, follow_redirects=False
    )
    assert posted.status_code == 303
    assert count(container, UpdateDelivery) == len(world.notified)
    shown = client.get(f"/incidents/{world.incident_id}/updates").text
    assert "Found it." in shown and f"For {len(world.notified)} contacts: pending" in shown


def test_the_cli_posts_an_update_and_refuses_a_bad_one(container: Container, settings) -> None:
    world = build_world(container)
    runner = CliRunner()
    env = {
        "ESCALATE_DATABASE_URL": settings.database_url,
        "ESCALATE_SECRET_KEY": "test-secret-key",
        "COLUMNS": "200",
    }
    base = ["incident", "update", str(world.incident_number)]
    done = runner.invoke(
        app,
        [*base, "--kind", "investigating", "--audience", "public", "--message", "From the CLI."],
        env=env,
    )
    assert done.exit_code == 0, done.output
    assert count(container, UpdateDelivery) == len(world.notified)
    bad = runner.invoke(
        app,
        [*base, "--kind", "investigating", "--audience", "customers", "--message", " "],
        env=env,
    )
    assert bad.exit_code == 1, bad.output
    assert "message" in bad.output
    unknown = runner.invoke(
        app, [*base, "--kind", "guessing", "--audience", "customers", "--message", "x"], env=env
    )
    assert unknown.exit_code == 2
    assert count(container, StatusUpdate) == 1
    assert count(container, Notification) == len(world.notified)


def _kinds_offered(html: str) -> list[str]:
    select = re.search(r'<select id="update-kind".*?</select>', html, re.S)
    assert select, "no kind select in the composer"
    return re.findall(r'<option value="([a-z]+)"', select.group(0))


def test_the_incident_page_has_the_composer_and_comes_back_to_itself(
    client: TestClient, container: Container, make_user
) -> None:
    world = build_world(container)
    _staff_login(client, make_user)
    path = f"/incidents/{world.incident_id}"
    page = client.get(path)
    assert 'id="update-composer"' in page.text
    assert 'name="back" value="incident"' in page.text
    # A triggered incident suggests the first word to customers, its template filled in.
    assert _kinds_offered(page.text)[0] == "acknowledgement"
    assert re.search(r'<option value="acknowledgement" selected>', page.text)
    assert "We are aware of a problem affecting Checkout API" in page.text
    form = {
        "csrf_token": csrf_of(page.text),
        "back": "incident",
        "kind": "investigating",
        "audience": "customers",
        "message": "Looking into checkout errors.",
    }
    posted = client.post(f"{path}/updates", data=form, follow_redirects=False)
    assert posted.status_code == 303
    assert posted.headers["location"].startswith(f"{path}?saved=update")
    assert "Update posted." in client.get(posted.headers["location"]).text
    assert count(container, UpdateDelivery) == len(world.notified)


def test_a_resolved_incident_offers_only_its_resolution_notice(
    client: TestClient, container: Container, make_user
) -> None:
    world = build_world(container)
    _staff_login(client, make_user)
    path = f"/incidents/{world.incident_id}"
    token = csrf_of(client.get(path).text)
    assert (
        client.post(f"{path}/resolve", data={"csrf_token": token}, follow_redirects=False)
    ).status_code == 303
    for shown in (client.get(path).text, client.get(f"{path}/updates").text):
        assert _kinds_offered(shown) == ["resolved"]
    refused = client.post(
        f"{path}/updates",
        data={"csrf_token": token, "kind": "identified", "audience": "customers", "message": "x"},
    )
    assert refused.status_code == 409
    assert count(container, StatusUpdate) == 0
    notice = client.post(
        f"{path}/updates",
        data={
            "csrf_token": token,
            "kind": "resolved",
            "audience": "customers",
            "message": "Resolved: checkout works again.",
        },
        follow_redirects=False,
    )
    assert notice.status_code == 303
    assert count(container, StatusUpdate) == 1
