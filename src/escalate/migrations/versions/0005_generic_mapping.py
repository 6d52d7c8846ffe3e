"""integrations: the mapping of generic JSON integrations, the rules of e-mail ones

Revision ID: 0005_generic_mapping
Revises: 0004
Create Date: 2026-12-01 10:00:00
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005_generic_mapping"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(sa.JSON(none_as_null=True), "postgresql")


def upgrade() -> None:
    # NULL means "the default", so existing integrations need no value. Plain ALTER TABLE
    # (SQLite 3.35+ drops columns too): a batch copy of the table would lose the
    # lower(name) index, which reflection cannot see.
    op.add_column("integrations", sa.Column("generic_mapping", _json(), nullable=True))
    op.add_column("integrations", sa.Column("email_rules", _json(), nullable=True))


def downgrade() -> None:
    op.drop_column("integrations", "email_rules")
    op.drop_column("integrations", "generic_mapping")
