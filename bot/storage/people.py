"""Person rows: Telegram users, who own cards, reviews and streaks."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage import decks, llm_quota, notices, typed_answers
from bot.storage.models import (
    CardRow,
    ChatRow,
    DeliveryRow,
    PersonRow,
    ReminderRow,
    ReviewRow,
    ShownQuestionRow,
)


async def upsert_person(
    person_id: int,
    *,
    session: AsyncSession,
    first_name: str,
    username: str | None,
    timezone: str,
    now: datetime,
) -> PersonRow:
    """The person's row, created on first sight; names refreshed on every visit."""
    row = await session.get(PersonRow, person_id)
    if row is None:
        row = PersonRow(
            id=person_id,
            first_name=first_name[:255],
            username=username,
            timezone=timezone,
            created_at=now,
        )
        session.add(row)
    else:
        row.first_name = first_name[:255]
        row.username = username
    await session.flush()
    return row


async def get_person(person_id: int, *, session: AsyncSession) -> PersonRow | None:
    return await session.get(PersonRow, person_id)


async def set_person_timezone(person_id: int, timezone: str, *, session: AsyncSession) -> None:
    row = await session.get(PersonRow, person_id)
    if row is not None:
        row.timezone = timezone


async def keeps_answers(person_id: int, *, session: AsyncSession) -> bool:
    """The person's "Keep my typed answers" setting (False for no such person)."""
    return bool(
        await session.scalar(select(PersonRow.keep_typed_answers).where(PersonRow.id == person_id))
    )


async def set_keep_answers(person_id: int, keep: bool, *, session: AsyncSession) -> bool:
    """Turn keeping on or off; off also deletes what was kept. False if no such person."""
    result = await session.execute(
        update(PersonRow).where(PersonRow.id == person_id).values(keep_typed_answers=keep)
    )
    if not keep:
        await typed_answers.clear_kept(person_id, session=session)
    return bool(getattr(result, "rowcount", 0))


async def forget_person(person_id: int, *, session: AsyncSession) -> None:
    """Delete everything stored about a person and their private chat.

    Explicit statements rather than relying on ON DELETE CASCADE alone, so the
    order is clear and nothing depends on a connection's foreign-key pragma.
    """
    await typed_answers.forget(person_id, session=session)
    await decks.forget_owner(person_id, session=session)
    await llm_quota.forget(person_id, session=session)
    await notices.forget(person_id, session=session)
    await session.execute(delete(ReviewRow).where(ReviewRow.person_id == person_id))
    await session.execute(delete(CardRow).where(CardRow.person_id == person_id))
    await session.execute(delete(DeliveryRow).where(DeliveryRow.chat_id == person_id))
    await session.execute(delete(ShownQuestionRow).where(ShownQuestionRow.chat_id == person_id))
    await session.execute(delete(ReminderRow).where(ReminderRow.chat_id == person_id))
    await session.execute(delete(ChatRow).where(ChatRow.id == person_id))
    await session.execute(delete(PersonRow).where(PersonRow.id == person_id))
