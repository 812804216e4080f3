"""processed updates: when a claim was taken and when its update was handled

A webhook update is acknowledged to Telegram only once handled; the claim row now
records when it was taken (``claimed_at``, renewed while the update is handled) and
when the update was handled (``done_at``), so that Telegram's retry of an update
whose claimer died takes it over instead of being answered as a duplicate. Rows
that existed before were claimed under the old rule (handled or lost): they count
as done. Pruning now goes by ``done_at``.

Revision ID: 66be102f020b
Revises: b7e6176160c3
Create Date: 2026-12-05 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision: str = "66be102f020b"
down_revision: str | None = "b7e6176160c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("processed_updates") as batch:
        batch.add_column(
            sa.Column("claimed_at", bot.storage.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("done_at", bot.storage.types.UTCDateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE processed_updates SET claimed_at = received_at, done_at = received_at")
    with op.batch_alter_table("processed_updates") as batch:
        batch.alter_column(
            "claimed_at",
            existing_type=bot.storage.types.UTCDateTime(timezone=True),
            nullable=False,
        )
        batch.drop_index("ix_processed_updates_received_at")
        batch.create_index("ix_processed_updates_done_at", ["done_at"], unique=False)


def downgrade() -> None:
    # Claims never handled would look handled under the old rule: forget them instead.
    op.execute("DELETE FROM processed_updates WHERE done_at IS NULL")
    with op.batch_alter_table("processed_updates") as batch:
        batch.drop_index("ix_processed_updates_done_at")
        batch.create_index("ix_processed_updates_received_at", ["received_at"], unique=False)
        batch.drop_column("done_at")
        batch.drop_column("claimed_at")
