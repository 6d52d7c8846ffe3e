"""`escalate service-group ...`: list, show, create, update, delete; --json prints the API's
shape; a refused command exits non-zero naming the option and writes nothing."""

from __future__ import annotations

import json

from cli_support import RunCli


def test_service_group_commands(run_cli: RunCli) -> None:
    for name in ("Checkout API", "Reports"):
        assert run_cli("service", "create", "--name", name).exit_code == 0
    created = run_cli(
        "service-group", "create", "--name", "Shop", "--slug", "shop",
        "--service", "Reports", "--service", "Checkout API", "--json",
    )  # fmt: skip
    assert created.exit_code == 0, created.output
    group = json.loads(created.stdout)
    assert group["services"] == ["Reports", "Checkout API"] and group["is_public"] is True

    listed = json.loads(run_cli("service-group", "list", "--json").stdout)
    assert listed == {"items": [group], "total": 1}
    table = run_cli("service-group", "list")
    assert "shop" in table.stdout and "Reports, Checkout API" in table.stdout

    updated = run_cli(
        "service-group", "update", "shop", "--name", "Web shop", "--private",
        "--service", "Checkout API", "--json",
    )  # fmt: skip
    assert updated.exit_code == 0, updated.output
    body = json.loads(updated.stdout)
    assert body["name"] == "Web shop" and body["is_public"] is False
    assert body["services"] == ["Checkout API"]
    shown = json.loads(run_cli("service-group", "show", str(group["id"]), "--json").stdout)
    assert shown == body
    assert "Checkout API" in run_cli("service-group", "show", "Web shop").stdout

    cleared = run_cli("service-group", "update", "shop", "--no-services", "--json")
    assert json.loads(cleared.stdout)["services"] == []

    deleted = run_cli("service-group", "delete", "shop")
    assert deleted.exit_code == 0
    assert json.loads(run_cli("service-group", "list", "--json").stdout)["total"] == 0


def test_refusals_exit_with_the_documented_codes(run_cli: RunCli) -> None:
    assert run_cli("service", "create", "--name", "Checkout API").exit_code == 0
    assert run_cli("service-group", "create", "--name", "Shop", "--slug", "shop").exit_code == 0
    taken = run_cli("service-group", "create", "--name", "Other", "--slug", "shop")
    assert taken.exit_code == 1 and "--slug" in taken.stderr
    reserved = run_cli("service-group", "update", "shop", "--slug", "feed")
    assert reserved.exit_code == 1 and "--slug" in reserved.stderr
    unknown = run_cli("service-group", "update", "shop", "--name", "X", "--service", "nope")
    assert unknown.exit_code == 1 and "--service" in unknown.stderr
    missing = run_cli("service-group", "show", "nope")
    assert missing.exit_code == 3
    assert run_cli("service-group", "delete", "nope").exit_code == 3
    after = json.loads(run_cli("service-group", "list", "--json").stdout)
    assert [(g["name"], g["slug"], g["services"]) for g in after["items"]] == [("Shop", "shop", [])]
