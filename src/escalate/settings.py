"""Settings from the environment (ESCALATE_*): one object, built by the composition root."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
    sms_url: str | None = Field(
        default=None,
        description="SMS provider speaking the Twilio Messages API (base URL); unset: no SMS.",
    )
    sms_account: str | None = Field(default=None, description="SMS provider account id.")
    sms_token: str | None = Field(default=None, repr=False, description="Its auth token.")
    sms_from: str | None = Field(default=None, description="Sender number of SMS (E.164).")

    def effective_secret_key(self) -> str:
        return self.secret_key or _process_secret()

    def serving_problem(self) -> str | None:
        """What makes these settings unfit to serve the web app, if anything."""
        if not self.is_sqlite and not self.secret_key:
            # Several processes behind one address must sign login forms with one key.
            return "ESCALATE_SECRET_KEY must be set when serving from PostgreSQL"
        return None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


_PROCESS_SECRET: list[str] = []


def _process_secret() -> str:
    # Without a configured key, sessions live as long as the process: safe, if inconvenient.
    if not _PROCESS_SECRET:
        _PROCESS_SECRET.append(secrets.token_urlsafe(32))
    return _PROCESS_SECRET[0]
