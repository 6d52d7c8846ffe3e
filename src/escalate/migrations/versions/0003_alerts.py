"""alerts: integrations, alerts, inbound errors

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 18:54:45.387718
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import escalate.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "integrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("default_service_id", sa.Integer(), nullable=True),
        sa.Column("created_at", escalate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("key_rotated_at", escalate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["default_service_id"],
            ["services.id"],
            name=op.f("fk_integrations_default_service_id_services"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integrations")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_integrations_key_hash")),
        sa.UniqueConstraint("name", name=op.f("uq_integrations_name")),
    )
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_integrations_default_service_id"), ["default_service_id"], unique=False
        )
    # Names are unique regardless of case (autogenerate cannot see expression indexes).
    op.create_index(
        "uq_integrations_lower_name", "integrations", [sa.text("lower(name)")], unique=True
    )

    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=255), nullable=False),
        sa.Column("open_key", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=255), nullable=True),
        sa.Column("service_id", sa.Integer(), nullable=True),
        sa.Column("incident_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "labels",
            sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "details",
            sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "links",
            sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "payload",
            sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql"),
            nullable=False,
        ),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_seen_at", escalate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", escalate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", escalate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", escalate.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("routed", sa.Boolean(), nullable=False),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_alerts_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["services.id"],
            name=op.f("fk_alerts_service_id_services"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index("ix_alerts_dedup_key", ["dedup_key"], unique=False)
        batch_op.create_index(
            "ix_alerts_integration_dedup_key", ["integration_id", "dedup_key"], unique=False
        )
        batch_op.create_index("ix_alerts_last_seen", ["last_seen_at"], unique=False)
        batch_op.create_index(
            "ix_alerts_service_last_seen", ["service_id", "last_seen_at"], unique=False
        )
        batch_op.create_index(
            "ix_alerts_status_last_seen", ["status", "last_seen_at"], unique=False
        )
        batch_op.create_index(
            "uq_alerts_integration_open_key", ["integration_id", "open_key"], unique=True
        )

    op.create_table(
        "inbound_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", escalate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("integration_id", sa.Integer(), nullable=True),
        sa.Column("endpoint", sa.String(length=200), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("body_excerpt", sa.Text(), nullable=True),
        sa.Column("remote_addr", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_inbound_errors_integration_id_integrations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_errors")),
    )
    with op.batch_alter_table("inbound_errors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inbound_errors_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_inbound_errors_integration_id"), ["integration_id"], unique=False
        )

    op.create_table(
        "alert_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("integration_id", sa.Integer(), nullable=False),
        sa.Column("dedup_key", sa.String(length=255), nullable=False),
        sa.Column("at", escalate.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("applied", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_events_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integrations.id"],
            name=op.f("fk_alert_events_integration_id_integrations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_events")),
    )
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.create_index("ix_alert_events_alert", ["alert_id", "id"], unique=False)
        batch_op.create_index(
            "ix_alert_events_integration_key", ["integration_id", "dedup_key"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("alert_events", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_events_integration_key")
        batch_op.drop_index("ix_alert_events_alert")

    op.drop_table("alert_events")
    with op.batch_alter_table("inbound_errors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inbound_errors_integration_id"))
        batch_op.drop_index(batch_op.f("ix_inbound_errors_at"))

    op.drop_table("inbound_errors")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index("uq_alerts_integration_open_key")
        batch_op.drop_index("ix_alerts_status_last_seen")
        batch_op.drop_index("ix_alerts_service_last_seen")
        batch_op.drop_index("ix_alerts_last_seen")
        batch_op.drop_index("ix_alerts_integration_dedup_key")
        batch_op.drop_index("ix_alerts_dedup_key")

    op.drop_table("alerts")
    with op.batch_alter_table("integrations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_integrations_default_service_id"))

    op.drop_index("uq_integrations_lower_name", table_name="integrations")
    op.drop_table("integrations")
