"""A group's streak read from a window of its reviews, widened only while the streak fills it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.domain.schedule import local_date_of
from bot.storage import groups as group_store
from bot.storage.models import ChatRow, ReviewRow
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
GROUP = -100


async def _seed(sessions: async_sessionmaker[AsyncSession], days_ago: list[int]) -> None:
    await _seed_instants(sessions, [NOW - timedelta(days=days) for days in days_ago])


async def _seed_instants(
    sessions: async_sessionmaker[AsyncSession], instants: list[datetime]
) -> None:
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, 1, now=NOW)
        session.add(
            ChatRow(
                id=GROUP, kind="group", active=True, paused=False, timezone="UTC",
                delivery_time="09:00", days=127, decks="", created_at=NOW, updated_at=NOW,
            )
        )  # fmt: skip
        for index, at in enumerate(instants):
            session.add(
                ReviewRow(
                    person_id=1, question_id=f"q{index}", delivery_id=None, chat_id=GROUP,
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


# Grades at 18:10 and 18:20 UTC on 4 December fall in one UTC hour but on two local dates in
# Kathmandu (UTC+5:45): 23:55 on the 4th and 00:05 on the 5th. With a grade on the 3rd, the
# group studied on the 3rd, 4th and 5th there (it is 17:45 on the 5th); in UTC, on the 3rd
# and 4th only.
EDGE = [
    datetime(2026, 12, 3, 12, 0, tzinfo=UTC),
    datetime(2026, 12, 4, 18, 10, tzinfo=UTC),
    datetime(2026, 12, 4, 18, 15, tzinfo=UTC),
    datetime(2026, 12, 4, 18, 20, tzinfo=UTC),
]


@pytest.mark.parametrize(("zone", "streak"), [("Asia/Kathmandu", 3), ("UTC", 2)])
async def test_an_hour_of_grades_counts_on_every_local_date_it_spans(
    sessions: async_sessionmaker[AsyncSession], zone: str, streak: int
) -> None:
    await _seed_instants(sessions, EDGE)
    async with sessions() as session:
        found = await group_store.group_streak_on(
            GROUP, zone=zone, today=local_date_of(NOW, zone), session=session
        )
    assert found == streak
