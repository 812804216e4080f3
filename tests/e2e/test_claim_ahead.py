"""The dispatcher claims its next batch while a batch is being sent (issue 15: dispatch rate).

Claiming waits on the database and sending on Telegram: done strictly one after the
other, no send was in flight while a batch was claimed, and no claim ran while the
last sends of a batch were answered. Here the first daily send is held unanswered:
the second batch must be claimed (and leased) meanwhile, and once the send is
answered every chat gets exactly one daily question.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import DeliveryRow
from tests.support.bot_harness import FakeClock, running_bot, test_settings
from tests.support.bot_process import subscribe_chats, wait_until, zone_near_noon
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram

# At SEND_RATE_LIMIT=10 a claim takes 50 chats (bot/jobs/dispatch.py, batch_size): two batches.
CHATS = range(30_000, 30_060)


async def _deliveries(url: str) -> tuple[int, int, int]:
    """(deliveries, of them pending with a lease, of them sent)."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            total = await session.scalar(select(func.count()).select_from(DeliveryRow))
            leased = await session.scalar(
                select(func.count()).where(
                    DeliveryRow.status == "pending", DeliveryRow.lease_until.is_not(None)
                )
            )
            sent = await session.scalar(select(func.count()).where(DeliveryRow.status == "sent"))
            return int(total or 0), int(leased or 0), int(sent or 0)
    finally:
        await engine.dispose()


async def _status_of(url: str, chat_id: int) -> str | None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return await session.scalar(
                select(DeliveryRow.status).where(DeliveryRow.chat_id == chat_id)
            )
    finally:
        await engine.dispose()


async def test_the_next_batch_is_claimed_while_a_send_is_in_flight(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> None:
    now = clock()
    await subscribe_chats(database.url, CHATS, now=now, zone=zone_near_noon(now), due_at=now)
    for chat_id in CHATS:
        tg.private_chat(chat_id, "P").seen = True
    held = tg.hold_call("sendMessage", chat_id=CHATS[0])  # the first batch's first send
    settings = test_settings(tg.api_root, database.url, send_rate_limit=10)
    async with running_bot(settings, clock):
        await asyncio.wait_for(held.arrived.wait(), 30)

        async def both_batches_claimed() -> bool:
            total, _, _ = await _deliveries(database.url)
            return total == len(CHATS)

        await wait_until(both_batches_claimed, 15, "the second batch claimed during a send")
        # Claimed while that send is unanswered (strictly in turn, the second batch was
        # claimed only once the first was sent and recorded).
        assert await _status_of(database.url, CHATS[0]) == "pending"
        total, leased, sent = await _deliveries(database.url)
        assert leased == total - sent
        assert leased >= 11  # the held send and the second batch
        held.release()

        async def all_sent() -> bool:
            return (await _deliveries(database.url))[2] == len(CHATS)

        await wait_until(all_sent, 60, "every daily question sent")
    dailies = [
        int(str(call.params["chat_id"]))
        for call in tg.calls("sendMessage")
        if "Question of the day" in str(call.params.get("text", ""))
    ]
    assert sorted(dailies) == list(CHATS)
