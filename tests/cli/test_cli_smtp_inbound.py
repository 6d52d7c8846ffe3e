"""`escalate smtp-inbound`, and `escalate serve` with ESCALATE_SMTP_INBOUND_PORT: real
processes receiving real mail over loopback, stopped by a signal."""

from __future__ import annotations

import json
import signal
import smtplib
import socket
import subprocess
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from cli_support import escalate_binary, free_port, subprocess_env
from typer.testing import CliRunner

from escalate.cli.main import app


def _cli(db_url: str, *args: str) -> str:
    result = CliRunner().invoke(app, list(args), env={"ESCALATE_DATABASE_URL": db_url})
    assert result.exit_code == 0, result.output
    return result.stdout


def _mail(subject: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "cron@batch.example.com"
    message["To"] = "alerts@example.com"
    message["Subject"] = subject
    message.set_content("exit status 1")
    return message


def _wait_for_line(process: subprocess.Popen[str], needle: str, timeout: float = 30.0) -> str:
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    seen = ""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen += line
        if needle in line:
            return seen
        if not line and process.poll() is not None:
            break
    raise AssertionError(f"{needle!r} not seen in: {seen}")


@pytest.fixture
def start() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes started by a test, killed at the end if still running."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_smtp_inbound_receives_mail_and_stops_on_sigterm(db_url: str, start) -> None:
    key = _cli(db_url, "integration", "create", "--kind", "email", "--name", "Cron").strip()
    port = free_port()
    process = subprocess.Popen(
        [escalate_binary(), "smtp-inbound", "--port", str(port), "--domain", "Alerts.Example.com"],
        env=subprocess_env(db_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    start.append(process)
    _wait_for_line(process, f"<integration-key>@alerts.example.com on 127.0.0.1:{port}")
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        assert (
            client.send_message(
                _mail("[warning] Nightly export failed"), to_addrs=[f"{key}@alerts.example.com"]
            )
            == {}
        )
    alerts = json.loads(_cli(db_url, "alert", "list", "--json"))
    assert [(a["summary"], a["severity"]) for a in alerts["items"]] == [
        ("[warning] Nightly export failed", "warning")
    ]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=20) == 0
    assert "stopped" in (process.stderr.read() if process.stderr else "")


def test_smtp_inbound_names_a_port_it_cannot_take(db_url: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            app, ["smtp-inbound", "--port", str(port)], env={"ESCALATE_DATABASE_URL": db_url}
        )
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


def test_serve_also_receives_mail_when_the_port_is_set(db_url: str, start) -> None:
    key = _cli(db_url, "integration", "create", "--kind", "email", "--name", "Cron").strip()
    smtp_port = free_port()
    process = subprocess.Popen(
        [escalate_binary(), "serve", "--host", "127.0.0.1", "--port", str(free_port())],
        env=subprocess_env(
            db_url,
            ESCALATE_RUN_WORKER_IN_PROCESS="false",
            ESCALATE_SECRET_KEY="test-secret-key",
            ESCALATE_SMTP_INBOUND_PORT=str(smtp_port),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    start.append(process)
    _wait_for_line(process, f"any domain on 127.0.0.1:{smtp_port}")
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=10) as client:
        client.send_message(_mail("Nightly export failed"), to_addrs=[f"{key}@anything.example"])
    alerts = json.loads(_cli(db_url, "alert", "list", "--json"))
    assert alerts["total"] == 1
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0
