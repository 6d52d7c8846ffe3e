"""`escalate demo load`, the `--help` of every command, and the exit-code table."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import pytest
import typer
from cli_support import RunCli
from sqlalchemy import func, select
from typer.testing import CliRunner, Result

from escalate import errors, models
from escalate.accounts import service as account_service
from escalate.bootstrap import Container
from escalate.cli.main import app
from escalate.cli.runtime import ExitCode, exit_code_for
from escalate.cli.server import default_base_url, demo_hint, public_host
from escalate.demo import data
from escalate.demo.loader import shift_to_yesterday


def _counts(container: Container) -> dict[str, int]:
    with container.session_factory() as session:
        return {
            table.name: session.scalar(select(func.count()).select_from(table)) or 0
            for table in models.Base.metadata.sorted_tables
        }


def _load_demo(run_cli: RunCli, container: Container, *args: str) -> Result:
    """`escalate demo load ARGS`, consenting to a PostgreSQL test database."""
    consent = () if container.settings.is_sqlite else ("--allow-shared-database",)
    return run_cli("demo", "load", *consent, *args)


def test_demo_load_twice(run_cli: RunCli, container: Container) -> None:
    first = _load_demo(run_cli, container)
    assert first.exit_code == 0, first.output
    assert "admin@escalate.example" in first.stdout and "escalate-demo" in first.stdout
    # Only the server knows its address; the default base URL would be a guess.
    assert "http" not in first.stdout and "serve --demo-hint" in first.stdout
    counts = _counts(container)
    assert counts["accounts"] == 1 and counts["users"] == 11

    second = _load_demo(run_cli, container)
    assert second.exit_code == 0, second.output
    assert "already loaded" in second.stderr
    assert _counts(container) == counts


def test_demo_load_shifted_to_yesterday(run_cli: RunCli, container: Container) -> None:
    before = datetime.now(UTC)
    result = _load_demo(run_cli, container, "--shift-to-yesterday")
    after = datetime.now(UTC)
    assert result.exit_code == 0, result.output
    assert "story moved by" in result.stdout
    # Either side of midnight in New York, the shift is one of these two.
    expected = {shift_to_yesterday(before), shift_to_yesterday(after)}
    with container.session_factory() as session:
        account = account_service.get_by_name(session, name="TechCorp Solutions")
        assert account is not None
        assert account.created_at - data.SETUP_AT in expected
        latest = max(h.changed_at for h in account.health_changes)
        assert latest - data.REVIEW_MEETING_END in expected

    refused = _load_demo(run_cli, container)  # the unshifted story clashes with the shifted one
    assert refused.exit_code == 1
    assert "error: shift:" in refused.stderr


def test_demo_load_needs_consent_outside_sqlite(run_cli: RunCli, container: Container) -> None:
    plain = run_cli("demo", "load")
    if container.settings.is_sqlite:
        assert plain.exit_code == 0, plain.output  # `make run` relies on this
        return
    assert plain.exit_code == 1
    assert "refusing to load the demo" in plain.stderr
    assert "'escalate-demo'" in plain.stderr and "--allow-shared-database" in plain.stderr
    assert plain.stdout == ""
    assert _counts(container)["users"] == 0

    allowed = run_cli("demo", "load", "--allow-shared-database")
    assert allowed.exit_code == 0, allowed.output
    assert _counts(container)["users"] == len(data.STAFF)


def test_demo_load_refuses_before_touching_the_database() -> None:
    # Nothing listens on port 1: the refusal (1), not a connection error (5), answers.
    url = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
    result = CliRunner().invoke(app, ["demo", "load"], env={"ESCALATE_DATABASE_URL": url})
    assert result.exit_code == 1, result.output
    assert "--allow-shared-database" in result.stderr


def test_serve_demo_hint_lists_the_demo_logins(run_cli: RunCli, container: Container) -> None:
    # The hint itself, without starting a server.
    _load_demo(run_cli, container)
    hint = demo_hint(container, f"http://{public_host('0.0.0.0')}:8000").plain
    assert "http://127.0.0.1:8000" in hint
    for member in data.STAFF:
        assert member.email in hint
    assert "escalate-demo" in hint
    assert "not loaded" not in hint


def _commands(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += _commands(sub, (*path, name))
    return found


ALL_COMMANDS = _commands(typer.main.get_command(app))


def test_every_expected_command_exists() -> None:
    expected = {
        ("serve",), ("worker",), ("db", "upgrade"), ("db", "status"),
        ("user", "create"), ("user", "list"), ("user", "set-password"),
        ("token", "create"), ("token", "list"), ("token", "revoke"),
        ("account", "list"), ("account", "show"), ("account", "create"), ("account", "health"),
        ("contact", "add"), ("contact", "list"), ("contract", "add"), ("contract", "list"),
        ("service", "create"), ("service", "list"), ("service", "use"),
        ("sla", "list"), ("sla", "show"), ("demo", "load"),
    }  # fmt: skip
    assert expected <= set(ALL_COMMANDS)


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "escalate")
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.startswith("escalate ")


def test_exit_codes() -> None:
    assert exit_code_for(errors.NotFound("x")) == ExitCode.NOT_FOUND == 3
    assert exit_code_for(errors.SchemaOutOfDate("x")) == ExitCode.SCHEMA == 4
    for error in (
        errors.Conflict("x"),
        errors.ValidationFailed("x"),
        errors.InvalidTransition("x"),
        errors.PermissionDenied("x"),
    ):
        assert exit_code_for(error) == ExitCode.INVALID == 1


def test_unknown_command_is_a_usage_error() -> None:
    assert CliRunner().invoke(app, ["frobnicate"]).exit_code == 2


def test_serve_points_links_at_where_it_listens_unless_told(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ESCALATE_BASE_URL", raising=False)
    default_base_url(None, 8931)
    assert os.environ["ESCALATE_BASE_URL"] == "http://127.0.0.1:8931"
    monkeypatch.setenv("ESCALATE_BASE_URL", "https://status.example.com")
    default_base_url("0.0.0.0", 8931)
    assert os.environ["ESCALATE_BASE_URL"] == "https://status.example.com"
