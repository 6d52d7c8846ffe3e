"""`escalate incident affected|impact|show|update --preview|role` on both engines: affected
accounts and their impact edited with the API's rules, the SLA line per account, a preview
people can read, and errors that name the argument at fault."""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from incidents_support import declare, make_service, row_counts, use_service
from typer.testing import CliRunner, Result

from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.cli.main import app


def _run(db_url: str, *args: str) -> Result:
    env = {"ESCALATE_DATABASE_URL": db_url, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def _world(client: TestClient, container: Container, headers: dict[str, str], make_account) -> Any:
    """An incident on the API service, which TechCorp uses; returns (incident JSON, account id)."""
    account_id = make_account("TechCorp")
    use_service(container, account_id, make_service(container, "API"))
    make_account("Bystander")  # exists, but not affected
    return declare(client, headers, service="API"), account_id


def _affected(client: TestClient, headers: dict[str, str], incident_id: int) -> dict[str, Any]:
    found: dict[str, Any] = client.get(
        f"/api/v1/incidents/{incident_id}/accounts", headers=headers
    ).json()
    return found


def test_affected_lists_what_the_api_does_and_impact_edits_it(
    db_url: str,
    client: TestClient,
    container: Container,
    admin_headers: dict[str, str],
    make_account,
) -> None:
    incident, _ = _world(client, container, admin_headers, make_account)
    number = str(incident["number"])
    listed = json.loads(_run(db_url, "incident", "affected", number, "--json").stdout)
    assert listed == _affected(client, admin_headers, incident["id"])
    assert [a["name"] for a in listed["items"]] == ["TechCorp"]

    edited = _run(
        db_url,
        *("incident", "impact", number, "--account", "TechCorp"),
        *("--start", "2025-10-22T11:30", "--end", "2025-10-22T13:15+01:00"),
        *("--level", "degraded", "--users", "120", "--business-impact", "EU checkout down"),
    )
    assert edited.exit_code == 0, edited.output
    (row,) = _affected(client, admin_headers, incident["id"])["items"]
    assert row["impact_start"] == "2025-10-22T11:30:00Z"  # no offset: UTC
    assert row["impact_end"] == "2025-10-22T12:15:00Z"
    assert (row["impact_level"], row["affected_users"], row["business_impact"]) == (
        "degraded",
        120,
        "EU checkout down",
    )
    table = _run(db_url, "incident", "affected", number).output
    assert "EU checkout down" in table and "degraded" in table

    cleared = _run(db_url, "incident", "impact", number, "--account", "TechCorp", "--end", "none")
    assert cleared.exit_code == 0, cleared.output
    assert _affected(client, admin_headers, incident["id"])["items"][0]["impact_end"] is None


def test_exclude_and_include_an_account(
    db_url: str,
    client: TestClient,
    container: Container,
    admin_headers: dict[str, str],
    make_account,
) -> None:
    incident, _ = _world(client, container, admin_headers, make_account)
    number = str(incident["number"])

    out = _run(db_url, "incident", "impact", number, "--account", "TechCorp", "--exclude")
    assert out.exit_code == 0, out.output
    assert _affected(client, admin_headers, incident["id"])["total"] == 0
    back = _run(
        db_url, "incident", "impact", number, "--account", "TechCorp", "--include", "--json"
    )
    assert back.exit_code == 0, back.output
    assert [a["name"] for a in json.loads(back.stdout)["affected_accounts"]] == ["TechCorp"]
    added = _run(db_url, "incident", "impact", number, "--account", "Bystander", "--include")
    assert added.exit_code == 0, added.output
    names = [a["name"] for a in _affected(client, admin_headers, incident["id"])["items"]]
    assert names == ["Bystander", "TechCorp"]


def test_bad_impact_edits_are_refused_naming_the_problem_and_write_nothing(
    db_url: str,
    client: TestClient,
    container: Container,
    admin_headers: dict[str, str],
    make_account,
) -> None:
    incident, _ = _world(client, container, admin_headers, make_account)
    number = str(incident["number"])
    before = (row_counts(container), _affected(client, admin_headers, incident["id"]))
    impact = ("incident", "impact", number, "--account")

    backwards = _run(
        db_url, *impact, "TechCorp", "--start", "2025-10-22T12:00Z", "--end", "2025-10-22T11:00Z"
    )
    assert backwards.exit_code == 1
    assert "--end: the impact window ends before it starts" in backwards.output
    unknown = _run(db_url, *impact, "Nobody Inc", "--users", "5")
    assert unknown.exit_code == 3
    assert "--account: no account named 'Nobody Inc'" in unknown.output
    bystander = _run(db_url, *impact, "Bystander", "--users", "5")
    assert bystander.exit_code == 3
    assert "--account: Bystander is not affected" in bystander.output
    garbled = _run(db_url, *impact, "TechCorp", "--start", "yesterday")
    assert garbled.exit_code == 1
    assert "--start:" in garbled.output
    nothing = _run(db_url, *impact, "TechCorp")
    assert nothing.exit_code == 2
    assert "nothing to change" in nothing.output
    missing = _run(db_url, "incident", "impact", "404", "--account", "TechCorp", "--users", "1")
    assert missing.exit_code == 3
    assert "N: incident #404 not found" in missing.output
    assert _run(db_url, "incident", "affected", "404").exit_code == 3

    assert (row_counts(container), _affected(client, admin_headers, incident["id"])) == before


def test_show_sums_each_accounts_sla_clocks(
    db_url: str,
    client: TestClient,
    container: Container,
    admin_headers: dict[str, str],
    make_account,
) -> None:
    incident, _ = _world(client, container, admin_headers, make_account)
    number = str(incident["number"])
    clocks = json.loads(_run(db_url, "incident", "sla", number, "--json").stdout)["items"]
    assert clocks, "the contract should set clocks for a SEV1"
    breached = sum(1 for c in clocks if c["breached"])

    shown = _run(db_url, "incident", "show", number)

    assert shown.exit_code == 0, shown.output
    line = next(line for line in shown.output.splitlines() if line.startswith("SLA: "))
    assert line.startswith(f"SLA: TechCorp: {len(clocks)} clocks, {breached} breached")
    assert ("worst" in line) == (breached > 0)


def test_update_preview_is_readable_unless_json_and_sends_nothing(
    db_url: str,
    client: TestClient,
    container: Container,
    admin_headers: dict[str, str],
    make_account,
) -> None:
    incident, _ = _world(client, container, admin_headers, make_account)
    base = ("incident", "update", str(incident["number"]), "--kind", "identified")
    base += ("--audience", "public", "--message", "Found it.", "--preview")
    before = row_counts(container)

    readable = _run(db_url, *base)
    as_json = _run(db_url, *base, "--json")

    assert readable.exit_code == 0 and as_json.exit_code == 0, readable.output + as_json.output
    preview = json.loads(as_json.stdout)
    (mail,) = preview["accounts"][0]["mails"]
    assert readable.stdout.startswith("Preview: identified update")
    for expected in (
        "== TechCorp ==",
        f"To: Sarah Mitchell <{mail['email']}>",
        f"Subject: {mail['subject']}",
        "Portal: Found it.",
        "Public status page: Found it.",
        "Nothing was sent.",
    ):
        assert expected in readable.stdout
    assert row_counts(container) == before


def test_errors_name_the_argument_at_fault(
    db_url: str, client: TestClient, admin_headers: dict[str, str], make_user
) -> None:
    make_user(Role.RESPONDER, name="Ana", email="ana@example.com")
    number = str(declare(client, admin_headers)["number"])

    person = _run(db_url, "incident", "role", number, "commander", "nobody@x.example")
    assert person.exit_code == 3
    assert "PERSON: no user with email nobody@x.example" in person.output
    acting = _run(
        db_url, "incident", "role", number, "commander", "ana@example.com", "--as", "no@x.example"
    )
    assert acting.exit_code == 3
    assert "--as: no user with email no@x.example" in acting.output

    assert _run(db_url, "incident", "resolve", number).exit_code == 0
    late = _run(
        db_url,
        *("incident", "update", number, "--kind", "monitoring", "--audience", "internal"),
        *("--message", "still watching"),
    )
    assert late.exit_code == 1
    assert "--kind: incident" in late.output and "only a resolution notice" in late.output
