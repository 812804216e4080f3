"""Typed-answer storage: the daily model-grader count, keeping and dropping answers."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import deliveries, people
from bot.storage import typed_answers as store
from bot.storage.models import TypedAnswerRow
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ADA = 1001


async def _person_with_delivery(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, ADA, now=NOW)
        row = await deliveries.create_delivery(
            session=session, chat_id=ADA, question_id="q1", now=NOW, daily_on=None
        )
        assert row is not None
        await session.flush()
        return row.id


async def test_the_daily_limit_counts_per_person_and_day(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _person_with_delivery(sessions)
    day, next_day = date(2026, 3, 2), date(2026, 3, 3)
    taken = []
    for _ in range(3):
        async with sessions() as session, session.begin():
            taken.append(await store.take_llm_request(ADA, day, 2, session=session))
    assert taken == [True, True, False]
    async with sessions() as session, session.begin():
        assert await store.take_llm_request(ADA, next_day, 2, session=session)
        assert not await store.take_llm_request(ADA, next_day, 0, session=session)
        assert await store.llm_requests(ADA, day, session=session) == 2
        assert await store.llm_requests(ADA, next_day, session=session) == 1


async def test_concurrent_requests_never_exceed_the_limit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _person_with_delivery(sessions)
    day = date(2026, 3, 2)

    async def take() -> bool:
        async with sessions() as session, session.begin():
            return await store.take_llm_request(ADA, day, 3, session=session)

    results = await asyncio.gather(*(take() for _ in range(8)))
    assert sorted(results) == [False] * 5 + [True] * 3
    async with sessions() as session:
        assert await store.llm_requests(ADA, day, session=session) == 3


async def test_kept_answers_and_turning_keeping_off(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    delivery_id = await _person_with_delivery(sessions)
    async with sessions() as session, session.begin():
        assert not await store.keeps_answers(ADA, session=session)
        assert await store.set_keep_answers(ADA, True, session=session)
        assert not await store.set_keep_answers(404, True, session=session)
        await store.record_check(
            ADA, ADA, delivery_id, "q1", session=session, now=NOW, checker="offline",
            covered=1, total=2, suggested_rating=3, answer="my words",
        )  # fmt: skip
    async with sessions() as session:
        kept = await store.kept_answers(ADA, session=session)
    assert [(k.question_id, k.answer, k.suggested_rating, k.rating) for k in kept] == [
        ("q1", "my words", 3, None)
    ]
    async with sessions() as session, session.begin():
        await store.set_keep_answers(ADA, False, session=session)
    async with sessions() as session:
        assert await store.kept_answers(ADA, session=session) == []
        row = await session.scalar(select(TypedAnswerRow))
        assert row is not None
        assert (row.status, row.answer, row.covered) == ("checked", None, 1)
    async with sessions() as session, session.begin():
        await people.forget_person(ADA, session=session)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(TypedAnswerRow)) == 0
