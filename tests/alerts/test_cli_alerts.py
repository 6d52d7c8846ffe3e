"""`escalate integration ...` and `escalate alert ...`, in-process on both engines."""

from __future__ import annotations

import json

from alerts_support import SAMPLE, load_fixture
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from escalate.cli.main import app


def _run(db_url: str, *args: str) -> Result:
    env = {"ESCALATE_DATABASE_URL": db_url, "COLUMNS": "200"}
    return CliRunner().invoke(app, list(args), env=env)


def test_integration_create_prints_the_key_alone_and_it_works(
    db_url: str, client: TestClient
) -> None:
    assert _run(db_url, "service", "create", "--name", "Production API").exit_code == 0
    result = _run(
        db_url,
        "integration",
        "create",
        "--kind",
        "alertmanager",
        "--name",
        "Prometheus",
        "--service",
        "Production API",
    )
    assert result.exit_code == 0, result.output
    key = result.stdout.strip()
    assert result.stdout == key + "\n" and key.startswith("esc_int_")
    assert "not shown again" in result.stderr

    response = client.post(f"/api/v1/ingest/alertmanager/{key}", json=load_fixture(SAMPLE))
    assert response.status_code == 202, response.text

    alerts = json.loads(_run(db_url, "alert", "list", "--status", "triggered", "--json").stdout)
    assert alerts["total"] == 1
    assert alerts["items"][0]["dedup_key"] == "a4b42526d0022c6e"
    table = _run(db_url, "alert", "list").stdout
    assert "Disk 95% full on db-1" in table

    listed = json.loads(_run(db_url, "integration", "list", "--json").stdout)
    [integration] = listed["items"]
    assert integration["name"] == "Prometheus" and integration["default_service_id"]
    assert key not in _run(db_url, "integration", "list").stdout

    rotated = _run(db_url, "integration", "rotate-key", str(integration["id"]))
    assert rotated.exit_code == 0
    new_key = rotated.stdout.strip()
    assert new_key != key and rotated.stdout == new_key + "\n"
    assert client.post(f"/api/v1/ingest/alertmanager/{key}", json={}).status_code == 401


def test_integration_create_names_what_is_wrong(db_url: str) -> None:
    unknown_service = _run(
        db_url, "integration", "create", "--kind", "generic", "--name", "X", "--service", "Nope"
    )
    assert unknown_service.exit_code == 3
    assert "--service" in unknown_service.stderr and unknown_service.stdout == ""
    bad_kind = _run(db_url, "integration", "create", "--kind", "pigeon", "--name", "X")
    assert bad_kind.exit_code == 2
    assert _run(db_url, "integration", "create", "--kind", "email", "--name", "X").exit_code == 0
    duplicate = _run(db_url, "integration", "create", "--kind", "email", "--name", "x")
    assert duplicate.exit_code == 1 and "--name" in duplicate.stderr
    assert _run(db_url, "integration", "rotate-key", "999").exit_code == 3
