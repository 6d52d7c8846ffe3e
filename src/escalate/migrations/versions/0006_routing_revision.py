"""counters: the revision of alert routing (integrations, routing rules, silences)

Revision ID: 0006_routing_revision
Revises: 0005_generic_mapping
Create Date: 2026-11-29 23:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006_routing_revision"
down_revision: str | None = "0005_generic_mapping"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Bumped by every change to an integration, a routing rule or a silence; the ingest
    # path keeps what it read of them while it stays the same (alerts.snapshot).
    op.execute("INSERT INTO counters (name, value) VALUES ('alert-routing', 0)")


def downgrade() -> None:
    op.execute("DELETE FROM counters WHERE name = 'alert-routing'")
