"""Migrations and models agree, and every migration can be undone and redone."""

from __future__ import annotations

import warnings

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from escalate import migrate
from escalate.bootstrap import Container
from escalate.models import Base

INDEX_NAMES = {
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'index'",
    "postgresql": "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'",
}


def _differences(container: Container) -> list[object]:
    with warnings.catch_warnings():
        # Expression indexes (lower(name)) cannot be reflected; the round trip checks them.
        warnings.simplefilter("ignore")
        with container.engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))


def test_the_migrated_schema_matches_the_models(container: Container) -> None:
    assert migrate.schema_state(container.engine).is_current
    assert _differences(container) == []


def test_downgrade_to_nothing_and_upgrade_again(container: Container) -> None:
    config = migrate.alembic_config(container.engine.url.render_as_string(hide_password=False))
    command.downgrade(config, "base")
    assert set(inspect(container.engine).get_table_names()) <= {"alembic_version"}
    assert migrate.schema_state(container.engine).problem() is not None
    migrate.upgrade(container.engine)
    with container.engine.connect() as conn:
        names = set(conn.exec_driver_sql(INDEX_NAMES[container.engine.dialect.name]).scalars())
    assert "uq_accounts_lower_name" in names
    assert _differences(container) == []


def test_0004_gives_existing_integrations_their_catch_all(container: Container) -> None:
    config = migrate.alembic_config(container.engine.url.render_as_string(hide_password=False))
    command.downgrade(config, "0003")
    with container.engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO integrations (name, kind, key_hash, key_prefix, created_at, is_active)"
            " VALUES ('Old', 'alertmanager', 'x', 'esc_int_x', '2025-01-01 00:00:00+00:00', true)"
        )
    migrate.upgrade(container.engine)
    with container.engine.connect() as conn:
        rules = conn.exec_driver_sql(
            "SELECT r.name, r.is_catch_all, i.grouping_window_minutes, i.flap_window_minutes"
            " FROM routing_rules r JOIN integrations i ON i.id = r.integration_id"
        ).all()
        number = conn.exec_driver_sql("SELECT value FROM counters WHERE name = 'incident'")
        assert number.scalar_one() == 0
        names = set(conn.exec_driver_sql(INDEX_NAMES[container.engine.dialect.name]).scalars())
    assert [tuple(r) for r in rules] == [("Catch-all", True, 60, 10)]
    # SQLite rebuilt the alerts table; the integrations' lower(name) index must survive.
    assert "uq_integrations_lower_name" in names
