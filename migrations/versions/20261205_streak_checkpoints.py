"""streak checkpoints: the streak rules' state up to a date, one row per person

Revision ID: c4f1a9e2d7b3
Revises: 8e41c7d0b2a9
Create Date: 2026-12-05 10:40:00

Streaks read every study day of a person's history (one row per run of days, but a
scan of all their reviews' dates). A checkpoint holds the fold of the rules up to a date
no new grade can reach, so a streak reads only the reviews after it. The table starts
empty: each person's first read after the upgrade writes their row.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision: str = "c4f1a9e2d7b3"
down_revision: str | None = "8e41c7d0b2a9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "streak_checkpoints",
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("through_date", sa.Date(), nullable=False),
        sa.Column("run", sa.Integer(), nullable=False),
        sa.Column("longest", sa.Integer(), nullable=False),
        sa.Column("held", sa.SmallInteger(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("last_first_day", sa.Date(), nullable=True),
        sa.Column("last_day", sa.Date(), nullable=True),
        sa.Column("last_mark_at", bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_mark_offset", sa.SmallInteger(), nullable=True),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("person_id"),
    )


def downgrade() -> None:
    op.drop_table("streak_checkpoints")
