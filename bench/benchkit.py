"""What the benches share: a loopback port, `escalate serve` as a subprocess, a throwaway
PostgreSQL database, percentiles. Imported by the bench scripts beside it."""

from __future__ import annotations

import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ESCALATE = Path(sys.executable).parent / "escalate"
DEFAULT_PG_URL = os.environ.get(
    "ESCALATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(
    url: str,
    port: int,
    secret_key: str,
    *,
    wrapper: Sequence[str] = (),
    options: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """`escalate serve` on loopback (optionally under a wrapper such as a profiler, with
    more options such as --workers, and more settings in `env`), once it answers /readyz.
    Its in-process worker is off unless `env` turns it on."""
    environment = {
        **os.environ,
        "ESCALATE_DATABASE_URL": url,
        "ESCALATE_SECRET_KEY": secret_key,
        "ESCALATE_RUN_WORKER_IN_PROCESS": "false",
        "ESCALATE_LOG_LEVEL": "warning",
        **(env or {}),
    }
    command = [*wrapper, str(ESCALATE), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += options
    proc = subprocess.Popen(
        command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not become ready")


@contextmanager
def postgres_database(pg_url: str) -> Iterator[str | None]:
    """A fresh, empty PostgreSQL database for one bench run (None when the server is not
    reachable), dropped afterwards."""
    admin = make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"escalate_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError:
        print(f"(PostgreSQL at {pg_url} unreachable: skipped)")
        yield None
        return
    try:
        yield make_url(pg_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pct(values: Sequence[float], q: int) -> float:
    """The q-th percentile, in milliseconds, of durations in seconds (inclusive: never
    beyond the largest value measured)."""
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


def cpu_seconds(pids: Sequence[int]) -> float:
    """CPU time (user + system) used so far by these processes and their children still
    running (Linux /proc; 0 elsewhere): what a server spends, whatever else loads the
    machine, which makes it the steadier figure on a shared machine."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}  # pid -> (parent, seconds)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / ticks)
    wanted = set(pids)
    grew = True
    while grew:
        children = {pid for pid, (parent, _) in stats.items() if parent in wanted}
        grew = not children <= wanted
        wanted |= children
    return sum(seconds for pid, (_, seconds) in stats.items() if pid in wanted)
