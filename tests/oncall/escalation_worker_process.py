"""A real job worker in its own OS process, on the test's database and the test's clock.

    python escalation_worker_process.py DB_URL CLOCK_FILE WORKER_ID LEASE_SECONDS

The clock is the instant written in CLOCK_FILE (ISO-8601), read afresh on every call, so
the test moves time for this process by rewriting the file, never by sleeping. Prints
"ready" once connected; then, for each "drain" line on stdin, runs every due job and
prints "drained N"; exits on "exit" or end of input. The job handlers are the product's
own (bootstrap.build)."""

from __future__ import annotations

import sys
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import text

from escalate import bootstrap
from escalate.settings import Settings


class FileClock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text().strip())


def write_clock(path: Path, moment: datetime) -> None:
    """Move the clock of every process reading `path` (written whole, then renamed)."""
    partial = path.with_suffix(".tmp")
    partial.write_text(moment.isoformat())
    partial.replace(path)


def main(url: str, clock_file: str, worker_id: str, lease_seconds: str) -> int:
    settings = Settings(database_url=url, job_lease_seconds=int(lease_seconds), db_pool_size=2)
    container = bootstrap.build(settings, clock=FileClock(Path(clock_file)))
    worker = bootstrap.build_worker(container, worker_id=worker_id)
    worker.lease = timedelta(seconds=int(lease_seconds))
    with container.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    print("ready", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "drain":
            print(f"drained {worker.drain()}", flush=True)
        elif command == "exit":
            break
    container.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
