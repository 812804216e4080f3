"""Storing a grade (bot.storage.learning.record_grade) in AUTOCOMMIT sessions on
PostgreSQL (one statement) and in a transaction on SQLite (two): exact rows."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.srs import CardState, Rating, review
from bot.storage import deliveries, learning
from bot.storage.database import create_autocommit_sessionmaker
from bot.storage.models import CardRow, ReviewRow
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 4, 8, 0, tzinfo=UTC)
ADA = 1001


async def _two_deliveries_of_one_question(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, ADA, now=NOW)
        ids = []
        for _ in range(2):
            row = await deliveries.create_delivery(
                session=session, chat_id=ADA, question_id="q1", now=NOW, daily_on=None
            )
            assert row is not None
            await session.flush()
            ids.append(row.id)
        return ids


def _grade(delivery_id: int, rating: Rating, at: datetime) -> ReviewRow:
    return ReviewRow(
        person_id=ADA,
        question_id="q1",
        delivery_id=delivery_id,
        chat_id=ADA,
        rating=int(rating),
        source="extra",
        reviewed_at=at,
        local_date=at.date(),
        utc_offset_minutes=0,
    )


async def test_a_grade_stores_the_review_and_the_card_once_per_delivery(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    first, second = await _two_deliveries_of_one_question(sessions)
    autocommit = create_autocommit_sessionmaker(engine)
    again = review(None, Rating.AGAIN, NOW)
    good = review(again, Rating.GOOD, LATER)

    async def store(delivery_id: int, rating: Rating, at: datetime, card: CardState) -> bool:
        async with autocommit() as session, session.begin():
            return await learning.record_grade(
                _grade(delivery_id, rating, at), card, session=session
            )

    assert await store(first, Rating.AGAIN, NOW, again)
    assert not await store(first, Rating.EASY, NOW, review(None, Rating.EASY, NOW)), "a double tap"
    assert await store(second, Rating.GOOD, LATER, good)

    async with sessions() as session:
        card = await session.get(CardRow, (ADA, "q1"))
        reviews = (
            await session.execute(
                select(ReviewRow.delivery_id, ReviewRow.rating).order_by(ReviewRow.id)
            )
        ).all()
        count = await session.scalar(select(func.count()).select_from(CardRow))
    assert count == 1
    assert card is not None
    assert (card.reps, card.lapses) == (2, 1)
    assert card.due == good.due
    assert card.updated_at == LATER
    assert CardState.from_dict(card.state) == good
    assert [tuple(row) for row in reviews] == [
        (first, int(Rating.AGAIN)),
        (second, int(Rating.GOOD)),
    ]
