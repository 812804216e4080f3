"""drop deliveries (chat_id, question_id, created_at): shown_questions answers it

Revision ID: e5a7c9b1d3f2
Revises: d8e2f4a6b1c3
Create Date: 2026-12-05 16:00:00

Which questions a chat was shown is read from shown_questions (one row per question)
since revision 8e41c7d0b2a9; a topic quiz in a group was the last reader of this index.
Every delivery still wrote an entry into it, twice (its insert, then the update that
marks it sent), on a page of its own chat: with 100,000 chats of a year's history the
index is a gigabyte and most of those pages are not in memory at 09:00.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e5a7c9b1d3f2"
down_revision: str | None = "d8e2f4a6b1c3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_deliveries_chat_question", table_name="deliveries")


def downgrade() -> None:
    op.create_index(
        "ix_deliveries_chat_question",
        "deliveries",
        ["chat_id", "question_id", "created_at"],
        unique=False,
    )
