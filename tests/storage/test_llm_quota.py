"""The model grader's daily count (bot/storage/llm_quota.py): per person and day, atomic
under concurrent answers, given back when feedback never arrived, gone with /forget."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import llm_quota as store
from bot.storage import people
from bot.storage.models import LlmUsageRow
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
ADA = 1001


async def _person(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, ADA, now=NOW)


async def test_the_daily_limit_counts_per_person_and_day(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _person(sessions)
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
    await _person(sessions)
    day = date(2026, 3, 2)

    async def take() -> bool:
        async with sessions() as session, session.begin():
            return await store.take_llm_request(ADA, day, 3, session=session)

    results = await asyncio.gather(*(take() for _ in range(8)))
    assert sorted(results) == [False] * 5 + [True] * 3
    async with sessions() as session:
        assert await store.llm_requests(ADA, day, session=session) == 3


async def test_give_back_never_goes_below_zero_and_forget_deletes_the_counts(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await _person(sessions)
    day = date(2026, 3, 2)
    async with sessions() as session, session.begin():
        assert await store.take_llm_request(ADA, day, 2, session=session)
        await store.give_back_llm_request(ADA, day, session=session)
        await store.give_back_llm_request(ADA, day, session=session)
        assert await store.llm_requests(ADA, day, session=session) == 0
        assert await store.take_llm_request(ADA, day, 2, session=session)
    async with sessions() as session, session.begin():
        await people.forget_person(ADA, session=session)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(LlmUsageRow)) == 0
