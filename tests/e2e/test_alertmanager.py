"""The real Prometheus Alertmanager delivers to Escalate: Debian's `prometheus-alertmanager`,
started on loopback with a webhook receiver pointing at a live Escalate server, receives a
firing alert on its API, notifies Escalate (the integration key as a bearer token), and
later notifies the resolution. Escalate must hold the alert, then hold it resolved.

Alertmanager runs on real time; the Escalate server runs on the test's FrozenClock, so the
times Escalate records are frozen. Only what Escalate stores is checked, never timings."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from typer.testing import CliRunner

from escalate.auth.models import Role
from escalate.cli.main import app as cli_app

ALERTMANAGER = "/usr/bin/prometheus-alertmanager"
DEADLINE_SECONDS = 30.0

pytestmark = pytest.mark.alertmanager

T = TypeVar("T")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Alertmanager:
    url: str
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _config(escalate_url: str, key: str) -> str:
    # Everything goes to one webhook receiver; short waits so notifications follow within
    # about a second. The key travels as a bearer token (Alertmanager 0.25's http_config).
    return f"""\
global:
  resolve_timeout: 5m
route:
  receiver: escalate
  group_by: [alertname, service]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: escalate
    webhook_configs:
      - url: {escalate_url}/api/v1/ingest/alertmanager
        send_resolved: true
        http_config:
          authorization:
            type: Bearer
            credentials: {key}
"""


@pytest.fixture
def start_alertmanager(tmp_path: Path) -> Iterator[Callable[[str, str], Alertmanager]]:
    """Builder: the real Alertmanager on a free loopback port, notifying Escalate at the
    given base URL with the given integration key. Killed when the test ends."""
    if not os.path.exists(ALERTMANAGER):
        pytest.skip(
            f"Prometheus Alertmanager not found at {ALERTMANAGER}: "
            "apt-get install -y prometheus-alertmanager"
        )
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Any] = []

    def start(escalate_url: str, key: str) -> Alertmanager:
        config = tmp_path / "alertmanager.yml"
        config.write_text(_config(escalate_url, key))
        log_path = tmp_path / "alertmanager.log"
        log = log_path.open("wb")
        logs.append(log)
        port = _free_port()
        process = subprocess.Popen(
            [
                ALERTMANAGER,
                f"--config.file={config}",
                f"--storage.path={tmp_path / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        processes.append(process)
        manager = Alertmanager(url=f"http://127.0.0.1:{port}", log=log_path)
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"Alertmanager exited ({process.returncode}):\n{manager.log_tail()}")
            try:
                if httpx.get(f"{manager.url}/-/ready", timeout=1).status_code == 200:
                    return manager
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"Alertmanager did not become ready:\n{manager.log_tail()}")
            time.sleep(0.1)

    try:
        yield start
    finally:
        for process in processes:
            process.kill()
            process.wait(timeout=10)
        for log in logs:
            log.close()


def _cli(db_url: str, *args: str) -> str:
    """Run `escalate ARGS...` in-process on the test database; returns stdout."""
    result = CliRunner().invoke(
        cli_app, list(args), env={"ESCALATE_DATABASE_URL": db_url, "COLUMNS": "200"}
    )
    assert result.exit_code == 0, (args, result.exit_code, result.output)
    return result.stdout


def _wait_for(
    probe: Callable[[], T | None], what: str, manager: Alertmanager, last: list[Any]
) -> T:
    """Poll `probe` until it returns something, or fail after the deadline saying what was
    last seen and what Alertmanager logged."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            pytest.fail(
                f"timed out waiting for {what}; Escalate last answered {last[-1:]!r}\n"
                f"Alertmanager log:\n{manager.log_tail()}"
            )
        time.sleep(0.2)


