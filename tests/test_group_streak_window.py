"""A group's streak read from a window of its reviews, widened only while the streak fills it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import groups as group_store
from bot.storage.models import ChatRow, ReviewRow
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
GROUP = -100


async def _seed(sessions: async_sessionmaker[AsyncSession], days_ago: list[int]) -> None:
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, 1, now=NOW)
        session.add(
            ChatRow(
                id=GROUP, kind="group", active=True, paused=False, timezone="UTC",
                delivery_time="09:00", days=127, decks="", created_at=NOW, updated_at=NOW,
            )
        )  # fmt: skip
        for days in days_ago:
            at = NOW - timedelta(days=days)
            session.add(
                ReviewRow(
                    person_id=1, question_id=f"q{days}", delivery_id=None, chat_id=GROUP,
                    rating=3, source="group", reviewed_at=at, local_date=at.date(),
                    utc_offset_minutes=0,
                )
            )  # fmt: skip


@pytest.mark.parametrize(
    ("days_ago", "streak"),
    [
        ([0, 1, 2, 5, 6, 300], 3),  # short streak, old history: the first window decides
        ([*range(40), 45, 200], 40),  # longer than the first window: widened
        (list(range(1, 100)), 99),  # ending yesterday, longer than two windows
        ([], 0),
    ],
)
async def test_the_streak_is_the_same_as_counted_over_every_review(
    sessions: async_sessionmaker[AsyncSession], days_ago: list[int], streak: int
) -> None:
    await _seed(sessions, days_ago)
    async with sessions() as session:
        found = await group_store.group_streak_on(
            GROUP, zone="UTC", today=NOW.date(), session=session
        )
    assert found == streak
