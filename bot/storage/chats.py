"""Chat rows ↔ ChatSettings, and claiming due chats for the dispatcher."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.chats import (
    ChatSettings,
    days_to_mask,
    format_hhmm,
    mask_to_days,
    parse_hhmm,
)
from bot.domain.schedule import Schedule
from bot.storage.models import ChatRow, ReviewRow


def to_settings(row: ChatRow) -> ChatSettings:
    return ChatSettings(
        chat_id=row.id,
        kind=row.kind,
        schedule=Schedule(
            local_time=parse_hhmm(row.delivery_time),
            timezone=row.timezone,
            days=mask_to_days(row.days),
        ),
        decks=tuple(deck for deck in row.decks.split(",") if deck),
        paused=row.paused,
        active=row.active,
        next_due_at=row.next_due_at,
        last_delivered_on=row.last_delivered_on,
    )


def apply_settings(row: ChatRow, settings: ChatSettings, *, now: datetime) -> None:
    """Copy settings onto a loaded row (flushed with the session)."""
    row.kind = settings.kind
    row.timezone = settings.schedule.timezone
    row.delivery_time = format_hhmm(settings.schedule.local_time)
    row.days = days_to_mask(settings.schedule.days)
    row.decks = ",".join(settings.decks)
    row.paused = settings.paused
    row.active = settings.active
    row.next_due_at = settings.next_due_at
    row.last_delivered_on = settings.last_delivered_on
    row.updated_at = now


async def get_chat(chat_id: int, *, session: AsyncSession) -> ChatSettings | None:
    row = await session.get(ChatRow, chat_id)
    return to_settings(row) if row is not None else None


async def save_chat(
    settings: ChatSettings, *, session: AsyncSession, now: datetime, title: str | None = None
) -> None:
    """Insert or update a chat's settings."""
    row = await session.get(ChatRow, settings.chat_id)
    if row is None:
        row = ChatRow(id=settings.chat_id, created_at=now, title=title)
        session.add(row)
    elif title is not None:
        row.title = title
    apply_settings(row, settings, now=now)
    await session.flush()


async def set_active(chat_id: int, active: bool, *, session: AsyncSession, now: datetime) -> bool:
    """Mark a chat (in)active, e.g. blocked by the user; True if it existed."""
    result = await session.execute(
        update(ChatRow).where(ChatRow.id == chat_id).values(active=active, updated_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def claim_due_chats(*, session: AsyncSession, now: datetime, limit: int) -> Sequence[ChatRow]:
    """Lock up to ``limit`` chats whose next due instant has come.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several dispatchers share the
    work without waiting for each other; SQLite serialises writers anyway.
    """
    query = (
        select(ChatRow)
        .where(ChatRow.next_due_at.is_not(None), ChatRow.next_due_at <= now)
        .where(ChatRow.active.is_(True), ChatRow.paused.is_(False))
        .order_by(ChatRow.next_due_at, ChatRow.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return (await session.scalars(query)).all()


async def migrate_chat(old_id: int, new_id: int, *, session: AsyncSession, now: datetime) -> None:
    """A group became a supergroup: move its settings and history to the new id.

    The deliveries follow through ``ON UPDATE CASCADE``. If a row for the new id
    was already created (its first update arrived first) the old one wins,
    because it carries the settings the admins chose.
    """
    if old_id == new_id:
        return
    existing = await session.get(ChatRow, new_id)
    if existing is not None:
        await session.delete(existing)
        await session.flush()
    await session.execute(
        update(ChatRow)
        .where(ChatRow.id == old_id)
        .values(id=new_id, kind="supergroup", updated_at=now)
    )
    # Reviews name their chat without a foreign key (they outlive a chat's row).
    await session.execute(
        update(ReviewRow).where(ReviewRow.chat_id == old_id).values(chat_id=new_id)
    )
    session.expire_all()
