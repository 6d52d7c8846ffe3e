"""`escalate incident declare|note|timeline|checklist|check N ...` on both engines: what the
API does, acting as `--as` when given, and refused input writes nothing."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from incidents_support import declare, make_service, row_counts, use_service
from typer.testing import CliRunner, Result

from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.cli.main import app


def _run(db_url: str, *args: str, input: str | None = None) -> Result:
    env = {"ESCALATE_DATABASE_URL": db_url, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env, input=input)


def _incident_total(client: TestClient, headers: dict[str, str]) -> int:
    total: int = client.get("/api/v1/incidents", headers=headers).json()["total"]
    return total


def test_declare_opens_an_incident_as_the_person_named(
    db_url: str,
    client: TestClient,
    container: Container,
    admin_headers: dict[str, str],
    make_user,
    make_account,
) -> None:
    ana = make_user(Role.RESPONDER, name="Ana", email="ana@example.com")
    use_service(container, make_account("TechCorp"), make_service(container, "API"))

    done = _run(
        db_url,
        *("incident", "declare", "--title", "Checkout fails", "--severity", "SEV2"),
        *("--service", "API", "--as", "ana@example.com", "--json"),
    )

    assert done.exit_code == 0, done.output
    read = json.loads(done.stdout)
    assert read["severity"] == "SEV2" and read["title"] == "Checkout fails"
    assert read["declared_by_user_id"] == ana.id
    assert [a["name"] for a in read["affected_accounts"]] == ["TechCorp"]
    api = client.get(f"/api/v1/incidents/{read['id']}", headers=admin_headers).json()
    assert api == read  # the API's shape, and what the API now answers
    timeline = client.get(f"/api/v1/incidents/{read['id']}/timeline", headers=admin_headers)
    assert timeline.json()["items"][0]["summary"] == "Declared by Ana"

    plain = _run(db_url, "incident", "declare", "--title", "Second", "--severity", "SEV4")
    assert plain.exit_code == 0, plain.output
    assert plain.stdout.strip() == str(read["number"] + 1)  # the number, for scripts
    assert "declared (SEV4)" in plain.output


def test_declare_refuses_bad_input_and_writes_nothing(
    db_url: str, client: TestClient, container: Container, admin_headers: dict[str, str]
) -> None:
    before = (row_counts(container), _incident_total(client, admin_headers))
    base = ("incident", "declare", "--title", "Checkout fails")

    severity = _run(db_url, *base, "--severity", "SEV9")
    assert severity.exit_code == 2
    assert "--severity" in severity.output and "SEV9" in severity.output
    service = _run(db_url, *base, "--severity", "SEV1", "--service", "Nope")
    assert service.exit_code == 3
    assert "--service: no service named 'Nope'" in service.output
    policy = _run(db_url, *base, "--severity", "SEV1", "--policy", "Nobody")
    assert policy.exit_code == 1
    assert "--policy: no escalation policy named 'Nobody'" in policy.output
    title = _run(db_url, "incident", "declare", "--title", "  ", "--severity", "SEV1")
    assert title.exit_code == 1
    assert "--title:" in title.output
    who = _run(db_url, *base, "--severity", "SEV1", "--as", "ghost@example.com")
    assert who.exit_code == 3
    assert "--as: no user with email ghost@example.com" in who.output

    assert (row_counts(container), _incident_total(client, admin_headers)) == before


def test_notes_go_on_the_timeline_and_the_timeline_pages(
    db_url: str, client: TestClient, admin_headers: dict[str, str], make_user
) -> None:
    make_user(Role.RESPONDER, name="Ana", email="ana@example.com")
    incident = declare(client, admin_headers)
    number = str(incident["number"])

    noted = _run(
        db_url, "incident", "note", number, "--message", "Rolled back", "--as", "ana@example.com"
    )
    assert noted.exit_code == 0, noted.output
    piped = _run(db_url, "incident", "note", number, "--message", "-", input="From stdin\n")
    assert piped.exit_code == 0, piped.output

    api = client.get(f"/api/v1/incidents/{incident['id']}/timeline", headers=admin_headers).json()
    cli = json.loads(_run(db_url, "incident", "timeline", number, "--json").stdout)
    assert cli == api  # the API's shape
    notes = [(e["actor_label"], e["summary"]) for e in cli["items"] if e["kind"] == "note"]
    assert notes == [("Ana", "Rolled back"), ("cli", "From stdin")]

    window = json.loads(
        _run(
            db_url, "incident", "timeline", number, "--json", "--limit", "1", "--offset", "1"
        ).stdout
    )
    assert window["total"] == cli["total"] and window["items"] == cli["items"][1:2]
    table = _run(db_url, "incident", "timeline", number)
    assert table.exit_code == 0, table.output
    for expected in ("time", "kind", "actor", "summary", "Rolled back", "Ana"):
        assert expected in table.output


def test_bad_notes_and_unknown_incidents_are_refused_and_write_nothing(
    db_url: str, client: TestClient, container: Container, admin_headers: dict[str, str]
) -> None:
    number = str(declare(client, admin_headers)["number"])
    before = row_counts(container)

    empty = _run(db_url, "incident", "note", number, "--message", "   ")
    assert empty.exit_code == 1
    assert "--message:" in empty.output
    for command in (
        ("note", "404", "--message", "x"),
        ("timeline", "404"),
        ("checklist", "404"),
        ("check", "404", "1"),
    ):
        missing = _run(db_url, "incident", *command)
        assert missing.exit_code == 3, (command, missing.output)
        assert "N: incident #404 not found" in missing.output

    assert row_counts(container) == before


def test_ticking_the_checklist_names_who_did_it(
    db_url: str, client: TestClient, container: Container, admin_headers: dict[str, str], make_user
) -> None:
    ana = make_user(Role.RESPONDER, name="Ana Lopez", email="ana@example.com")
    incident = declare(client, admin_headers)
    number = str(incident["number"])
    listed = json.loads(_run(db_url, "incident", "checklist", number, "--json").stdout)
    api = client.get(
        f"/api/v1/incidents/{incident['id']}/checklist/compliance", headers=admin_headers
    ).json()
    assert listed == api and listed["total"] > 0
    item = next(i for i in listed["items"] if i["check"] is None)  # one people tick

    ticked = _run(
        db_url, "incident", "check", number, str(item["item_id"]), "--as", ana.email, "--json"
    )
    assert ticked.exit_code == 0, ticked.output
    read = json.loads(ticked.stdout)
    assert read["done_by_user_id"] == ana.id and read["done_at"] is not None
    table = _run(db_url, "incident", "checklist", number).output
    row = next(line for line in table.splitlines() if item["title"] in line)
    assert "Ana Lopez" in row and "done by" in table
    shown = _run(db_url, "incident", "show", number).output
    assert "Ana Lopez" in next(line for line in shown.splitlines() if item["title"] in line)

    undone = _run(db_url, "incident", "check", number, str(item["item_id"]), "--undo", "--json")
    assert undone.exit_code == 0, undone.output
    assert json.loads(undone.stdout)["done_at"] is None

    before = row_counts(container)
    unknown = _run(db_url, "incident", "check", number, "999999")
    assert unknown.exit_code == 3
    assert "ITEM_ID: checklist item 999999 not found" in unknown.output
    assert row_counts(container) == before
