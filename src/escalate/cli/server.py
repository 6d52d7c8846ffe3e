"""`escalate serve` and `escalate worker`: the long-running processes."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from rich.text import Text

from escalate import bootstrap
from escalate.auth import service as auth_service
from escalate.bootstrap import Container
from escalate.cli import output
from escalate.cli.runtime import handle_errors, note, open_container
from escalate.db import read_only_session
from escalate.demo import data as demo_data
from escalate.web.app import create_app


def public_host(host: str) -> str:
    """The host to put in a URL for a server bound to `host`."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def demo_hint(container: Container, url: str) -> Text:
    """How to log in to the demo, and whether its data is there yet."""
    with read_only_session(container.session_factory) as session:
        loaded = auth_service.get_by_email(session, email=demo_data.ADMIN.email) is not None
    width = max(len(member.email) for member in demo_data.STAFF)
    lines = [f"Escalate demo: open {url} and log in as one of"]
    for member in demo_data.STAFF:
        what = member.role.value + (f", {member.title}" if member.title else "")
        lines.append(f"  {member.email.ljust(width)}  ({member.name}, {what})")
    lines.append(f"with the password {demo_data.DEMO_PASSWORD!r} (a local demo only).")
    if not loaded:
        lines.append("The demo data is not loaded yet: run `escalate demo load` first.")
    return Text("\n".join(lines))


@handle_errors()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to listen on [default: ESCALATE_HOST].")
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(min=1, max=65535, help="Port to listen on [default: ESCALATE_PORT]."),
    ] = None,
    show_demo_hint: Annotated[
        bool, typer.Option("--demo-hint", help="Print how to log in to the demo first.")
    ] = False,
) -> None:
    """Run the web app and API, with one job worker in the same process by default.

    The embedded SQLite database is migrated first when ESCALATE_AUTO_UPGRADE_SQLITE is on
    (the default); any other database must be current (`escalate db upgrade`), or this
    exits with code 4."""
    with open_container(schema="auto") as container:
        settings = container.settings
        host = host if host is not None else settings.host
        port = port if port is not None else settings.port
        background = None
        if settings.run_worker_in_process:
            background = bootstrap.build_worker(container)
            bootstrap.seed_recurring_jobs(container)
        app = create_app(container, background=background)
        if show_demo_hint:
            output.show(demo_hint(container, f"http://{public_host(host)}:{port}"))
        uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower())


@handle_errors()
def worker(
    worker_id: Annotated[
        str | None,
        typer.Option("--id", help="Name shown on the jobs this worker holds [default: host:pid]."),
    ] = None,
    once: Annotated[
        bool, typer.Option("--once", help="Run every job that is due, then exit.")
    ] = False,
) -> None:
    """Run a job worker in the foreground until Ctrl-C or SIGTERM.

    On a signal it finishes the job at hand, then exits. It never migrates: the database
    must be current (`escalate db upgrade`)."""
    with open_container(schema="require") as container:
        logging.basicConfig(
            level=container.settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        job_worker = bootstrap.build_worker(container, worker_id=worker_id)
        bootstrap.seed_recurring_jobs(container)
        if once:
            done = job_worker.drain()
            output.show(f"Worker {job_worker.worker_id} ran {done} due job(s).")
            return
        stop = threading.Event()
        with _stop_on_signals(stop, job_worker.wake):
            note(f"Worker {job_worker.worker_id} running; Ctrl-C or SIGTERM stops it.")
            job_worker.run_forever(stop)
        note(f"Worker {job_worker.worker_id} stopped.")


@contextmanager
def _stop_on_signals(stop: threading.Event, wake: Callable[[], None]) -> Iterator[None]:
    """SIGINT/SIGTERM set `stop` (the worker finishes the job at hand); a second one forces.

    The event is ours, made before the handlers are installed, so a signal that arrives
    while the worker is still starting is not lost."""

    def graceful(signum: int, _frame: FrameType | None) -> None:
        note(f"{signal.Signals(signum).name}: stopping after the current job")
        stop.set()
        wake()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.default_int_handler)

    previous = {sig: signal.signal(sig, graceful) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
