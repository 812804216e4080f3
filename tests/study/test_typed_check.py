"""Checking a typed answer (bot/study/typed_check.py) against the database, with no Telegram:
the offline checker, the model grader (a fake OpenAI-compatible endpoint) within the daily
limit, keeping answers, a reveal that came first, and feedback that was never sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.domain.srs import Rating
from bot.rendering.typed_texts import PointLine
from bot.service.context import Services
from bot.storage import deliveries, llm_quota, people
from bot.storage.models import DeliveryRow, TypedAnswerRow
from bot.study.model_grader import ModelGrader
from bot.study.typed_check import (
    check_typed_answer,
    record_prompt,
    record_sent,
    start_typing,
)
from tests.support.bot_harness import FakeClock, small_bank, test_settings
from tests.support.databases import TestDatabase
from tests.support.fake_openai import FakeOpenAI
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)
ADA = 1001
BIAS_ANSWER = "Bias is the error that comes from wrong assumptions in the model."
BIAS = "Bias: error from wrong assumptions"
VARIANCE = "Variance: sensitivity to noise"


def services_for(
    database: TestDatabase,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    **overrides: object,
) -> Services:
    # The Bot API root is never called: nothing here talks to Telegram.
    settings = test_settings("http://127.0.0.1:9", database.url, **overrides)
    return Services(
        settings=settings,
        bank=small_bank(),
        engine=engine,
        sessions=sessions,
        clock=FakeClock(NOW),
    )


def model_services(
    database: TestDatabase,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    llm: FakeOpenAI,
    *,
    daily_limit: int,
) -> Services:
    return services_for(
        database,
        engine,
        sessions,
        llm_api_url=llm.base_url,
        llm_api_key=llm.key,
        llm_model="test-model",
        llm_daily_limit=daily_limit,
    )


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


async def delivery_of(services: Services, question_id: str = "bias-variance") -> DeliveryRow:
    async with services.sessions() as session, session.begin():
        if await people.get_person(ADA, session=session) is None:
            await add_person_with_private_chat(session, ADA, now=NOW)
        row = await deliveries.create_delivery(
            session=session, chat_id=ADA, question_id=question_id, now=NOW, daily_on=None
        )
        assert row is not None
        await session.flush()
    return row


async def attempts(services: Services) -> list[tuple[str, str | None, int | None, str | None]]:
    async with services.sessions() as session:
        rows = await session.scalars(select(TypedAnswerRow).order_by(TypedAnswerRow.id))
        return [(row.status, row.checker, row.covered, row.answer) for row in rows]


async def requests_today(services: Services) -> int:
    async with services.sessions() as session:
        return await llm_quota.llm_requests(ADA, TODAY, session=session)


async def test_the_offline_check_reveals_and_records_without_the_text(
    database: TestDatabase, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    services = services_for(database, engine, sessions)
    delivery = await delivery_of(services)
    check = await check_typed_answer(
        services, None, delivery=delivery, person_id=ADA, text=BIAS_ANSWER
    )
    assert check.outcome == "checked"
    assert check.judgement is not None
    assert check.judgement.points == (PointLine(BIAS, True), PointLine(VARIANCE, False))
    assert (check.judgement.checker, check.judgement.kind) == ("offline", "offline")
    assert check.judgement.suggested == Rating.GOOD
    assert check.judgement.charged_day is None
    assert check.truncated is False
    assert check.question is not None
    assert check.question.id == "bias-variance"
    assert await attempts(services) == [("checked", "offline", 1, None)]
    async with services.sessions() as session:
        revealed = await deliveries.get_delivery(delivery.id, session=session)
    assert revealed is not None
    assert revealed.revealed_at is not None
    # The answer is revealed now: the same text again cannot be checked fairly.
    again = await check_typed_answer(
        services, None, delivery=delivery, person_id=ADA, text=BIAS_ANSWER
    )
    assert again.outcome == "already_revealed"
    assert again.judgement is None


async def test_a_kept_answer_is_stored_cut_to_its_limit(
    database: TestDatabase, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    services = services_for(database, engine, sessions)
    delivery = await delivery_of(services)
    async with services.sessions() as session, session.begin():
        assert await people.set_keep_answers(ADA, True, session=session)
    text = BIAS_ANSWER + " and more" * 500  # 4,566 characters
    check = await check_typed_answer(services, None, delivery=delivery, person_id=ADA, text=text)
    assert check.outcome == "checked"
    assert check.truncated is True
    [(status, checker, covered, kept)] = await attempts(services)
    assert (status, checker, covered) == ("checked", "offline", 1)
    assert kept == text[:4000]


async def test_a_question_gone_from_the_bank(
    database: TestDatabase, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    services = services_for(database, engine, sessions)
    delivery = await delivery_of(services, question_id="removed-question")
    check = await check_typed_answer(services, None, delivery=delivery, person_id=ADA, text="x")
    assert check.outcome == "gone"
    assert await attempts(services) == []


async def test_the_model_judges_within_the_daily_limit(
    database: TestDatabase,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    llm: FakeOpenAI,
) -> None:
    services = model_services(database, engine, sessions, llm, daily_limit=1)
    grader = ModelGrader(services.settings)
    try:
        llm.covered, llm.grade = [False, True], "hard"
        first = await check_typed_answer(
            services, grader, delivery=await delivery_of(services), person_id=ADA, text=BIAS_ANSWER
        )
        assert first.judgement is not None
        assert first.judgement.points == (
            PointLine(BIAS, False),
            PointLine(VARIANCE, True),
        )
        assert first.judgement.suggested == Rating.HARD
        assert (first.judgement.checker, first.judgement.kind) == ("model", "model")
        assert first.judgement.model == "test-model"
        assert first.judgement.advice == "Mention the trade-off explicitly."
        assert first.judgement.charged_day == TODAY
        assert await requests_today(services) == 1
        # The day's one model check is used: the offline checker judges, the model is not asked.
        second = await check_typed_answer(
            services, grader, delivery=await delivery_of(services), person_id=ADA, text=BIAS_ANSWER
        )
        assert second.judgement is not None
        assert second.judgement.checker == "limit"
        assert second.judgement.points == (PointLine(BIAS, True), PointLine(VARIANCE, False))
        assert second.judgement.charged_day is None
        assert len(llm.calls) == 1
        assert await attempts(services) == [
            ("checked", "model", 1, None),
            ("checked", "offline", 1, None),
        ]
        # Feedback Telegram refused: the reveal is undone and the model check given back.
        await record_sent(services, first, None)
        assert await requests_today(services) == 0
        async with services.sessions() as session:
            undone = await deliveries.get_delivery(first.delivery.id, session=session)
        assert undone is not None
        assert undone.revealed_at is None
    finally:
        await grader.close()


async def test_a_failed_model_or_a_reveal_first_leaves_the_count(
    database: TestDatabase,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    llm: FakeOpenAI,
) -> None:
    services = model_services(database, engine, sessions, llm, daily_limit=5)
    grader = ModelGrader(services.settings)
    try:
        llm.status = 503
        failed = await check_typed_answer(
            services, grader, delivery=await delivery_of(services), person_id=ADA, text=BIAS_ANSWER
        )
        assert failed.judgement is not None
        assert (failed.judgement.checker, failed.judgement.charged_day) == ("fallback", None)
        assert await requests_today(services) == 0
        llm.status = 200
        # The answer was revealed (Show answer) while the model judged: nothing is recorded
        # and the model check does not count.
        delivery = await delivery_of(services)
        async with services.sessions() as session, session.begin():
            assert await deliveries.try_begin_reveal(delivery.id, session=session, now=NOW)
            await deliveries.record_answer_message(delivery.id, 77, session=session)
        services.clock.advance(timedelta(seconds=1))  # type: ignore[attr-defined]
        late = await check_typed_answer(
            services, grader, delivery=delivery, person_id=ADA, text=BIAS_ANSWER
        )
        assert late.outcome == "already_revealed"
        assert len(llm.calls) == 2
        assert await requests_today(services) == 0
        assert await attempts(services) == [("checked", "offline", 1, None)]
        sent = await check_typed_answer(
            services, grader, delivery=await delivery_of(services), person_id=ADA, text=BIAS_ANSWER
        )
        await record_sent(services, sent, 99)
        assert await requests_today(services) == 1
        async with services.sessions() as session:
            posted = await deliveries.get_delivery(sent.delivery.id, session=session)
        assert posted is not None
        assert posted.answer_message_id == 99
    finally:
        await grader.close()


async def test_start_typing_once_per_delivery(
    database: TestDatabase, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    services = services_for(database, engine, sessions)
    delivery = await delivery_of(services)
    assert (await start_typing(services, delivery_id=delivery.id, chat_id=2002)).outcome == "gone"
    started = await start_typing(services, delivery_id=delivery.id, chat_id=ADA)
    assert started.outcome == "started"
    assert started.attempt_id is not None
    # Not prompted yet (the prompt failed to send, say): a press starts the same attempt.
    again = await start_typing(services, delivery_id=delivery.id, chat_id=ADA)
    assert (again.outcome, again.attempt_id) == ("started", started.attempt_id)
    await record_prompt(services, started.attempt_id, 55)
    waiting = await start_typing(services, delivery_id=delivery.id, chat_id=ADA)
    assert (waiting.outcome, waiting.attempt_id) == ("waiting", started.attempt_id)
    await check_typed_answer(services, None, delivery=delivery, person_id=ADA, text=BIAS_ANSWER)
    shown = await start_typing(services, delivery_id=delivery.id, chat_id=ADA)
    assert shown.outcome == "already_revealed"
