"""Helpers for CLI tests: the installed `escalate` binary and empty (unmigrated) databases."""

from __future__ import annotations

import os
import shutil
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url
from typer.testing import Result

# run_cli("user", "list", input=..., env=...) -> Typer's Result (see conftest.py)
RunCli = Callable[..., Result]

PG_URL = os.environ.get("ESCALATE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def escalate_binary() -> str:
    """The console script installed next to this interpreter (the venv's bin)."""
    beside = Path(sys.executable).parent / "escalate"
    if beside.exists():
        return str(beside)
    found = shutil.which("escalate")
    assert found, "the `escalate` console script is not installed (pip install -e .)"
    return found


def subprocess_env(database_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ESCALATE_")}
    env.update({"ESCALATE_DATABASE_URL": database_url, "COLUMNS": "200", **extra})
    return env


def pg_execute(sql: str) -> None:
    conninfo = make_url(PG_URL).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)


def pg_url_for(database: str) -> str:
    return make_url(PG_URL).set(database=database).render_as_string(hide_password=False)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
