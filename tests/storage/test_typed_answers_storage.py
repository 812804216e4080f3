"""Typed-answer storage: keeping and dropping answers (the model-grader count is in
test_llm_quota.py)."""

from __future__ import annotations

from datetime import UTC, datetime

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


async def test_kept_answers_and_turning_keeping_off(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    delivery_id = await _person_with_delivery(sessions)
    async with sessions() as session, session.begin():
        assert not await people.keeps_answers(ADA, session=session)
        assert await people.set_keep_answers(ADA, True, session=session)
        assert not await people.set_keep_answers(404, True, session=session)
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
        await people.set_keep_answers(ADA, False, session=session)
    async with sessions() as session:
        assert await store.kept_answers(ADA, session=session) == []
        row = await session.scalar(select(TypedAnswerRow))
        assert row is not None
        assert (row.status, row.answer, row.covered) == ("checked", None, 1)
    async with sessions() as session, session.begin():
        await people.forget_person(ADA, session=session)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(TypedAnswerRow)) == 0
