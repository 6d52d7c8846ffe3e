"""A job worker in its own OS process, driven by a test over stdin and stdout.

    python worker_process.py DB_URL WORKER_ID LEASE_SECONDS

Prints "ready" once connected, waits for "go" on stdin, drains every due job with the real
clock, then prints "done N" and exits. Its handlers are those of jobs_support."""

from __future__ import annotations

import sys
from datetime import timedelta

from jobs_support import BLOCK, blocking_handler, recording_registry
from sqlalchemy import text

from escalate.clock import SystemClock
from escalate.db import make_engine, make_session_factory
from escalate.jobs.worker import Worker


def main(url: str, worker_id: str, lease_seconds: str) -> int:
    engine = make_engine(url, pool_size=2)
    registry = recording_registry(worker_id)
    registry.register(BLOCK, blocking_handler(worker_id))
    worker = Worker(
        make_session_factory(engine),
        SystemClock(),
        registry,
        worker_id=worker_id,
        lease=timedelta(seconds=float(lease_seconds)),
    )
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    print("ready", flush=True)
    # Start together: without this, the first process up could drain the queue alone.
    if sys.stdin.readline().strip() != "go":
        return 2
    print(f"done {worker.drain()}", flush=True)
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
