"""`escalate contact-method` and `escalate notification-rule`, in-process on both engines,
and `escalate worker --once` delivering a test notification to a real SMTP server."""

from __future__ import annotations

import json

import pytest
from notify_support import SmtpInbox
from typer.testing import CliRunner, Result

from escalate.auth.models import Role
from escalate.cli.main import app


@pytest.fixture
def run_cli(db_url: str, smtp_inbox: tuple[int, SmtpInbox]):
    runner = CliRunner()
    env = {
        "ESCALATE_DATABASE_URL": db_url,
        "COLUMNS": "200",
        "ESCALATE_SMTP_HOST": "127.0.0.1",
        "ESCALATE_SMTP_PORT": str(smtp_inbox[0]),
    }

    def run(*args: str) -> Result:
        return runner.invoke(app, list(args), env=env)

    return run


def test_methods_and_rules_from_the_command_line(run_cli, make_user, inbox: SmtpInbox) -> None:
    user = make_user(Role.RESPONDER, email="ana@escalate.example")
    added = run_cli(
        "contact-method",
        "add",
        "--user",
        user.email,
        "--channel",
        "email",
        "--address",
        "ana.pager@escalate.example",
    )
    assert added.exit_code == 0, added.output
    hook = run_cli(
        "contact-method",
        "add",
        "--user",
        user.email,
        "--channel",
        "webhook",
        "--address",
        "https://hooks.escalate.example/in",
    )
    assert hook.exit_code == 0, hook.output
    assert "whsec_" in hook.stdout  # the generated secret, printed once

    listed = json.loads(run_cli("contact-method", "list", "--user", user.email, "--json").stdout)
    email_id = listed["items"][0]["id"]
    assert [m["channel"] for m in listed["items"]] == ["email", "webhook"]
    assert all("secret" not in m for m in listed["items"])

    rule = run_cli(
        "notification-rule",
        "add",
        "--user",
        user.email,
        "--method",
        str(email_id),
        "--delay-minutes",
        "0",
    )
    assert rule.exit_code == 0, rule.output
    rules = json.loads(run_cli("notification-rule", "list", "--user", user.email, "--json").stdout)
    assert rules["items"][0]["contact_method_id"] == email_id

    queued = run_cli("contact-method", "test", "--user", user.email, str(email_id))
    assert queued.exit_code == 0, queued.output
    worked = run_cli("worker", "--once")
    assert worked.exit_code == 0, worked.output
    assert "1 due notification" in worked.stdout
    [mail] = inbox.messages
    assert mail["To"] == "ana.pager@escalate.example"
    assert mail["Subject"] == "[Escalate] Test notification"


def test_bad_input_exits_1_naming_the_field(run_cli, make_user) -> None:
    user = make_user(Role.RESPONDER)
    bad = run_cli(
        "contact-method", "add", "--user", user.email, "--channel", "sms", "--address", "12345"
    )
    assert bad.exit_code == 1
    assert "address" in bad.output and "E.164" in bad.output
    negative = run_cli(
        "notification-rule", "add", "--user", user.email, "--method", "1", "--delay-minutes", "-1"
    )
    assert negative.exit_code == 1 and "delay" in negative.output
    nobody = run_cli("contact-method", "list", "--user", "nobody@escalate.example")
    assert nobody.exit_code == 3
