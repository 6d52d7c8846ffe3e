"""`escalate incident status|reopen|role|show N` on both engines: the same rules (and the
same 409 wording) as the API."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from incidents_support import declare, make_service, use_service
from typer.testing import CliRunner, Result

from escalate.auth.models import Role
from escalate.bootstrap import Container
from escalate.cli.main import app


def _run(db_url: str, *args: str) -> Result:
    env = {"ESCALATE_DATABASE_URL": db_url, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def test_status_role_and_show_from_the_cli(
    db_url: str,
    client: TestClient,
    container: Container,
    admin_headers: dict[str, str],
    make_user,
    make_account,
) -> None:
    make_user(Role.RESPONDER, name="Ana", email="ana@example.com")
    api = make_service(container, "API")
    use_service(container, make_account("TechCorp"), api)
    number = str(declare(client, admin_headers, service="API")["number"])

    moved = _run(db_url, "incident", "status", number, "investigating", "--note", "on it")
    assert moved.exit_code == 0, moved.output
    assert "investigating" in moved.output
    role = _run(db_url, "incident", "role", number, "commander", "ana@example.com")
    assert role.exit_code == 0, role.output
    assert "Ana is commander" in role.output

    shown = _run(db_url, "incident", "show", number)
    assert shown.exit_code == 0, shown.output
    for expected in ("Ana", "TechCorp", "commander", "Checklist", "investigating"):
        assert expected in shown.output
    as_json = json.loads(_run(db_url, "incident", "show", number, "--json").stdout)
    assert as_json["affected_accounts"][0]["name"] == "TechCorp"
    assert as_json["checklist"]

    assert _run(db_url, "incident", "resolve", number).exit_code == 0
    refused = _run(db_url, "incident", "status", number, "investigating")
    assert refused.exit_code != 0
    assert "resolved -> investigating needs a reopen" in refused.output
    reopened = _run(db_url, "incident", "reopen", number)
    assert reopened.exit_code == 0, reopened.output
    unknown = _run(db_url, "incident", "status", number, "sleeping")
    assert unknown.exit_code != 0
