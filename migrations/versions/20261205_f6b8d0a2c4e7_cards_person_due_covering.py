"""cards (person_id, due, question_id): choosing a question reads the index alone

Revision ID: f6b8d0a2c4e7
Revises: e5a7c9b1d3f2
Create Date: 2026-12-05 16:55:00

The dispatcher reads each due person's five soonest-due cards, (question_id, due), through
(person_id, due). With question_id outside the index every one of those cards was a read of
its table page: with 100,000 chats of a year's history, 592,000 pages of cards (4.8 GB) read
from disk for one broadcast, half of all it read (pg_statio_user_tables). With it in the
index the read is an index-only scan: one or two index pages per person. /stats's cards due
soon (the same columns) are read the same way.

An index-only scan skips the table only for pages the visibility map marks all-visible, and
every grade rewrites a card. PostgreSQL's default vacuums a table once a fifth of its rows
changed (for a year of 100,000 learners, 60 days of grades); cards are vacuumed after a
hundredth here, a few days of grades at that size, so the pages of the people who graded
lately are all-visible again soon.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f6b8d0a2c4e7"
down_revision: str | None = "e5a7c9b1d3f2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_cards_person_due_question", "cards", ["person_id", "due", "question_id"], unique=False
    )
    op.drop_index("ix_cards_person_due", table_name="cards")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE cards SET (autovacuum_vacuum_scale_factor = 0.01)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE cards RESET (autovacuum_vacuum_scale_factor)")
    op.create_index("ix_cards_person_due", "cards", ["person_id", "due"], unique=False)
    op.drop_index("ix_cards_person_due_question", table_name="cards")
