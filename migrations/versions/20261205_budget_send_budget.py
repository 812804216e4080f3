"""send budget shared by every instance

Revision ID: 569abb8532d6
Revises: 66be102f020b
Create Date: 2026-12-05 04:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision: str = "569abb8532d6"
down_revision: str | None = "66be102f020b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_budget",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("tat", bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_send_budget")),
    )


def downgrade() -> None:
    op.drop_table("send_budget")
