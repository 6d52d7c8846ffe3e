"""`escalate user ...` and `escalate token ...` on both engines."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable

import pytest
from cli_support import RunCli, escalate_binary, subprocess_env
from sqlalchemy import func, select

from escalate.auth import service as auth_service
from escalate.auth.models import ApiToken, Role, User
from escalate.bootstrap import Container
from escalate.cli import users as users_cli

TOKEN = re.compile(r"^esc_[A-Za-z0-9_-]{40,}$")


def _user(container: Container, email: str) -> User | None:
    with container.session_factory() as session:
        return auth_service.get_by_email(session, email=email)


def _can_log_in(container: Container, email: str, password: str) -> bool:
    with container.session_factory() as session:
        try:
            auth_service.authenticate_password(session, email=email, password=password)
        except Exception:
            return False
        return True


# --- user create -----------------------------------------------------------------------


def test_user_create_with_password(run_cli: RunCli, container: Container) -> None:
    result = run_cli(
        "user", "create", "--email", "Alex.Johnson@escalate.example", "--name", "Alex Johnson",
        "--role", "manager", "--title", "Customer Success Manager", "--password", "s3cret-pass",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Created user alex.johnson@escalate.example" in result.stdout
    user = _user(container, "alex.johnson@escalate.example")
    assert user is not None
    assert (user.name, user.role, user.title) == (
        "Alex Johnson",
        Role.MANAGER,
        "Customer Success Manager",
    )
    assert _can_log_in(container, "alex.johnson@escalate.example", "s3cret-pass")


def test_user_create_prompts_for_the_password_on_a_terminal(
    run_cli: RunCli, container: Container, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(users_cli, "stdin_is_tty", lambda: True)
    result = run_cli(
        "user", "create", "--email", "maria@escalate.example", "--name", "Maria Sanchez",
        "--role", "manager", input="prompted-pass\nprompted-pass\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "prompted-pass" not in result.stdout  # hidden input is not echoed
    assert _can_log_in(container, "maria@escalate.example", "prompted-pass")


def test_user_create_without_a_terminal_creates_no_password_and_says_so(
    run_cli: RunCli, container: Container
) -> None:
    result = run_cli(
        "user", "create", "--email", "james@escalate.example", "--name", "James Wilson",
        "--role", "responder",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "No password set" in result.stderr
    user = _user(container, "james@escalate.example")
    assert user is not None and user.password_hash is None


def test_user_create_duplicate_email_names_the_field(
    run_cli: RunCli, make_user: Callable[..., User]
) -> None:
    make_user(email="rachel@escalate.example")
    result = run_cli(
        "user", "create", "--email", "RACHEL@escalate.example", "--name", "R", "--role", "viewer",
        "--password", "long-enough",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "--email" in result.stderr and "already exists" in result.stderr


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["--email", "not-an-email", "--password", "long-enough"], "--email"),
        (["--email", "ok@escalate.example", "--password", "short"], "--password"),
    ],
)
def test_user_create_invalid_input(run_cli: RunCli, args: list[str], field: str) -> None:
    result = run_cli("user", "create", "--name", "N", "--role", "viewer", *args)
    assert result.exit_code == 1
    assert f"error: {field}:" in result.stderr


def test_user_create_unknown_role_is_a_usage_error(run_cli: RunCli) -> None:
    result = run_cli("user", "create", "--email", "a@b.example", "--name", "N", "--role", "boss")
    assert result.exit_code == 2
    assert "--role" in result.stderr


# --- user list / set-password ----------------------------------------------------------


def test_user_list_json_has_the_api_shape(run_cli: RunCli, make_user: Callable[..., User]) -> None:
    make_user(Role.VIEWER, email="b@escalate.example", name="Bea")
    make_user(Role.ADMIN, email="a@escalate.example", name="Abe")
    result = run_cli("user", "list", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["total"] == 2
    assert [u["name"] for u in body["items"]] == ["Abe", "Bea"]
    assert set(body["items"][0]) == {
        "id", "email", "name", "role", "title", "is_active", "created_at",
    }  # fmt: skip
    assert body["items"][1]["role"] == "viewer"


def test_user_list_table(run_cli: RunCli, make_user: Callable[..., User]) -> None:
    make_user(email="abe@escalate.example", name="Abe")
    result = run_cli("user", "list")
    assert result.exit_code == 0
    assert "abe@escalate.example" in result.stdout and "Abe" in result.stdout


def test_set_password_prompts_on_a_terminal(
    run_cli: RunCli,
    container: Container,
    make_user: Callable[..., User],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    make_user(email="p@escalate.example")
    monkeypatch.setattr(users_cli, "stdin_is_tty", lambda: True)
    typed = "new-password\nnew-password\n"
    result = run_cli("user", "set-password", "--email", "p@escalate.example", input=typed)
    assert result.exit_code == 0, result.output
    assert _can_log_in(container, "p@escalate.example", "new-password")


def test_set_password_reads_stdin_without_a_terminal(
    run_cli: RunCli, container: Container, make_user: Callable[..., User]
) -> None:
    make_user(email="p@escalate.example")
    result = run_cli("user", "set-password", "--email", "p@escalate.example", input="piped-pass\n")
    assert result.exit_code == 0, result.output
    assert _can_log_in(container, "p@escalate.example", "piped-pass")


def test_set_password_unknown_user_is_not_found(run_cli: RunCli) -> None:
    result = run_cli("user", "set-password", "--email", "nobody@escalate.example", input="x" * 9)
    assert result.exit_code == 3
    assert "error: --email: no user with email nobody@escalate.example" in result.stderr


def test_set_password_too_short(run_cli: RunCli, make_user: Callable[..., User]) -> None:
    make_user(email="p@escalate.example")
    result = run_cli("user", "set-password", "--email", "p@escalate.example", "--password", "short")
    assert result.exit_code == 1
    assert "--password" in result.stderr and "8 characters" in result.stderr


# --- tokens ------------------------------------------------------------------------------


def test_token_create_prints_only_the_token(
    run_cli: RunCli, container: Container, make_user: Callable[..., User]
) -> None:
    user = make_user(Role.RESPONDER, email="ci@escalate.example")
    result = run_cli("token", "create", "--email", "ci@escalate.example", "--name", "grafana")
    assert result.exit_code == 0, result.output
    secret = result.stdout.rstrip("\n")
    assert TOKEN.match(secret), result.stdout
    assert result.stdout == secret + "\n"
    assert "grafana" in result.stderr  # the note goes to stderr
    with container.session_factory() as session:
        session.info["clock"] = container.clock
        token = auth_service.authenticate_token(session, secret=secret)
        assert token.user_id == user.id


def test_token_create_binary_stdout_is_the_token_alone(
    db_url: str, make_user: Callable[..., User]
) -> None:
    make_user(email="ci@escalate.example")
    done = subprocess.run(
        [escalate_binary(), "token", "create", "--email", "ci@escalate.example", "--name", "ci"],
        env=subprocess_env(db_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1 and TOKEN.match(lines[0]), done.stdout
    assert "not shown again" in done.stderr


def test_token_create_for_unknown_user(run_cli: RunCli) -> None:
    result = run_cli("token", "create", "--email", "ghost@escalate.example", "--name", "x")
    assert result.exit_code == 3
    assert result.stdout == ""
    assert "error: --email:" in result.stderr


def test_token_list_and_revoke(
    run_cli: RunCli, container: Container, make_user: Callable[..., User]
) -> None:
    make_user(email="ci@escalate.example")
    secret = run_cli("token", "create", "--email", "ci@escalate.example", "--name", "one").stdout
    listed = run_cli("token", "list", "--email", "ci@escalate.example", "--json")
    assert listed.exit_code == 0
    body = json.loads(listed.stdout)
    assert body["total"] == 1
    token = body["items"][0]
    assert token["name"] == "one" and token["revoked_at"] is None
    assert secret.startswith(token["prefix"])
    assert "token" not in token and "token_hash" not in token

    revoked = run_cli("token", "revoke", str(token["id"]))
    assert revoked.exit_code == 0, revoked.output
    assert f"Token {token['id']} (one) revoked" in revoked.stdout
    with container.session_factory() as session:
        row = session.get(ApiToken, token["id"])
        assert row is not None and row.revoked_at is not None

    table = run_cli("token", "list", "--email", "ci@escalate.example")
    assert table.exit_code == 0 and "one" in table.stdout


def test_token_list_pages_report_the_real_total(
    run_cli: RunCli, make_user: Callable[..., User]
) -> None:
    make_user(email="ci@escalate.example")
    for name in ("one", "two", "three"):
        run_cli("token", "create", "--email", "ci@escalate.example", "--name", name)
    args = ("token", "list", "--email", "ci@escalate.example")
    body = json.loads(run_cli(*args, "--json", "--limit", "2", "--offset", "1").stdout)
    assert body["total"] == 3
    assert [t["name"] for t in body["items"]] == ["two", "one"]  # newest first
    table = run_cli(*args, "--limit", "2")
    assert "1-2 of 3; use --offset/--limit for more" in table.stdout


def test_token_revoke_unknown_id(run_cli: RunCli, container: Container) -> None:
    result = run_cli("token", "revoke", "999")
    assert result.exit_code == 3
    assert "error: TOKEN_ID: token 999 not found" in result.stderr
    with container.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ApiToken)) == 0


def test_token_revoke_needs_a_number(run_cli: RunCli) -> None:
    result = run_cli("token", "revoke", "abc")
    assert result.exit_code == 2
