"""shown questions (a chat's seen set), and the claim's index on (next_due_at, id)

Revision ID: 8e41c7d0b2a9
Revises: 3d9196e5f1d4
Create Date: 2026-12-05 07:30:00

One row per (chat, question), written with each delivery, with the instant a group was
last posted it (its rotation) or a private chat first shown it. "Already shown" (the
choice of a new question, a group's rotation) read every delivery row of a chat; this
reads at most one row per question of the bank. The rows are filled here from the
deliveries so far (one INSERT ... SELECT).

The dispatcher claims due chats ORDER BY next_due_at, id LIMIT batch: with the index on
next_due_at alone and thousands of chats due at the same minute, PostgreSQL read and
sorted all of them for every batch; (next_due_at, id) serves the order, and the lookups
the old index served.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision: str = "8e41c7d0b2a9"
down_revision: str | None = "3d9196e5f1d4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "shown_questions",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("question_id", sa.String(length=80), nullable=False),
        sa.Column("posted_at", bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_shown_questions_chat_id_chats"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", "question_id", name=op.f("pk_shown_questions")),
    )
    op.execute(
        "INSERT INTO shown_questions (chat_id, question_id, posted_at) "
        "SELECT chat_id, question_id, "
        "CASE WHEN chat_id < 0 THEN max(created_at) ELSE min(created_at) END FROM deliveries "
        "GROUP BY chat_id, question_id"
    )
    op.create_index("ix_chats_next_due_at_id", "chats", ["next_due_at", "id"], unique=False)
    op.drop_index("ix_chats_next_due_at", table_name="chats")


def downgrade() -> None:
    op.create_index("ix_chats_next_due_at", "chats", ["next_due_at"], unique=False)
    op.drop_index("ix_chats_next_due_at_id", table_name="chats")
    op.drop_table("shown_questions")
