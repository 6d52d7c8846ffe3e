"""case-insensitive unique names and e-mails

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 18:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = [
    ("uq_accounts_lower_name", "accounts", ["lower(name)"]),
    ("uq_services_lower_name", "services", ["lower(name)"]),
    ("uq_contacts_account_lower_email", "contacts", ["account_id", "lower(email)"]),
    ("uq_users_lower_email", "users", ["lower(email)"]),
    ("uq_sla_policies_lower_name", "sla_policies", ["lower(name)"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, [sa.text(c) for c in columns], unique=True)


def downgrade() -> None:
    for name, table, _ in reversed(INDEXES):
        op.drop_index(name, table_name=table)
