"""Daily broadcast options: paid broadcasts, and lateness reported in the dispatcher's log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import DeliveryRow
from tests.e2e.test_daily_loop import ADA, questions_in, start
from tests.support.bot_harness import FakeClock, RunningBot, running_bot, test_settings
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram


@pytest.fixture
async def paid_bot(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> AsyncIterator[RunningBot]:
    settings = test_settings(tg.api_root, database.url, broadcast_paid=True, send_rate_limit=30)
    async with running_bot(settings, clock) as running:
        yield running


def _question_sends(tg: FakeTelegram) -> list[dict[str, object]]:
    return [
        call.params
        for call in tg.calls("sendMessage")
        if "Question of the day" in str(call.params.get("text", ""))
    ]


async def _nothing_pending(url: str) -> bool:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            pending = await session.scalar(
                select(func.count()).where(DeliveryRow.status == "pending")
            )
            return pending == 0
    finally:
        await engine.dispose()


async def test_paid_broadcast_sends_daily_questions_with_allow_paid_broadcast(
    tg: FakeTelegram, paid_bot: RunningBot, clock: FakeClock, database: TestDatabase
) -> None:
    await start(tg)
    await tg.send_text(ADA, ADA, "/next")
    await tg.wait_for(lambda: any("Extra question" in q for q in questions_in(tg, ADA)))
    # The extra question's send is recorded after Telegram answered it. Moving the clock an
    # hour on before that would leave its delivery pending past its lease, and the dispatcher
    # would rightly send it again (at least once) as a broadcast.
    for _ in range(400):
        if await _nothing_pending(database.url):
            break
        await asyncio.sleep(0.025)
    else:
        pytest.fail("the extra question's send was never recorded")
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await tg.wait_for(lambda: len(_question_sends(tg)) == 1, what="the daily question")
    daily = _question_sends(tg)[0]
    assert daily.get("allow_paid_broadcast") in {True, "true", "True"}
    # Replies to people are not paid broadcasts.
    replies = [
        c.params
        for c in tg.calls("sendMessage")
        if "Question of the day" not in str(c.params.get("text", ""))
    ]
    assert replies
    paid = [params for params in replies if "allow_paid_broadcast" in params]
    assert paid == [], tg.dump()


async def test_free_broadcast_by_default(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock
) -> None:
    await start(tg)
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await tg.wait_for(lambda: len(_question_sends(tg)) == 1, what="the daily question")
    assert "allow_paid_broadcast" not in _question_sends(tg)[0]


async def test_dispatcher_logs_how_late_its_sends_were(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    await start(tg)
    caplog.set_level(logging.INFO, logger="bot.jobs.dispatch")
    # The clock stands still at 09:00:07 while the tick runs: 7 s late, exactly.
    clock.set(datetime(2026, 3, 2, 9, 0, 7, tzinfo=UTC))
    await tg.wait_for(lambda: len(_question_sends(tg)) == 1, what="the daily question")
    await tg.wait_for(
        lambda: any("lateness" in r.getMessage() for r in caplog.records), what="the log line"
    )
    line = next(r.getMessage() for r in caplog.records if "lateness" in r.getMessage())
    assert "1 claimed, 1 sent" in line
    assert "lateness p50 7.0 s, max 7.0 s" in line
