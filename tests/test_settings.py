"""The signing key when none is configured: kept beside an embedded database, so one-click
links already sent and logins outlive a restart and every process on the file agrees."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

from escalate.settings import Settings


def _key_in_a_new_process(url: str) -> str:
    code = "from escalate.settings import Settings; print(Settings().effective_secret_key())"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"ESCALATE_DATABASE_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_an_embedded_database_keeps_its_key_in_a_file_beside_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'escalate.db'}"
    key = Settings(database_url=url, secret_key="").effective_secret_key()
    kept = tmp_path / "var" / "escalate.db.secret"
    assert kept.read_text().strip() == key and len(key) >= 40
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    # Another process (a restarted server, a separate worker) signs with the same key.
    assert _key_in_a_new_process(url) == key
    # Another database has its own.
    other = f"sqlite:///{tmp_path / 'other.db'}"
    assert Settings(database_url=other, secret_key="").effective_secret_key() != key


def test_a_configured_key_wins_and_postgresql_never_writes_a_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'escalate.db'}"
    assert Settings(database_url=url, secret_key="configured").effective_secret_key() == (
        "configured"
    )
    assert not (tmp_path / "escalate.db.secret").exists()
    pg = Settings(database_url="postgresql+psycopg://x@127.0.0.1/none", secret_key="")
    assert pg.sqlite_file is None
    assert pg.effective_secret_key() == pg.effective_secret_key()  # one per process


def test_an_empty_key_file_left_by_a_crash_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "escalate.db.secret").write_text("")
    url = f"sqlite:///{tmp_path / 'escalate.db'}"
    key = Settings(database_url=url, secret_key="").effective_secret_key()
    assert key and (tmp_path / "escalate.db.secret").read_text().strip() == key
