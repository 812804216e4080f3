"""indexes on reviews.delivery_id and typed_answers.delivery_id (their foreign keys)

Revision ID: a1c3e5f7b9d2
Revises: f6b8d0a2c4e7
Create Date: 2026-12-05 17:20:00

Deleting a delivery (retention's hourly prune of unsent ones, /forget) makes PostgreSQL
set its reviews' delivery_id to NULL and delete its typed answers, looking them up by
delivery_id: with no index starting with that column, each deleted delivery was a scan of
the whole table. With a year of 100,000 chats (36.5 million reviews), deleting 100,000
deliveries did not finish in 13 minutes. Every foreign key now has such an index
(tests/storage/test_foreign_key_indexes.py).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "a1c3e5f7b9d2"
down_revision: str | None = "f6b8d0a2c4e7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_reviews_delivery_id", "reviews", ["delivery_id"], unique=False)
    op.create_index("ix_typed_answers_delivery_id", "typed_answers", ["delivery_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_typed_answers_delivery_id", table_name="typed_answers")
    op.drop_index("ix_reviews_delivery_id", table_name="reviews")
