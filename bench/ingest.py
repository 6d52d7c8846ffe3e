"""Alert ingest over HTTP: sustained events per second and latency of `escalate serve` (one
Uvicorn process unless --servers or --workers says more) on SQLite and on PostgreSQL, then
a check that no event answered 2xx was lost.

    .venv/bin/python bench/ingest.py [--seconds 10] [--clients 16] [--repeat 0.7]

Two workloads, each for --seconds after a one-second warm-up: PagerDuty Events API v2
triggers (`POST /v2/enqueue`) and Alertmanager webhooks (`POST /api/v1/ingest/alertmanager`
with the key as a bearer token, one firing alert per notification). A share --repeat of
the events reuse a dedup key already sent (a repeat of an open alert: count goes up), the
rest bring a new key (a new alert).

The load comes from --clients concurrent connections in this process, each sending its
next event as soon as the previous one is answered. The client is a minimal keep-alive
HTTP/1.1 writer on asyncio, so that the load generator takes as little as possible of the
machine's two cores (httpx would take about as much CPU per request as the server).

"cpu ms/ev" is the CPU time the server process(es) spent per accepted event (warm-up
included, the database server's own not): the figure that moves least when something
else loads the machine. "load ms/ev" is the load generator's own CPU time per event, taken
from the same two cores.

After each workload the database is read directly: every event answered 2xx must be there
(one alert event row per accepted event, the alerts' counts summing to the accepted
triggers, one alert per distinct key). Figures, never assertions."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchkit import (
    DEFAULT_PG_URL,
    ESCALATE,
    cpu_seconds,
    free_port,
    pct,
    postgres_database,
    serve,
)
from sqlalchemy import create_engine, text

from escalate import bootstrap, migrate
from escalate.clock import SystemClock
from escalate.settings import Settings


def cli(url: str, *args: str) -> str:
    env = {**os.environ, "ESCALATE_DATABASE_URL": url}
    done = subprocess.run(
        [str(ESCALATE), *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"escalate {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return done.stdout.strip()


def seed(url: str) -> dict[str, str]:
    """Migrate; a service and one integration of each kind with a routing rule that pages
    someone, made with the CLI as an operator would (without the rule every new alert
    would land on the catch-all and queue the unrouted alarm's mail to the admins).
    Returns the integration keys by kind."""
    container = bootstrap.build(Settings(database_url=url), clock=SystemClock())
    migrate.upgrade(container.engine)
    container.dispose()
    cli(url, "service", "create", "--name", "Bench API")
    keys = {}
    for kind in ("events_v2", "alertmanager"):
        name = f"bench-{kind}"
        keys[kind] = cli(
            url, "integration", "create", "--kind", kind, "--name", name, "--service", "Bench API"
        )
        cli(
            url,
            "routing",
            "add",
            name,
            "--name",
            "everything to the bench on-call",
            "--match",
            'event.severity=~".+"',
            "--service",
            "Bench API",
            "--policy",
            "bench-oncall",
        )
    return keys


def profiler(profile: Path | None) -> list[str]:
    """py-spy in front of the server, sampling every thread (handlers run in the pool)."""
    if profile is None:
        return []
    return [
        "py-spy",
        "record",
        "--subprocesses",
        "-r",
        "100",
        "-f",
        "raw",
        "-o",
        str(profile),
        "--",
    ]


# --- the load ---------------------------------------------------------------------------


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    accepted: int = 0  # events answered 2xx (one event per request here)
    errors: int = 0
    accepted_keys: set[str] = field(default_factory=set)
    error_samples: list[str] = field(default_factory=list)


class Keys:
    """Dedup keys: a share `repeat` of them reuse a key already sent, the rest are new."""

    def __init__(self, prefix: str, repeat: float, rng: random.Random) -> None:
        self.prefix, self.repeat, self.rng = prefix, repeat, rng
        self.sent: list[str] = []

    def next(self) -> str:
        if self.sent and self.rng.random() < self.repeat:
            return self.rng.choice(self.sent)
        key = f"{self.prefix}-{len(self.sent):07d}"
        self.sent.append(key)
        return key


def events_v2_request(key: str) -> Callable[[str], tuple[str, dict[str, str], bytes]]:
    def build(dedup_key: str) -> tuple[str, dict[str, str], bytes]:
        body = {
            "routing_key": key,
            "event_action": "trigger",
            "dedup_key": dedup_key,
            "payload": {
                "summary": f"Disk almost full on {dedup_key}",
                "source": "bench-host-1",
                "severity": "warning",
                "component": "disk",
                "custom_details": {"free_percent": 3},
            },
        }
        return "/v2/enqueue", {}, json.dumps(body).encode()

    return build


def alertmanager_request(key: str) -> Callable[[str], tuple[str, dict[str, str], bytes]]:
    def build(fingerprint: str) -> tuple[str, dict[str, str], bytes]:
        labels = {"alertname": "HighLatency", "instance": fingerprint, "severity": "warning"}
        now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        body = {
            "version": "4",
            "groupKey": '{}:{alertname="HighLatency"}',
            "truncatedAlerts": 0,
            "status": "firing",
            "receiver": "escalate",
            "groupLabels": {"alertname": "HighLatency"},
            "commonLabels": labels,
            "commonAnnotations": {},
            "externalURL": "http://alertmanager.bench:9093",
            "alerts": [
                {
                    "status": "firing",
                    "labels": labels,
                    "annotations": {"summary": "p99 above 1 s"},
                    "startsAt": now,
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus.bench:9090/graph",
                    "fingerprint": fingerprint,
                }
            ],
        }
        return (
            "/api/v1/ingest/alertmanager",
            {"Authorization": f"Bearer {key}"},
            (json.dumps(body).encode()),
        )

    return build


async def one_client(
    port: int,
    keys: Keys,
    build: Callable[[str], tuple[str, dict[str, str], bytes]],
    warm_until: float,
    stop_at: float,
    tally: Tally,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            now = time.perf_counter()
            if now >= stop_at:
                return
            dedup_key = keys.next()
            path, headers, body = build(dedup_key)
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                + "".join(f"{name}: {value}\r\n" for name, value in headers.items())
                + "\r\n"
            )
            started = time.perf_counter()
            writer.write(head.encode() + body)
            status = int((await reader.readline()).split()[1])
            length = 0
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            answer = await reader.readexactly(length)
            elapsed = time.perf_counter() - started
            # Every answered event counts toward the loss check, warm-up included.
            if 200 <= status < 300:
                tally.accepted += 1
                tally.accepted_keys.add(dedup_key)
            if started < warm_until:
                continue
            tally.latencies.append(elapsed)
            if not 200 <= status < 300:
                tally.errors += 1
                if len(tally.error_samples) < 3:
                    tally.error_samples.append(f"{status} {answer[:200]!r}")
    finally:
        writer.close()


async def hammer(
    ports: list[int],
    clients: int,
    seconds: float,
    keys: Keys,
    build: Callable[[str], tuple[str, dict[str, str], bytes]],
) -> Tally:
    tally = Tally()
    warm_until = time.perf_counter() + 1.0
    stop_at = warm_until + seconds
    await asyncio.gather(
        *(
            one_client(ports[i % len(ports)], keys, build, warm_until, stop_at, tally)
            for i in range(clients)
        )
    )
    return tally


def run_load(*args: object) -> Tally:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(hammer(*args))  # type: ignore[arg-type]
    return uvloop.run(hammer(*args))  # type: ignore[arg-type]


# --- the check --------------------------------------------------------------------------


def stored(url: str, integration_name: str) -> tuple[int, int, int]:
    """(alert events, alerts, sum of the alerts' counts) of one integration."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            integration_id = conn.execute(
                text("SELECT id FROM integrations WHERE name = :name"), {"name": integration_name}
            ).scalar_one()
            events = conn.execute(
                text("SELECT count(*) FROM alert_events WHERE integration_id = :id"),
                {"id": integration_id},
            ).scalar_one()
            alerts, counts = conn.execute(
                text(
                    "SELECT count(*), coalesce(sum(count), 0) FROM alerts"
                    " WHERE integration_id = :id"
                ),
                {"id": integration_id},
            ).one()
            return int(events), int(alerts), int(counts)
    finally:
        engine.dispose()


def bench_engine(label: str, url: str, args: argparse.Namespace) -> None:
    keys_by_kind = seed(url)
    secret_key = secrets.token_urlsafe(32)
    ports = [free_port() for _ in range(args.servers)]
    profile = Path(args.profile) if args.profile else None
    options = ["--workers", str(args.workers)] if args.workers > 1 else []
    procs = [
        serve(url, port, secret_key, wrapper=profiler(profile) if i == 0 else [], options=options)
        for i, port in enumerate(ports)
    ]
    workloads = {
        "events_v2": ("Events v2", events_v2_request(keys_by_kind["events_v2"])),
        "alertmanager": ("Alertmanager", alertmanager_request(keys_by_kind["alertmanager"])),
    }
    try:
        for kind, (name, build) in workloads.items():
            keys = Keys(f"{kind}-{uuid.uuid4().hex[:6]}", args.repeat, random.Random(7))
            cpu_before = cpu_seconds([proc.pid for proc in procs])
            client_before = time.process_time()
            tally = run_load(ports, args.clients, args.seconds, keys, build)
            client_ms = (time.process_time() - client_before) * 1000
            cpu_ms = (cpu_seconds([proc.pid for proc in procs]) - cpu_before) * 1000
            answered_2xx = len(tally.latencies) - tally.errors
            events, alerts, counts = stored(url, f"bench-{kind}")
            lost = max(0, tally.accepted - events) + max(0, tally.accepted - counts)
            lost += max(0, len(tally.accepted_keys) - alerts)
            verdict = "none" if lost == 0 else f"{lost} MISSING"
            accepted = max(1, tally.accepted)
            print(
                f"{label:<11} {name:<13} {answered_2xx / args.seconds:>9.0f} "
                f"{pct(tally.latencies, 50):>8.1f} {pct(tally.latencies, 99):>8.1f} "
                f"{cpu_ms / accepted:>9.2f} {client_ms / accepted:>9.2f} "
                f"{tally.errors:>7} {tally.accepted:>9} "
                f"{events:>9} {alerts:>7} {counts:>9} {verdict:>6}",
                flush=True,
            )
            for sample in tally.error_samples:
                print(f"    error: {sample}")
    finally:
        for proc in procs:
            # py-spy writes its profile on SIGINT; the server stops gracefully on either.
            proc.send_signal(signal.SIGINT if profile else signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--repeat", type=float, default=0.7, help="share of repeated keys")
    parser.add_argument("--servers", type=int, default=1, help="`escalate serve` commands")
    parser.add_argument(
        "--workers", type=int, default=1, help="processes of each (`escalate serve --workers`)"
    )
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--profile", help="record the (first) server with py-spy to this file")
    parser.add_argument(
        "--pg",
        default=DEFAULT_PG_URL,
    )
    args = parser.parse_args()
    print(
        f"{args.clients} keep-alive clients, {args.seconds:.0f} s per workload after 1 s of "
        f"warm-up, {args.repeat:.0%} repeated keys, {args.servers} server(s) of "
        f"{args.workers} process(es)"
    )
    print(
        f"{'engine':<11} {'workload':<13} {'events/s':>9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'cpu ms/ev':>9} {'load ms/ev':>9} {'errors':>7} {'accepted':>9} {'stored':>9} "
        f"{'alerts':>7} "
        f"{'sum count':>9} {'lost':>6}"
    )
    if args.engine in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            bench_engine("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", args)
    if args.engine == "sqlite":
        return
    with postgres_database(args.pg) as url:
        if url is not None:
            bench_engine("PostgreSQL", url, args)


if __name__ == "__main__":
    main()
