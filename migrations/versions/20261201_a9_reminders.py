"""streak reminders

Revision ID: a9c0ffee2026
Revises: 5b1e0c9d2f47
Create Date: 2026-12-01 03:15:00

Every existing private chat gets the default reminder (20:00 local), with its
first instant computed like a new chat's, so reminders work for people who
subscribed before this revision.
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import bot.storage.types
from bot.domain.streak_reminders import DEFAULT_REMINDER, next_reminder

revision: str = "a9c0ffee2026"
down_revision: str | None = "5b1e0c9d2f47"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    reminders = op.create_table(
        "reminders",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("remind_at", sa.String(length=5), nullable=False),
        sa.Column("next_at", bot.storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_on", sa.Date(), nullable=True),
        sa.Column("updated_at", bot.storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["chat_id"],
            ["chats.id"],
            name=op.f("fk_reminders_chat_id_chats"),
            onupdate="CASCADE",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("chat_id", name=op.f("pk_reminders")),
    )
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminders_next_at"), ["next_at"], unique=False)

    now = datetime.now(UTC)
    chats = (
        op.get_bind()
        .execute(sa.text("SELECT id, timezone FROM chats WHERE kind = 'private'"))
        .all()
    )
    rows = [
        {
            "chat_id": chat_id,
            "enabled": True,
            "remind_at": DEFAULT_REMINDER.strftime("%H:%M"),
            "next_at": next_reminder(DEFAULT_REMINDER, zone, now=now, last_reminded=None),
            "last_on": None,
            "updated_at": now,
        }
        for chat_id, zone in chats
    ]
    if rows:
        op.bulk_insert(reminders, rows)


def downgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminders_next_at"))
    op.drop_table("reminders")
