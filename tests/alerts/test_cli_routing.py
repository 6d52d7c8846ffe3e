"""`escalate routing ...`, `escalate silence ...` and `escalate incident ...`, in-process on
both engines, against what the HTTP ingestion then does."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from escalate.cli.main import app


def _run(db_url: str, *args: str) -> Result:
    env = {"ESCALATE_DATABASE_URL": db_url, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def _trigger(client: TestClient, key: str, dedup_key: str, component: str) -> None:
    event = {
        "routing_key": key,
        "event_action": "trigger",
        "dedup_key": dedup_key,
        "payload": {
            "summary": "Primary database failover failed",
            "source": "db-1",
            "severity": "critical",
            "component": component,
        },
    }
    assert client.post("/v2/enqueue", json=event).status_code == 202


def test_a_rule_added_from_the_cli_routes_what_the_tester_and_ingestion_see(
    db_url: str, client: TestClient
) -> None:
    assert _run(db_url, "service", "create", "--name", "Production API").exit_code == 0
    key = _run(db_url, "integration", "create", "--kind", "events_v2", "--name", "PD").stdout
    key = key.strip()

    before = _run(db_url, "routing", "test", "PD", "--label", "component=database")
    assert before.exit_code == 1  # unrouted: the exit code says so to scripts
    assert "catch-all" in before.stdout

    added = _run(
        db_url,
        "routing",
        "add",
        "PD",
        "--name",
        "Database",
        "--match",
        'component=~"database|db"',
        "--service",
        "Production API",
        "--policy",
        "Database on-call",
        "--severity",
        "SEV1",
    )
    assert added.exit_code == 0, added.output
    rule_id = int(added.stdout)

    tested = _run(db_url, "routing", "test", "PD", "--label", "component=database", "--json")
    assert tested.exit_code == 0, tested.output
    answer = json.loads(tested.stdout)
    assert (answer["rule"]["id"], answer["service"]["name"]) == (rule_id, "Production API")

    _trigger(client, key, "failover", "database")
    incidents = json.loads(_run(db_url, "incident", "list", "--json").stdout)
    [incident] = incidents["items"]
    assert (incident["number"], incident["severity"]) == (1, "SEV1")
    assert incident["escalation_policy"] == "Database on-call"

    listed = json.loads(_run(db_url, "routing", "list", "PD", "--json").stdout)
    assert [r["name"] for r in listed["items"]] == ["Database", "Catch-all"]
    catch_all = listed["items"][-1]["id"]
    refused = _run(db_url, "routing", "delete", str(catch_all))
    assert refused.exit_code != 0 and "cannot be deleted" in refused.stderr
    assert _run(db_url, "routing", "delete", str(rule_id)).exit_code == 0


def test_silences_from_the_cli_are_listed_and_expire(db_url: str, client: TestClient) -> None:
    # The HTTP side runs on the tests' frozen clock, the CLI on the real one: the silence
    # that meets ingestion is made over HTTP, the CLI's own are about the real now.
    key = _run(db_url, "integration", "create", "--kind", "events_v2", "--name", "PD").stdout
    past = _run(
        db_url, "silence", "create", "--comment", "x", "--match", "a=b", "--ends", "2020-01-01"
    )
    assert past.exit_code == 1 and "in the past" in past.stderr and "--ends" in past.stderr
    _trigger(client, key.strip(), "other", "web")
    assert json.loads(_run(db_url, "incident", "list", "--json").stdout)["total"] == 1

    current = _run(
        db_url, "silence", "create", "--comment", "noise", "--match", "a=b", "--for", "2h"
    )
    assert current.exit_code == 0, current.output
    silence_id = current.stdout.strip()
    active = json.loads(_run(db_url, "silence", "list", "--state", "active", "--json").stdout)
    assert [str(s["id"]) for s in active["items"]] == [silence_id]
    assert _run(db_url, "silence", "expire", silence_id).exit_code == 0
    expired = json.loads(_run(db_url, "silence", "list", "--state", "expired", "--json").stdout)
    assert [str(s["id"]) for s in expired["items"]] == [silence_id]
    table = _run(db_url, "silence", "list").stdout
    assert "noise" in table and "expired" in table
    bad = _run(db_url, "silence", "create", "--comment", "x", "--match", "component", "--for", "1h")
    assert bad.exit_code == 1 and "--match" in bad.stderr
    neither = _run(db_url, "silence", "create", "--comment", "x", "--match", "a=b")
    assert neither.exit_code == 1 and "--for" in neither.stderr
