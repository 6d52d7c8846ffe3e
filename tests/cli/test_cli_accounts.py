"""`escalate account|contact|contract|service|sla ...` on both engines."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import pytest
from cli_support import RunCli

from escalate.accounts import service as account_service
from escalate.accounts.models import Health
from escalate.auth.models import User
from escalate.bootstrap import Container


@pytest.fixture
def techcorp(run_cli: RunCli) -> str:
    result = run_cli(
        "account", "create", "--name", "TechCorp Solutions", "--tier", "enterprise",
        "--timezone", "America/New_York",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    return "TechCorp Solutions"


# --- account -----------------------------------------------------------------------------


def test_account_create_with_csm(
    run_cli: RunCli, container: Container, make_user: Callable[..., User]
) -> None:
    csm = make_user(email="alex@escalate.example", name="Alex Johnson")
    result = run_cli(
        "account", "create", "--name", "TechCorp Solutions", "--tier", "enterprise",
        "--timezone", "America/New_York", "--csm-email", "alex@escalate.example",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Created account TechCorp Solutions" in result.stdout
    with container.session_factory() as session:
        account = account_service.get_by_name(session, name="TechCorp Solutions")
        assert account is not None
        assert (account.tier, account.timezone, account.csm_user_id) == (
            "enterprise",
            "America/New_York",
            csm.id,
        )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--timezone", "Mars/Base"], 1, "error: --timezone: unknown IANA time zone"),
        (
            ["--timezone", "UTC", "--csm-email", "ghost@escalate.example"],
            3,
            "error: --csm-email: no user with email ghost@escalate.example",
        ),
    ],
)
def test_account_create_errors(run_cli: RunCli, args: list[str], code: int, message: str) -> None:
    result = run_cli("account", "create", "--name", "Acme", "--tier", "business", *args)
    assert result.exit_code == code
    assert message in result.stderr


def test_account_create_duplicate_name(run_cli: RunCli, techcorp: str) -> None:
    result = run_cli(
        "account", "create", "--name", "techcorp solutions", "--tier", "business",
        "--timezone", "UTC",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "error: --name: an account named" in result.stderr


def test_account_list_filters_and_json(run_cli: RunCli, techcorp: str) -> None:
    run_cli("account", "create", "--name", "Acme", "--tier", "business", "--timezone", "UTC")
    everything = json.loads(run_cli("account", "list", "--json").stdout)
    assert everything["total"] == 2
    assert [a["name"] for a in everything["items"]] == ["Acme", "TechCorp Solutions"]
    assert set(everything["items"][0]) == {
        "id", "name", "tier", "health", "timezone", "csm", "current_contract",
    }  # fmt: skip
    assert everything["items"][0]["current_contract"] is None

    enterprise = json.loads(run_cli("account", "list", "--tier", "enterprise", "--json").stdout)
    assert [a["name"] for a in enterprise["items"]] == ["TechCorp Solutions"]
    critical = json.loads(run_cli("account", "list", "--health", "critical", "--json").stdout)
    assert critical == {"items": [], "total": 0}

    table = run_cli("account", "list")
    assert table.exit_code == 0
    assert "TechCorp Solutions" in table.stdout and "Acme" in table.stdout


def test_account_health_records_the_change(
    run_cli: RunCli, container: Container, techcorp: str
) -> None:
    result = run_cli(
        "account", "health", techcorp, "--set", "critical", "--reason", "6-hour outage"
    )
    assert result.exit_code == 0, result.output
    assert "health neutral -> critical" in result.stdout
    with container.session_factory() as session:
        account = account_service.get_by_name(session, name=techcorp)
        assert account is not None and account.health == Health.CRITICAL
        assert account.health_changes[0].reason == "6-hour outage"


def test_account_health_errors(run_cli: RunCli, techcorp: str) -> None:
    missing = run_cli("account", "health", "Nope", "--set", "critical", "--reason", "x")
    assert missing.exit_code == 3
    assert "error: NAME: no account named 'Nope'" in missing.stderr
    blank = run_cli("account", "health", techcorp, "--set", "critical", "--reason", "  ")
    assert blank.exit_code == 1
    assert "error: --reason:" in blank.stderr
    unknown = run_cli("account", "health", techcorp, "--set", "grumpy", "--reason", "x")
    assert unknown.exit_code == 2


def test_account_show_everything(
    run_cli: RunCli, techcorp: str, make_sla_policy: Callable[..., int]
) -> None:
    make_sla_policy("Enterprise")
    run_cli("service", "create", "--name", "Production API")
    run_cli("service", "use", "--account", techcorp, "--service", "Production API")
    run_cli(
        "contact", "add", "--account", techcorp, "--name", "Sarah Mitchell",
        "--email", "sarah@techcorp.example", "--notify",
    )  # fmt: skip
    run_cli(
        "contract", "add", "--account", techcorp, "--sla-policy", "Enterprise",
        "--start", "2025-01-01", "--end", "2025-12-31", "--fee", "5000.00",
    )  # fmt: skip

    shown = run_cli("account", "show", techcorp, "--json")
    assert shown.exit_code == 0, shown.output
    body = json.loads(shown.stdout)
    assert body["name"] == techcorp
    assert [c["name"] for c in body["contacts"]] == ["Sarah Mitchell"]
    assert body["services"][0]["service"]["name"] == "Production API"
    assert body["services"][0]["environment"] == "production"
    assert Decimal(body["contracts"][0]["monthly_fee"]) == Decimal("5000.00")
    assert body["contracts"][0]["sla_policy_name"] == "Enterprise"
    assert [h["to_health"] for h in body["health_history"]] == ["neutral"]

    by_id = json.loads(run_cli("account", "show", str(body["id"]), "--json").stdout)
    assert by_id == body

    table = run_cli("account", "show", techcorp)
    assert table.exit_code == 0
    for text in ("Sarah Mitchell", "Production API", "5,000.00 USD", "account created"):
        assert text in table.stdout


def test_account_show_unknown(run_cli: RunCli) -> None:
    result = run_cli("account", "show", "Nope")
    assert result.exit_code == 3
    assert "error: NAME_OR_ID: no account named 'Nope'" in result.stderr
    by_id = run_cli("account", "show", "4242")
    assert by_id.exit_code == 3
    assert "NAME_OR_ID" in by_id.stderr


# --- contact -----------------------------------------------------------------------------


def test_contact_add_and_list(run_cli: RunCli, techcorp: str) -> None:
    added = run_cli(
        "contact", "add", "--account", techcorp, "--name", "Customer's Representative",
        "--role", "Customer Advocate",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "Added contact Customer's Representative" in added.stdout
    listed = json.loads(run_cli("contact", "list", "--account", techcorp, "--json").stdout)
    assert listed["total"] == 1
    assert listed["items"][0] == {
        "id": listed["items"][0]["id"],
        "account_id": listed["items"][0]["account_id"],
        "name": "Customer's Representative",
        "email": None,
        "phone": None,
        "role": "Customer Advocate",
        "receives_incident_notifications": False,
    }
    table = run_cli("contact", "list", "--account", techcorp)
    assert "Customer Advocate" in table.stdout


def test_contact_list_pages_report_the_real_total(run_cli: RunCli, techcorp: str) -> None:
    for name in ("Ann", "Bob", "Cy"):
        run_cli("contact", "add", "--account", techcorp, "--name", name)
    args = ("contact", "list", "--account", techcorp)
    body = json.loads(run_cli(*args, "--json", "--limit", "1", "--offset", "1").stdout)
    assert body["total"] == 3
    assert [c["name"] for c in body["items"]] == ["Bob"]
    table = run_cli(*args, "--limit", "2")
    assert "1-2 of 3; use --offset/--limit for more" in table.stdout


def test_contact_notified_without_email_names_the_field(run_cli: RunCli, techcorp: str) -> None:
    result = run_cli("contact", "add", "--account", techcorp, "--name", "Bob", "--notify")
    assert result.exit_code == 1
    assert "error: --email:" in result.stderr


def test_contact_unknown_account(run_cli: RunCli) -> None:
    result = run_cli("contact", "list", "--account", "Nope")
    assert result.exit_code == 3
    assert "error: --account: no account named 'Nope'" in result.stderr


# --- contract ----------------------------------------------------------------------------


def test_contract_add_and_list(
    run_cli: RunCli, techcorp: str, make_sla_policy: Callable[..., int]
) -> None:
    make_sla_policy("Enterprise")
    added = run_cli(
        "contract", "add", "--account", techcorp, "--sla-policy", "Enterprise",
        "--start", "2025-01-01", "--end", "2025-12-31", "--renewal", "2026-01-01",
        "--fee", "5000", "--currency", "USD",
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    assert "5,000.00 USD a month" in added.stdout
    listed = json.loads(run_cli("contract", "list", "--account", techcorp, "--json").stdout)
    assert listed["total"] == 1
    contract = listed["items"][0]
    assert (contract["term_start"], contract["term_end"], contract["renewal_date"]) == (
        "2025-01-01",
        "2025-12-31",
        "2026-01-01",
    )
    assert Decimal(contract["monthly_fee"]) == Decimal("5000.00")
    assert contract["currency"] == "USD"
    table = run_cli("contract", "list", "--account", techcorp)
    assert "Enterprise" in table.stdout and "2026-01-01" in table.stdout


def test_contract_list_totals_every_contract_and_shows_yen_whole(
    run_cli: RunCli, techcorp: str, make_sla_policy: Callable[..., int]
) -> None:
    make_sla_policy("Enterprise")
    for year, fee, currency in (("2024", "5000", "USD"), ("2025", "750000", "JPY")):
        added = run_cli(
            "contract", "add", "--account", techcorp, "--sla-policy", "Enterprise",
            "--start", f"{year}-01-01", "--end", f"{year}-12-31", "--fee", fee,
            "--currency", currency,
        )  # fmt: skip
        assert added.exit_code == 0, added.output
    listed = json.loads(run_cli("contract", "list", "--account", techcorp, "--json").stdout)
    assert listed["total"] == len(listed["items"]) == 2
    table = run_cli("contract", "list", "--account", techcorp).stdout
    assert "5,000.00 USD" in table and "750,000 JPY" in table and "750,000.00" not in table


@pytest.mark.parametrize(
    ("override", "code", "message"),
    [
        ({"--end": "2024-12-31"}, 1, "error: --end: the term ends before it starts"),
        ({"--fee": "lots"}, 1, "error: --fee:"),
        ({"--fee": "-1"}, 1, "error: --fee:"),
        ({"--start": "2025-13-01"}, 1, "error: --start:"),
        ({"--currency": "dollars"}, 1, "error: --currency:"),
        ({"--sla-policy": "Gold"}, 3, "error: --sla-policy: no SLA policy named 'Gold'"),
        ({"--account": "Nope"}, 3, "error: --account: no account named 'Nope'"),
    ],
)
def test_contract_add_errors(
    run_cli: RunCli,
    techcorp: str,
    make_sla_policy: Callable[..., int],
    override: dict[str, str],
    code: int,
    message: str,
) -> None:
    make_sla_policy("Enterprise")
    options = {
        "--account": techcorp,
        "--sla-policy": "Enterprise",
        "--start": "2025-01-01",
        "--end": "2025-12-31",
        "--fee": "5000",
        **override,
    }
    result = run_cli("contract", "add", *[part for pair in options.items() for part in pair])
    assert result.exit_code == code, result.output
    assert message in result.stderr


# --- service -----------------------------------------------------------------------------


def test_service_create_list_and_use(run_cli: RunCli, techcorp: str) -> None:
    created = run_cli("service", "create", "--name", "Production API", "--description", "API")
    assert created.exit_code == 0, created.output
    listed = json.loads(run_cli("service", "list", "--json").stdout)
    assert listed["total"] == 1
    assert listed["items"][0]["name"] == "Production API"
    assert listed["items"][0]["description"] == "API"
    assert "Production API" in run_cli("service", "list").stdout

    used = run_cli(
        "service", "use", "--account", techcorp, "--service", "production api",
        "--environment", "staging",
    )  # fmt: skip
    assert used.exit_code == 0, used.output
    assert "uses Production API in staging" in used.stdout
    again = run_cli(
        "service", "use", "--account", techcorp, "--service", "Production API",
        "--environment", "staging",
    )  # fmt: skip
    assert again.exit_code == 1
    assert "error: --service: TechCorp Solutions already uses" in again.stderr


def test_service_errors(run_cli: RunCli, techcorp: str) -> None:
    run_cli("service", "create", "--name", "Production API")
    duplicate = run_cli("service", "create", "--name", "Production API")
    assert duplicate.exit_code == 1
    assert "error: --name: a service named 'Production API' already exists" in duplicate.stderr
    missing = run_cli("service", "use", "--account", techcorp, "--service", "Nope")
    assert missing.exit_code == 3
    assert "error: --service: no service named 'Nope'" in missing.stderr


# --- sla ---------------------------------------------------------------------------------


def test_sla_list_and_show(run_cli: RunCli, make_sla_policy: Callable[..., int]) -> None:
    make_sla_policy("Enterprise")
    listed = json.loads(run_cli("sla", "list", "--json").stdout)
    assert listed["total"] == 1
    policy = listed["items"][0]
    assert policy["name"] == "Enterprise"
    sev1 = next(t for t in policy["targets"] if t["severity"] == "SEV1")
    assert sev1["acknowledgement_minutes"] == 15
    assert Decimal(policy["uptime_target_percent"]) == Decimal("99.9")

    shown = json.loads(run_cli("sla", "show", "Enterprise", "--json").stdout)
    assert shown == policy

    table = run_cli("sla", "show", "Enterprise")
    assert table.exit_code == 0
    # The same words as the web page (escalate.formatting); uptime keeps a decimal to align.
    for text in ("SEV1", "15 min", "4 h", "168 h", "99.9%", "99.0%", "100%"):
        assert text in table.stdout
    assert "Enterprise" in run_cli("sla", "list").stdout


def test_sla_show_unknown(run_cli: RunCli) -> None:
    result = run_cli("sla", "show", "Gold")
    assert result.exit_code == 3
    assert "error: NAME: no SLA policy named 'Gold'" in result.stderr
