"""own decks: decks people upload, who added them, the upload log

Revision ID: c4d5e6f7a8b9
Revises: c4f1a9e2d7b3
Create Date: 2026-12-05 10:06:18

Only each deck's current version is stored, its questions as one JSON document in
``decks.questions`` (a deck is written and read whole); ``decks.version`` counts replaces
and keys the process's deck cache. Cards, deliveries and reviews refer to an own
deck's questions as ``u<deck id>-<question id>`` (bot/domain/own_decks.py), so no column
of theirs changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import bot.storage.types

revision: str = "c4d5e6f7a8b9"
down_revision: str | None = "c4f1a9e2d7b3"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deck_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("uploaded_at", bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_deck_uploads_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deck_uploads")),
    )
    op.create_index("ix_deck_uploads_person_at", "deck_uploads", ["person_id", "uploaded_at"])

    op.create_table(
        "decks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("question_count", sa.Integer(), nullable=False),
        sa.Column("questions", sa.Text(), nullable=False),
        sa.Column("share_code", sa.String(length=64), nullable=True),
        sa.Column(
            "replace_requested_at", bot.storage.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("created_at", bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["people.id"], name=op.f("fk_decks_owner_id_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decks")),
        sa.UniqueConstraint("share_code", name=op.f("uq_decks_share_code")),
    )
    op.create_index(op.f("ix_decks_owner_id"), "decks", ["owner_id"])

    op.create_table(
        "added_decks",
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("deck_id", sa.Integer(), nullable=False),
        sa.Column("added_at", bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["deck_id"], ["decks.id"], name=op.f("fk_added_decks_deck_id_decks"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_added_decks_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", "deck_id", name=op.f("pk_added_decks")),
    )
    op.create_index(op.f("ix_added_decks_deck_id"), "added_decks", ["deck_id"])


def downgrade() -> None:
    op.drop_table("added_decks")
    op.drop_table("decks")
    op.drop_table("deck_uploads")
