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


def test_integration_mapping_set_show_and_preview(
    db_url: str, client: TestClient, tmp_path
) -> None:
    created = _run(db_url, "integration", "create", "--kind", "generic", "--name", "Hooks")
    key = created.stdout.strip()
    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(
        json.dumps({"title": "alert.name", "dedup_key": "$.alert.id", "status": "state"})
    )
    sample_file = tmp_path / "sample.json"
    sample = [{"alert": {"name": "Cache cold", "id": "c-1"}}, {"state": "ok"}]
    sample_file.write_text(json.dumps(sample))

    default = json.loads(_run(db_url, "integration", "mapping", "show", "Hooks").stdout)
    assert (default["customized"], default["mapping"]["title"]) == (
        False,
        ["title", "summary", "message"],
    )
    # Trying the mapping before setting it: event 1 has no title under it.
    tried = _run(
        db_url,
        "integration",
        "mapping",
        "preview",
        "--file",
        str(sample_file),
        "--mapping",
        str(mapping_file),
        "--json",
        "Hooks",
    )
    assert tried.exit_code == 1, tried.output
    preview = json.loads(tried.stdout)
    assert preview["events"][0]["dedup_key"] == "c-1"
    assert preview["errors"] == [{"field": "[1].title", "message": "no title at `alert.name`"}]

    done = _run(db_url, "integration", "mapping", "set", "--file", str(mapping_file), "Hooks")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["mapping"]["dedup_key"] == ["$.alert.id"]
    assert "Mapping of 'Hooks' set" in done.stderr

    sample_file.write_text(json.dumps(sample[0]))
    table = _run(db_url, "integration", "mapping", "preview", "--file", str(sample_file), "Hooks")
    assert table.exit_code == 0, table.output
    assert "Cache cold" in table.stdout and "trigger" in table.stdout
    # The preview wrote nothing; the real send opens the alert it showed.
    assert json.loads(_run(db_url, "alert", "list", "--json").stdout)["total"] == 0
    response = client.post(f"/api/v1/ingest/generic/{key}", json=sample[0])
    assert response.json()["alerts"][0]["dedup_key"] == "c-1"


def test_integration_mapping_commands_name_what_is_wrong(db_url: str, tmp_path) -> None:
    _run(db_url, "integration", "create", "--kind", "generic", "--name", "Hooks")
    _run(db_url, "integration", "create", "--kind", "alertmanager", "--name", "Prom")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"labels": "alerts[0].labels"}))
    refused = _run(db_url, "integration", "mapping", "set", "--file", str(bad), "Hooks")
    assert refused.exit_code == 1
    assert "labels:" in refused.stderr and "JSONPath starts with `$`" in refused.stderr
    broken = tmp_path / "broken.json"
    broken.write_text("{nope")
    not_json = _run(db_url, "integration", "mapping", "set", "--file", str(broken), "Hooks")
    assert not_json.exit_code == 1 and "--file" in not_json.stderr
    as_candidate = _run(
        db_url,
        "integration",
        "mapping",
        "preview",
        "--file",
        str(broken.with_name("missing.json")),
        "Hooks",
    )
    assert as_candidate.exit_code == 2
    fixed = _run(db_url, "integration", "mapping", "show", "Prom")
    assert fixed.exit_code == 1 and "fixed format" in fixed.stderr
    unknown = _run(db_url, "integration", "mapping", "show", "Nope")
    assert unknown.exit_code == 3 and "NAME_OR_ID" in unknown.stderr
    by_id = _run(db_url, "integration", "mapping", "show", "1")
    assert by_id.exit_code == 0 and json.loads(by_id.stdout)["kind"] == "generic"
    bad_candidate = _run(
        db_url,
        "integration",
        "mapping",
        "preview",
        "--file",
        str(bad),
        "--mapping",
        str(bad),
        "Hooks",
    )
    assert bad_candidate.exit_code == 1 and "--mapping labels" in bad_candidate.stderr