def test_alertmanager_fires_and_resolves_an_alert_in_escalate(
    live_server: str,
    db_url: str,
    make_token: Callable[..., dict[str, str]],
    start_alertmanager: Callable[[str, str], Alertmanager],
) -> None:
    _cli(db_url, "service", "create", "--name", "Production API")
    key = _cli(
        db_url,
        "integration",
        "create",
        "--kind",
        "alertmanager",
        "--name",
        "Prometheus",
        "--service",
        "Production API",
    ).strip()
    assert key and len(key.split()) == 1, "the key is printed alone on stdout"
    staff = make_token(Role.RESPONDER)
    manager = start_alertmanager(live_server, key)

    labels = {
        "alertname": "PrimaryDatabaseFailoverFailed",
        "severity": "critical",
        "service": "production-api",
    }
    annotations = {"summary": "Primary database failover failed on production-api"}
    starts_at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=5)
    fired = httpx.post(
        f"{manager.url}/api/v2/alerts",
        json=[{"labels": labels, "annotations": annotations, "startsAt": _rfc3339(starts_at)}],
        timeout=10,
    )
    assert fired.status_code == 200, fired.text

    # Escalate deduplicates Alertmanager alerts by their fingerprint: ask Alertmanager for it.
    listed = httpx.get(f"{manager.url}/api/v2/alerts", timeout=10).json()
    assert len(listed) == 1, listed
    fingerprint = listed[0]["fingerprint"]

    seen: list[Any] = []

    def alert_with(status: str) -> dict[str, Any] | None:
        answer = httpx.get(
            f"{live_server}/api/v1/alerts",
            params={"dedup_key": fingerprint},
            headers=staff,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        seen.append(body)
        assert body["total"] <= 1, body
        items = [item for item in body["items"] if item["status"] == status]
        return items[0] if items else None

    triggered = _wait_for(
        lambda: alert_with("triggered"), "the firing alert to reach Escalate", manager, seen
    )
    assert triggered["dedup_key"] == fingerprint
    assert triggered["count"] == 1
    assert triggered["severity"] == "critical"
    assert triggered["incident_id"] is not None, triggered
    # No routing rule yet: the catch-all took it, and the unrouted alarm is raised.
    assert (triggered["routed"], triggered["escalation_policy"]) == (False, None), triggered
    # The same alert, filtered by status, is what the alerts list shows as triggered.
    by_status = httpx.get(
        f"{live_server}/api/v1/alerts",
        params={"dedup_key": fingerprint, "status": "triggered"},
        headers=staff,
        timeout=10,
    ).json()
    assert [item["id"] for item in by_status["items"]] == [triggered["id"]]

    # The source says the alert ended a moment ago: Alertmanager resolves it and notifies.
    ends_at = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    ended = httpx.post(
        f"{manager.url}/api/v2/alerts",
        json=[
            {
                "labels": labels,
                "annotations": annotations,
                "startsAt": _rfc3339(starts_at),
                "endsAt": _rfc3339(ends_at),
            }
        ],
        timeout=10,
    )
    assert ended.status_code == 200, ended.text

    resolved = _wait_for(
        lambda: alert_with("resolved"), "the resolution to reach Escalate", manager, seen
    )
    assert resolved["id"] == triggered["id"], "the resolution resolves the same alert"
    assert resolved["count"] == 1, "a resolution is not a repeat of the alert"
    everything = httpx.get(f"{live_server}/api/v1/alerts", headers=staff, timeout=10).json()
    assert everything["total"] == 1, everything

    # The alert opened an incident on its service, and its resolution resolved it.
    incident = httpx.get(
        f"{live_server}/api/v1/incidents/{triggered['incident_id']}", headers=staff, timeout=10
    ).json()
    assert (incident["number"], incident["severity"], incident["status"]) == (1, "SEV1", "resolved")
    assert incident["title"] == annotations["summary"]
    incidents = httpx.get(f"{live_server}/api/v1/incidents", headers=staff, timeout=10).json()
    assert [i["id"] for i in incidents["items"]] == [incident["id"]]
