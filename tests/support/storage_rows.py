"""Rows the storage tests start from, added through the bot's own storage functions."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.streaks import StudyMark
from bot.storage import people
from bot.storage.models import ChatRow, ReviewRow


async def add_person_with_private_chat(
    session: AsyncSession, person_id: int, *, now: datetime, decks: str = "ml"
) -> None:
    """A person and their private chat (UTC, 09:00, every day), flushed."""
    await people.upsert_person(
        person_id, session=session, first_name="Ada", username=None, timezone="UTC", now=now
    )
    session.add(
        ChatRow(
            id=person_id, kind="private", active=True, paused=False, timezone="UTC",
            delivery_time="09:00", days=127, decks=decks, created_at=now, updated_at=now,
        )
    )  # fmt: skip
    await session.flush()


def study_reviews(person: int, marks: Sequence[StudyMark]) -> list[ReviewRow]:
    """One Good review by ``person`` in their private chat at each mark (not added)."""
    return [
        ReviewRow(
            person_id=person,
            question_id=f"q{n}",
            delivery_id=None,
            chat_id=person,
            rating=3,
            source="extra",
            reviewed_at=mark.at,
            local_date=mark.local_date,
            utc_offset_minutes=mark.utc_offset_minutes,
        )
        for n, mark in enumerate(marks)
    ]
