"""notices: the outbox of one-off messages to people (the decks they added are gone)

Revision ID: d8e2f4a6b1c3
Revises: c4d5e6f7a8b9
Create Date: 2026-12-05 13:20:00

A row is written in the transaction of the /forget or deck delete that owes it and
deleted once sent (bot/jobs/notices.py), so a notice survives a crash between the
commit and the send, and any instance sends it once its claim's lease has run out.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision: str = "d8e2f4a6b1c3"
down_revision: str | None = "c4d5e6f7a8b9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("lease_until", bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_notices_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    op.create_index("ix_notices_lease_until_id", "notices", ["lease_until", "id"])
    op.create_index(op.f("ix_notices_person_id"), "notices", ["person_id"])


def downgrade() -> None:
    op.drop_table("notices")
