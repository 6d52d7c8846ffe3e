"""`escalate serve`, `escalate worker` and `escalate smtp-inbound`: the long-running
processes."""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Annotated

import typer
import uvicorn
from fastapi import FastAPI
from rich.text import Text

from escalate import bootstrap
from escalate.auth import service as auth_service
from escalate.bootstrap import Container
from escalate.cli import output
from escalate.cli.runtime import fail, handle_errors, note, open_container
from escalate.db import read_only_session
from escalate.demo import data as demo_data
from escalate.settings import Settings
from escalate.smtp import inbound as smtp_inbound
from escalate.web import access_log
from escalate.web.app import create_app

DEFAULT_SMTP_PORT = 2525


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


def default_base_url(host: str | None, port: int | None) -> None:
    """Links in mails, invitations and feeds point at ESCALATE_BASE_URL; unset, at where
    this server listens (so `make run PORT=8931` mails working links), not at the
    built-in default's port."""
    settings = Settings()
    if "base_url" in settings.model_fields_set:
        return
    listen_host = host if host is not None else settings.host
    listen_port = port if port is not None else settings.port
    os.environ["ESCALATE_BASE_URL"] = f"http://{public_host(listen_host)}:{listen_port}"


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
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            help="Server processes sharing the port, each with its own connection pool (and "
            "job worker, if run in process); about one per core. On SQLite they take "
            "turns as its one writer.",
        ),
    ] = 1,
) -> None:
    """Run the web app and API, with one job worker in the same process by default.

    The embedded SQLite database is migrated first when ESCALATE_AUTO_UPGRADE_SQLITE is on
    (the default); any other database must be current (`escalate db upgrade`), or this
    exits with code 4."""
    default_base_url(host, port)
    with open_container(schema="auto") as container:
        settings = container.settings
        host = host if host is not None else settings.host
        port = port if port is not None else settings.port
        log_level = settings.log_level.lower()
        if settings.run_worker_in_process:
            bootstrap.seed_recurring_jobs(container)
        if show_demo_hint:
            output.show(demo_hint(container, f"http://{public_host(host)}:{port}"))
        if workers > 1:
            # Each process builds its own app from the same environment (see worker_app).
            if not settings.secret_key:
                # One key for all, or a login signed by one process fails in the others.
                os.environ["ESCALATE_SECRET_KEY"] = settings.effective_secret_key()
            target = f"{__name__}:{worker_app.__name__}"
            with _mail_listener(container):
                uvicorn.run(
                    target,
                    factory=True,
                    workers=workers,
                    host=host,
                    port=port,
                    log_level=log_level,
                    log_config=access_log.log_config(),
                )
            return
        background = (
            bootstrap.build_background(container) if settings.run_worker_in_process else None
        )
        app = create_app(container, background=background)
        _freeze_startup_objects()
        with _mail_listener(container):
            uvicorn.run(
                app, host=host, port=port, log_level=log_level, log_config=access_log.log_config()
            )


@contextmanager
def _mail_listener(container: Container) -> Iterator[None]:
    """The alert mail listener alongside the web app, when ESCALATE_SMTP_INBOUND_PORT is set."""
    settings = container.settings
    if settings.smtp_inbound_port is None:
        yield
        return
    listener = _start_mail_listener(
        container,
        host=settings.smtp_inbound_host,
        port=settings.smtp_inbound_port,
        domain=settings.smtp_inbound_domain,
    )
    try:
        yield
    finally:
        listener.stop()


def _start_mail_listener(
    container: Container, *, host: str, port: int, domain: str
) -> smtp_inbound.InboundMailServer:
    listener = smtp_inbound.build_server(container, host=host, port=port, domain=domain)
    try:
        listener.start()
    except OSError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.strerror or exc}", field="--port")
    taken = listener.domain
    where = f"<integration-key>@{taken}" if taken else "<integration-key>@any domain"
    note(f"Receiving alert mail for {where} on {public_host(host)}:{port}.")
    return listener


