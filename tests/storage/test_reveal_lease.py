"""A reveal's mark without an answer goes stale after REVEAL_LEASE and can be taken over,
so a crash between marking and sending never leaves a question revealed but unanswered
(bot.storage.deliveries, on both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import deliveries, typed_answers
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ADA = 1001
LEASE = deliveries.REVEAL_LEASE


async def _delivery(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, ADA, now=NOW)
        row = await deliveries.create_delivery(
            session=session, chat_id=ADA, question_id="q1", now=NOW, daily_on=None
        )
        assert row is not None
        await session.flush()
        return row.id


async def _begin(
    sessions: async_sessionmaker[AsyncSession], delivery_id: int, at: datetime
) -> bool:
    async with sessions() as session, session.begin():
        began = await deliveries.begin_reveal(
            delivery_id, ADA, card_of=ADA, session=session, now=at
        )
    return began is not None


async def _try(sessions: async_sessionmaker[AsyncSession], delivery_id: int, at: datetime) -> bool:
    async with sessions() as session, session.begin():
        return await deliveries.try_begin_reveal(delivery_id, session=session, now=at)


async def _answer(
    sessions: async_sessionmaker[AsyncSession], delivery_id: int, message_id: int | None
) -> None:
    async with sessions() as session, session.begin():
        await deliveries.record_answer_message(delivery_id, message_id, session=session)


async def test_a_mark_without_an_answer_is_taken_over_after_the_lease(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    delivery_id = await _delivery(sessions)
    assert await _begin(sessions, delivery_id, NOW)
    # The process that marked it is sending (or died): nobody else may, for the lease.
    assert not await _begin(sessions, delivery_id, NOW + LEASE - timedelta(seconds=1))
    assert not await _try(sessions, delivery_id, NOW + LEASE - timedelta(seconds=1))
    # Then the mark is stale: one taker gets it, with a fresh mark.
    later = NOW + LEASE
    assert await _begin(sessions, delivery_id, later)
    assert not await _try(sessions, delivery_id, later + timedelta(seconds=1))
    assert await _try(sessions, delivery_id, later + LEASE)
    await _answer(sessions, delivery_id, 77)
    # Answered: revealed for good.
    assert not await _begin(sessions, delivery_id, NOW + timedelta(days=3))
    assert not await _try(sessions, delivery_id, NOW + timedelta(days=3))
    async with sessions() as session:
        row = await deliveries.get_delivery(delivery_id, session=session)
    assert row is not None
    assert row.answer_message_id == 77
    assert deliveries.answer_shown(row, NOW + timedelta(days=3))


async def test_a_failed_slow_reveal_does_not_undo_the_answer_another_posted(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    delivery_id = await _delivery(sessions)
    assert await _begin(sessions, delivery_id, NOW)  # a slow process...
    assert await _begin(sessions, delivery_id, NOW + LEASE)  # ...taken over
    await _answer(sessions, delivery_id, 78)  # the taker posted the answer
    await _answer(sessions, delivery_id, None)  # the slow one failed at last
    async with sessions() as session:
        row = await deliveries.get_delivery(delivery_id, session=session)
    assert row is not None
    assert row.revealed_at is not None
    assert row.answer_message_id == 78


def test_answer_shown_and_pending() -> None:
    row = deliveries.new_delivery(
        chat_id=ADA, question_id="q1", now=NOW, daily_on=None, lease=timedelta(seconds=60)
    )
    assert not deliveries.answer_shown(row, NOW)
    row.revealed_at = NOW
    assert deliveries.answer_pending(row, NOW + LEASE - timedelta(seconds=1))
    assert deliveries.answer_shown(row, NOW + LEASE - timedelta(seconds=1))
    assert not deliveries.answer_pending(row, NOW + LEASE)
    assert not deliveries.answer_shown(row, NOW + LEASE)
    row.answer_message_id = 5
    assert deliveries.answer_shown(row, NOW + timedelta(days=1))
    assert not deliveries.answer_pending(row, NOW)


async def test_a_typed_answer_awaits_again_once_the_reveal_mark_is_stale(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    delivery_id = await _delivery(sessions)
    async with sessions() as session, session.begin():
        await typed_answers.begin_typing(ADA, ADA, delivery_id, "q1", session=session, now=NOW)

    async def awaiting(at: datetime) -> bool:
        async with sessions() as session:
            found = await typed_answers.latest_awaiting(ADA, ADA, session=session, now=at)
        return found is not None

    assert await awaiting(NOW)
    assert await _begin(sessions, delivery_id, NOW)  # marked, then the process died
    assert not await awaiting(NOW + LEASE - timedelta(seconds=1))
    assert await awaiting(NOW + LEASE)
