"""/question and the dispatcher's tick on the same chat at once (issue 14's exactly-once,
under issue 18's row locks): one daily delivery, and no deadlock.

The dispatcher's claim locks the chat's row (``FOR UPDATE``), then records today's
delivery. /question recorded today's delivery first: its row entered the unique index,
then the foreign key's check on the chat (``FOR KEY SHARE``) waited for the tick's lock,
while the tick's own insert of the same (chat, day) waited for /question's row: a
deadlock, which PostgreSQL broke by failing one of them (seen as an intermittent
"deadlock detected" in tests/e2e/test_fuzz.py, for a group's /question). Now /question
locks the chat's row before anything else, as the claim does. The interleaving is
forced: the tick is held at its insert, after its claim (tests/support/statement_gate.py);
/question runs into it; then the tick goes on.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import func, select
from telegram import Bot

from bot.jobs.dispatch import dispatch_due
from bot.service.context import Services
from bot.storage.models import DeliveryRow
from bot.study import subscription
from bot.study.people import Person
from bot.study.questions import Asked, ask
from tests.support.bot_harness import TOKEN
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram
from tests.support.statement_gate import StatementGate, blocked_or_done

SUBSCRIBED = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DUE = datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC)  # just after the default 09:00 UTC
ADA = Person(1001, "Ada")
DELIVERY_INSERT = r"^INSERT INTO deliveries\b"  # the tick's, after its claim


async def test_question_and_a_tick_at_once_make_one_daily_delivery(
    services: Services, database: TestDatabase
) -> None:
    await subscription.subscribe(
        services, chat_id=ADA.id, chat_kind="private", person=ADA, now=SUBSCRIBED
    )
    async with FakeTelegram(token=TOKEN) as tg:
        tg.private_chat(ADA.id, ADA.first_name).seen = True  # as after her /start
        bot = Bot(TOKEN, base_url=f"{tg.api_root}/bot")
        async with bot:
            with StatementGate(services.engine, DELIVERY_INSERT) as gate:
                tick = asyncio.ensure_future(dispatch_due(bot, services, now=DUE))
                await gate.wait_arrived()  # the chat claimed, today's row not yet written
                asked = asyncio.ensure_future(ask(services, chat_id=ADA.id, daily=True, now=DUE))
                await blocked_or_done(asked, database, gate)
                gate.release()
                async with asyncio.timeout(20):
                    report, result = await tick, await asked
    assert result.outcome is Asked.READY
    assert report.failed == 0
    async with services.sessions() as session:
        dailies = await session.scalar(
            select(func.count()).select_from(DeliveryRow).where(DeliveryRow.daily_on.is_not(None))
        )
    assert dailies == 1
