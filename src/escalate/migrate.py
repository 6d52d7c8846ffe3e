"""Schema version checks and upgrades, shared by `escalate db upgrade`, `serve` and `/readyz`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    head = script.get_current_head()
    assert head is not None
    return head


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str
    known: bool

    @property
    def is_current(self) -> bool:
        return self.current == self.head

    def problem(self) -> str | None:
        """What is wrong, in words an operator can act on; None when all is well."""
        if self.is_current:
            return None
        if self.current is None:
            return "the database has no Escalate schema yet; run `escalate db upgrade`"
        if not self.known:
            return (
                f"the database is at revision {self.current}, newer than this code knows "
                f"(head {self.head}); upgrade Escalate or point it at another database"
            )
        return (
            f"the database is at revision {self.current}, behind this code's {self.head}; "
            "run `escalate db upgrade`"
        )


def schema_state(engine: Engine) -> SchemaState:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    known = True
    if current is not None:
        try:
            known = script.get_revision(current) is not None
        except Exception:  # alembic raises its own error for an unknown revision id
            known = False
    return SchemaState(current=current, head=head_revision(), known=known)


def upgrade(engine: Engine) -> None:
    config = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "head")
