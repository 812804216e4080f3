"""A batch whose INSERT meets a daily row it did not see is redone one chat at a time:
the chat that has one gets nothing more, the others get their question, all move on."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from bot.storage import deliveries as delivery_store
from bot.storage.models import ChatRow, DeliveryRow, ShownQuestionRow
from tests.e2e.test_daily_loop import questions_in, start
from tests.support.bot_harness import FakeClock, RunningBot
from tests.support.fake_telegram import FakeTelegram

ADA, BEN = 1001, 1002
TODAY = date(2026, 3, 2)


async def test_a_daily_row_the_batch_did_not_see_makes_it_one_by_one(
    tg: FakeTelegram, bot: RunningBot, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.jobs.dispatch")
    await start(tg, ADA)
    await start(tg, BEN)
    services = bot.services
    # Ada's daily of today was given up on (expired): the batch's check for existing
    # dailies skips expired rows, so only the unique constraint meets it.
    async with services.sessions() as session, session.begin():
        row = await delivery_store.create_delivery(
            session=session, chat_id=ADA, question_id="q1", now=clock(), daily_on=TODAY
        )
        assert row is not None
        row.status = "expired"
    clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
    await tg.wait_for(lambda: len(questions_in(tg, BEN)) == 1)
    async with services.sessions() as session:
        chats = {
            chat: (due, last)
            for chat, due, last in await session.execute(
                select(ChatRow.id, ChatRow.next_due_at, ChatRow.last_delivered_on)
            )
        }
        dailies = {  # noqa: C416 - Row unpacking
            chat: status
            for chat, status in await session.execute(
                select(DeliveryRow.chat_id, DeliveryRow.status).where(DeliveryRow.daily_on == TODAY)
            )
        }
        ben_shown = set(
            await session.scalars(
                select(ShownQuestionRow.question_id).where(ShownQuestionRow.chat_id == BEN)
            )
        )
    tomorrow = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
    assert chats == {ADA: (tomorrow, TODAY), BEN: (tomorrow, TODAY)}
    assert questions_in(tg, ADA) == []
    assert set(dailies) == {ADA, BEN}
    assert dailies[ADA] == "expired"  # (Ben's is sent, or pending until its outcome commits)
    assert len(ben_shown) == 1
    assert "daily delivery race in a batch; claiming one by one" in caplog.messages
