"""Settings from the environment (ESCALATE_*): one object, built by the composition root."""

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

DEFAULT_SQLITE_PATH = Path("var") / "escalate.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ESCALATE_", extra="ignore")

    # repr=False: settings get printed in tracebacks, and these hold passwords and keys.
    database_url: str = Field(
        repr=False,
        default=f"sqlite:///{DEFAULT_SQLITE_PATH}",
        description="SQLAlchemy URL; sqlite:///path (embedded) or postgresql+psycopg://...",
    )
    secret_key: str = Field(
        repr=False,
        default="",
        description="Signs session cookies and one-click links. Empty: a random key per process.",
    )
    base_url: str = Field(default="http://127.0.0.1:8000", description="Public URL of the app.")
    host: str = "127.0.0.1"
    port: int = 8000
    run_worker_in_process: bool = Field(
        default=True, description="`escalate serve` also runs one job worker in its process."
    )
    auto_upgrade_sqlite: bool = Field(
        default=True, description="Migrate the embedded SQLite database on `escalate serve`."
    )
    session_hours: int = Field(default=12, ge=1, description="Lifetime of a web login.")
    cookie_secure: bool = Field(default=False, description="Send cookies over HTTPS only.")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="Largest request body.")
    worker_poll_seconds: float = Field(default=1.0, gt=0, description="Idle worker poll period.")
    job_lease_seconds: int = Field(default=300, ge=5, description="How long a claimed job is held.")
    db_pool_size: int = Field(default=10, ge=1, description="PostgreSQL pool size per process.")
    ingest_lanes: int = Field(
        default=4,
        ge=1,
        description="Ingest transactions in flight at once per process on PostgreSQL, each "
        "on a connection of its own from the pool (SQLite has one writer: always 1).",
    )
    log_level: str = "info"
    smtp_host: str | None = Field(
        default=None, description="Outgoing mail server; unset, no mail is sent (admin alarms)."
    )
    smtp_port: int = Field(default=25, ge=1, le=65535, description="Outgoing mail server port.")
    smtp_starttls: bool = Field(default=False, description="Upgrade outgoing mail to TLS.")
    smtp_username: str | None = Field(default=None, description="Outgoing mail login.")
    smtp_password: str | None = Field(default=None, repr=False, description="Its password.")
    mail_from: str = Field(default="escalate@localhost", description="From address of mail.")
    smtp_inbound_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="`escalate serve` also receives alert mail on this port; unset: it does not.",
    )
    smtp_inbound_host: str = Field(
        default="127.0.0.1", description="Interface the alert mail listener binds."
    )
    smtp_inbound_domain: str = Field(
        default="",
        description="Take mail for <integration-key>@this domain only; empty takes any domain.",
    )

    notify_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Timeout of one notification delivery."
    )
    notify_lease_seconds: int = Field(
        default=120, ge=15, description="How long a dispatcher holds a claimed notification."
    )
    notify_poll_seconds: float = Field(
        default=0.2, gt=0, description="Idle notification dispatcher poll period."
    )
    slack_api_url: str = Field(
        default="https://slack.com/api",
        description="Slack Web API base for bot-token contact methods (chat.postMessage).",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Let webhook and Slack-webhook contact methods reach loopback, private, "
        "link-local or reserved addresses (off: people cannot aim Escalate's requests at the "
        "internal network; turn on for receivers on your own network).",
    )
    sms_url: str | None = Field(
        default=None,
        description="SMS provider speaking the Twilio Messages API (base URL); unset: no SMS.",
    )
    sms_account: str | None = Field(default=None, description="SMS provider account id.")
    sms_token: str | None = Field(default=None, repr=False, description="Its auth token.")
    sms_from: str | None = Field(default=None, description="Sender number of SMS (E.164).")
    sla_reminder_lead_minutes: int = Field(
        default=5,
        ge=0,
        le=24 * 60,
        description="How long before an SLA clock is due its reminder pages the incident's "
        "communications lead (else its commander).",
    )

    def effective_secret_key(self) -> str:
        """The configured key; on an embedded SQLite file without one, a key kept in a file
        beside the database, so one-click links already mailed and logins survive a
        restart, and every process on that database agrees; else one per process."""
        if self.secret_key:
            return self.secret_key
        database = self.sqlite_file
        if database is not None:
            return _file_secret(database.with_name(database.name + ".secret"))
        return _process_secret()

    def serving_problem(self) -> str | None:
        """What makes these settings unfit to serve the web app, if anything."""
        if not self.is_sqlite and not self.secret_key:
            # Several processes behind one address must sign login forms with one key.
            return "ESCALATE_SECRET_KEY must be set when serving from PostgreSQL"
        return None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_file(self) -> Path | None:
        """The embedded database's file (None for PostgreSQL or an in-memory database)."""
        if not self.is_sqlite:
            return None
        database = make_url(self.database_url).database
        return Path(database) if database and database != ":memory:" else None


_PROCESS_SECRET: list[str] = []
_FILE_SECRETS: dict[Path, str] = {}
_FILE_SECRETS_LOCK = threading.Lock()


def _file_secret(path: Path) -> str:
    """Read the key in `path`, or create it there (owner-only) if no process has yet."""
    with _FILE_SECRETS_LOCK:
        if path not in _FILE_SECRETS:
            path.parent.mkdir(parents=True, exist_ok=True)
            try:
                # O_EXCL: two processes starting at once cannot both write a key.
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "w") as out:
                    out.write(secrets.token_urlsafe(32))
            _FILE_SECRETS[path] = _read_key(path)
        return _FILE_SECRETS[path]


def _read_key(path: Path) -> str:
    for _ in range(100):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)  # the creating process is between its open and its write
    # Still empty: its creator died in between. Replace it (atomically) and use the winner.
    partial = path.with_name(f"{path.name}.{os.getpid()}")
    partial.write_text(secrets.token_urlsafe(32))
    partial.chmod(0o600)
    partial.replace(path)
    return path.read_text().strip()


def _process_secret() -> str:
    # Without a configured key, sessions live as long as the process: safe, if inconvenient.
    if not _PROCESS_SECRET:
        _PROCESS_SECRET.append(secrets.token_urlsafe(32))
    return _PROCESS_SECRET[0]
