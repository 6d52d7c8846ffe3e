"""Requests per second and latency of the JSON API, served by `escalate serve` (one Uvicorn
process) on SQLite and on PostgreSQL, with the demo data plus a few hundred accounts.

    .venv/bin/python bench/api_throughput.py [--seconds 10] [--clients 8]

Three workloads: list a page of accounts, read one account whole, and record a health
change (a write with its audit entries, committed before the answer). The load comes from
threads in this process over loopback, so the figures include the client's share of the
machine's two cores. Figures, never assertions."""

from __future__ import annotations

import argparse
import secrets
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from benchkit import DEFAULT_PG_URL, free_port, pct, postgres_database, serve

from escalate import bootstrap, migrate
from escalate.accounts import service as account_service
from escalate.accounts.schemas import AccountCreate
from escalate.auth import service as auth_service
from escalate.auth.permissions import SYSTEM
from escalate.clock import SystemClock
from escalate.db import transaction
from escalate.demo import loader
from escalate.settings import Settings

EXTRA_ACCOUNTS = 300


def seed(url: str) -> str:
    """Migrate, load the demo and extra accounts; return an admin token."""
    container = bootstrap.build(Settings(database_url=url), clock=SystemClock())
    migrate.upgrade(container.engine)
    clock = container.clock
    with transaction(container.session_factory, clock=clock, actor=SYSTEM) as session:
        loader.load(session, clock)
        for n in range(EXTRA_ACCOUNTS):
            account_service.create(
                session,
                clock,
                actor=SYSTEM,
                data=AccountCreate(name=f"Bench Account {n:04d}", tier="business"),
            )
        admin = auth_service.require_by_email(session, email="admin@escalate.example")
        _, secret = auth_service.create_token(session, clock, actor=SYSTEM, user=admin, name="b")
    container.dispose()
    return secret


def hammer(
    request: Callable[[httpx.Client, int], httpx.Response], clients: int, seconds: float
) -> tuple[float, list[float], int]:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    stop_at = time.perf_counter() + seconds

    def run(index: int) -> None:
        with httpx.Client(timeout=30) as client:
            n = 0
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                response = request(client, index * 1_000_000 + n)
                latencies[index].append(time.perf_counter() - started)
                if response.status_code >= 400:
                    errors[index] += 1
                n += 1

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = [x for per in latencies for x in per]
    return len(flat) / elapsed, flat, sum(errors)


def bench_engine(label: str, url: str, clients: int, seconds: float) -> None:
    token = seed(url)
    port = free_port()
    proc = serve(url, port, secrets.token_urlsafe(32))
    base = f"http://127.0.0.1:{port}/api/v1"
    headers = {"Authorization": f"Bearer {token}"}
    workloads: dict[str, Callable[[httpx.Client, int], httpx.Response]] = {
        "list 50 accounts": lambda c, n: c.get(f"{base}/accounts?limit=50", headers=headers),
        "read one account": lambda c, n: c.get(f"{base}/accounts/1", headers=headers),
        "health change (write)": lambda c, n: c.post(
            f"{base}/accounts/{2 + n % EXTRA_ACCOUNTS}/health",
            headers=headers,
            json={"health": ("at_risk", "healthy")[n % 2], "reason": "bench"},
        ),
    }
    try:
        for name, request in workloads.items():
            rate, latencies, errors = hammer(request, clients, seconds)
            print(
                f"{label:<11} {name:<22} {rate:>8.0f} {pct(latencies, 50):>8.1f} "
                f"{pct(latencies, 95):>8.1f} {pct(latencies, 99):>8.1f} {errors:>7}"
            )
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument(
        "--pg",
        default=DEFAULT_PG_URL,
    )
    args = parser.parse_args()
    print(f"{args.clients} client threads, {args.seconds:.0f} s per workload, one server process")
    print(
        f"{'engine':<11} {'workload':<22} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'errors':>7}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        bench_engine("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", args.clients, args.seconds)
    with postgres_database(args.pg) as url:
        if url is not None:
            bench_engine("PostgreSQL", url, args.clients, args.seconds)


if __name__ == "__main__":
    main()