@handle_errors()
def smtp_inbound_command(
    host: Annotated[
        str | None,
        typer.Option(help="Interface to listen on [default: ESCALATE_SMTP_INBOUND_HOST]."),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help=f"Port [default: ESCALATE_SMTP_INBOUND_PORT, else {DEFAULT_SMTP_PORT}].",
        ),
    ] = None,
    domain: Annotated[
        str | None,
        typer.Option(
            help="Take mail for <key>@DOMAIN only [default: ESCALATE_SMTP_INBOUND_DOMAIN; "
            "empty takes any domain]."
        ),
    ] = None,
) -> None:
    """Receive alerts by e-mail until Ctrl-C or SIGTERM.

    Mail to <integration-key>@DOMAIN (an integration of kind email) becomes an alert; the
    alert is stored before the mail is accepted. Unknown keys are refused at RCPT TO."""
    with open_container(schema="require") as container:
        settings = container.settings
        listener = _start_mail_listener(
            container,
            host=host if host is not None else settings.smtp_inbound_host,
            port=port or settings.smtp_inbound_port or DEFAULT_SMTP_PORT,
            domain=domain if domain is not None else settings.smtp_inbound_domain,
        )
        stop = threading.Event()
        try:
            with _stop_on_signals(stop, lambda: None, doing=None):
                while not stop.wait(1.0):
                    pass
        finally:
            listener.stop()
        note("Alert mail listener stopped.")


def worker_app() -> FastAPI:
    """The app of one of several server processes (`escalate serve --workers N`), built
    from the environment in that process; the parent has checked the schema."""
    container = bootstrap.build()
    settings = container.settings
    background = bootstrap.build_background(container) if settings.run_worker_in_process else None
    app = create_app(container, background=background)
    _freeze_startup_objects()
    return app


def _freeze_startup_objects() -> None:
    """Leave what exists at startup (modules, the app, its routes, the ORM's mappers: most
    of the heap, and permanent) out of every future garbage collection. Otherwise each
    full collection walks all of it: 70-90 ms under ingest load, several times a minute,
    with every request waiting (the whole p99 of the ingest bench)."""
    gc.collect()
    gc.freeze()


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
        dispatcher = bootstrap.build_dispatcher(
            container, dispatcher_id=f"{worker_id}:notify" if worker_id else None
        )
        bootstrap.seed_recurring_jobs(container)
        if once:
            done = job_worker.drain()
            sent = dispatcher.drain()
            dispatcher.close()
            output.show(
                f"Worker {job_worker.worker_id} ran {done} due job(s) and handled {sent} "
                "due notification(s)."
            )
            return
        stop = threading.Event()

        def wake_all() -> None:
            job_worker.wake()
            dispatcher.wake()

        # The dispatcher delivers the outbox next to the job loop, in a thread of its own.
        notify_thread = threading.Thread(
            target=dispatcher.run_forever, args=(stop,), name="escalate-notify", daemon=True
        )
        with _stop_on_signals(stop, wake_all, doing="the current job"):
            note(f"Worker {job_worker.worker_id} running; Ctrl-C or SIGTERM stops it.")
            notify_thread.start()
            try:
                job_worker.run_forever(stop)
            finally:
                stop.set()
                dispatcher.wake()
                notify_thread.join(timeout=30)
        note(f"Worker {job_worker.worker_id} stopped.")


@contextmanager
def _stop_on_signals(
    stop: threading.Event, wake: Callable[[], None], *, doing: str | None
) -> Iterator[None]:
    """SIGINT/SIGTERM set `stop` (the process finishes `doing`, if anything); a second one
    forces.

    The event is ours, made before the handlers are installed, so a signal that arrives
    while the worker is still starting is not lost."""

    def graceful(signum: int, _frame: FrameType | None) -> None:
        note(f"{signal.Signals(signum).name}: stopping" + (f" after {doing}" if doing else ""))
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
