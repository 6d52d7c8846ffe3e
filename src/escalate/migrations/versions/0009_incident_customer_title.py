"""incidents: the title customers and the public read

Revision ID: 0009_incident_customer_title
Revises: 0008_incidents_communication
Create Date: 2026-11-30 06:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_incident_customer_title"
down_revision: str | None = "0008_incidents_communication"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Null: customers read the affected services' names (the working title never leaves).
    # A plain ADD COLUMN, which SQLite does in place (a batch copy would rebuild the table).
    op.add_column("incidents", sa.Column("customer_title", sa.String(length=300), nullable=True))


def downgrade() -> None:
    # In place on both engines (SQLite 3.35+ drops a column itself).
    op.drop_column("incidents", "customer_title")
