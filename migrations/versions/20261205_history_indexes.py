"""indexes for reads bounded by need, not by history

Revision ID: 3d9196e5f1d4
Revises: 569abb8532d6
Create Date: 2026-12-05 04:30:00

A chat's shown questions (and when each was last posted) come from an index on
deliveries (chat_id, question_id, created_at) alone; a person's study days and
reviews per day from reviews (person_id, local_date); a group's reviews from
reviews (chat_id, reviewed_at), which had no index at all.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "3d9196e5f1d4"
down_revision: str | None = "569abb8532d6"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_chat_question",
        "deliveries",
        ["chat_id", "question_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_reviews_person_local_date", "reviews", ["person_id", "local_date"], unique=False
    )
    op.create_index("ix_reviews_chat_at", "reviews", ["chat_id", "reviewed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_reviews_chat_at", table_name="reviews")
    op.drop_index("ix_reviews_person_local_date", table_name="reviews")
    op.drop_index("ix_deliveries_chat_question", table_name="deliveries")
