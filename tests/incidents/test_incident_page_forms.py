"""A refused form on the incident pages comes back as the form: what the person typed kept,
the error in words beside the field that caused it, and nothing written."""

from __future__ import annotations

import re
from html import unescape

from fastapi.testclient import TestClient
from incidents_support import csrf_of, log_in, make_service, row_counts, use_service
from sqlalchemy import func, select

from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.incidents.models import Incident


def _incident_count(container: Container) -> int:
    with container.session_factory() as session:
        return session.scalar(select(func.count()).select_from(Incident)) or 0


def _field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field_id}-error">([^<]*)</p>', html)
    assert match, f"no error beside {field_id}"
    return unescape(match.group(1))


def _declared(
    client: TestClient, container: Container, make_user, make_account
) -> tuple[str, str, int]:
    ana = make_user(Role.RESPONDER, name="Ana Responder")
    api = make_service(container, "API")
    techcorp = make_account("TechCorp")
    use_service(container, techcorp, api)
    log_in(client, ana.email)
    form = client.get("/incidents/new")
    declared = client.post(
        "/incidents/new",
        data={
            "title": "Checkout down",
            "severity": "SEV1",
            "service": str(api),
            "csrf_token": csrf_of(form.text),
        },
        follow_redirects=False,
    )
    assert declared.status_code == 303
    path = declared.headers["location"].split("?")[0]
    return path, csrf_of(client.get(path).text), techcorp


def test_a_refused_declaration_shows_the_form_again_with_what_was_typed(
    client: TestClient, container: Container, make_user
) -> None:
    ana = make_user(Role.RESPONDER)
    log_in(client, ana.email)
    form = client.get("/incidents/new")
    refused = client.post(
        "/incidents/new",
        data={
            "title": " ",
            "severity": "SEV2",
            "escalation_policy": "No such policy",
            "description": "EU shoppers see 502",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert refused.status_code == 422
    assert "Go to the dashboard" not in refused.text
    assert _field_error(refused.text, "declare-title") == "This field is required."
    assert 'value="SEV2" checked' in refused.text
    assert "EU shoppers see 502</textarea>" in refused.text
    assert _incident_count(container) == 0

    unknown_policy = client.post(
        "/incidents/new",
        data={
            "title": "Checkout down",
            "severity": "SEV2",
            "escalation_policy": "No such policy",
            "csrf_token": csrf_of(form.text),
        },
    )
    assert unknown_policy.status_code == 422
    assert "No such policy" in _field_error(unknown_policy.text, "declare-escalation_policy")
    assert 'value="Checkout down"' in unknown_policy.text
    assert _incident_count(container) == 0


def test_a_backwards_impact_window_is_refused_in_words_beside_the_field(
    client: TestClient, container: Container, make_user, make_account
) -> None:
    path, token, techcorp = _declared(client, container, make_user, make_account)
    before = row_counts(container)
    refused = client.post(
        f"{path}/accounts/{techcorp}/impact",
        data={
            "impact_start": "2025-10-22T12:00",
            "impact_end": "2025-10-22T11:00",
            "impact_level": "degraded",
            "affected_users": "40",
            "business_impact": "Orders lost",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 422
    assert "Checkout down" in refused.text  # the incident page, not an error page
    message = _field_error(refused.text, f"impact-{techcorp}-impact_end")
    assert message == (
        "The impact window ends before it starts: impact end 22 Oct 2025, 11:00 UTC "
        "is before impact start 22 Oct 2025, 12:00 UTC."
    )
    assert 'value="2025-10-22T11:00"' in refused.text and "Orders lost</textarea>" in refused.text
    assert 'value="degraded" selected' in refused.text
    assert row_counts(container) == before

    negative = client.post(
        f"{path}/accounts/{techcorp}/impact",
        data={"impact_level": "outage", "affected_users": "-3", "csrf_token": token},
    )
    assert negative.status_code == 422
    message = _field_error(negative.text, f"impact-{techcorp}-affected_users")
    assert message == "Input should be greater than or equal to 0."
    assert "Affected_users" not in negative.text and "affected_users:" not in negative.text


def test_a_refused_role_or_account_keeps_the_entry_beside_its_field(
    client: TestClient, container: Container, make_user, make_account
) -> None:
    path, token, _ = _declared(client, container, make_user, make_account)
    before = row_counts(container)
    role = client.post(
        f"{path}/roles", data={"role": "Big Boss!", "user_id": "1", "csrf_token": token}
    )
    assert role.status_code == 422
    assert "is not a role name" in _field_error(role.text, "role-role")
    assert 'value="Big Boss!"' in role.text

    nobody = client.post(
        f"{path}/roles", data={"role": "scribe", "user_id": "999999", "csrf_token": token}
    )
    assert nobody.status_code == 422
    assert _field_error(nobody.text, "role-user_id") == "User 999999 not found."

    account = client.post(f"{path}/accounts", data={"account": "Nobody Inc", "csrf_token": token})
    assert account.status_code == 422
    assert _field_error(account.text, "add-account") == "No account named 'Nobody Inc'."
    assert 'value="Nobody Inc"' in account.text
    assert row_counts(container) == before
