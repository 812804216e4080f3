"""SIGTERM in the middle of a dispatch of 2,000 chats: out within 10 s, nothing lost or doubled.

The bot runs as ``python -m bot run`` (real clock) against the fake Bot API, which
answers slowly enough that the dispatch is still going when the signal comes.
The process must exit within 10 s having recorded every send Telegram accepted
and leaving no delivery that waits for its lease; a second process must then
serve exactly the chats that were not served, once each.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from apscheduler.schedulers.base import STATE_PAUSED
from sqlalchemy import func, select

from bot.app import build_application
from bot.service.lifecycle import BotService
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import DeliveryRow
from tests.support.bot_harness import TOKEN, FakeClock, small_bank, test_settings, write_bank
from tests.support.bot_process import (
    delivery_counts,
    start_bot,
    subscribe_chats,
    wait_until,
    zone_near_noon,
)
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram

ADA = 1001
CHATS = range(20_000, 22_000)
SIGNAL_AFTER = 300
EXIT_WITHIN_SECONDS = 10.0


def _served(tg: FakeTelegram) -> dict[int, int]:
    counts: dict[int, int] = {}
    for message in tg.sent(method="sendMessage"):
        counts[message.chat_id] = counts.get(message.chat_id, 0) + 1
    return counts


async def _leased_pending(url: str, now: datetime) -> int:
    """Pending deliveries that would wait for their lease before anyone re-sends them."""
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            count = await session.scalar(
                select(func.count())
                .select_from(DeliveryRow)
                .where(DeliveryRow.status == "pending", DeliveryRow.lease_until > now)
            )
            return int(count or 0)
    finally:
        await engine.dispose()


async def test_sigterm_mid_dispatch_exits_fast_and_loses_nothing(
    database: TestDatabase, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    await subscribe_chats(
        database.url,
        CHATS,
        now=now,
        zone=zone_near_noon(now),
        due_at=now - timedelta(seconds=30),
    )
    content = write_bank(small_bank(), tmp_path / "content")
    log_path = tmp_path / "bot.log"
    # The default lease: a delivery left pending with its lease would wait a minute.
    lease = {"DELIVERY_LEASE_SECONDS": "60"}

    with log_path.open("ab") as log:
        async with FakeTelegram(token=TOKEN) as tg:
            tg.latency = 0.02  # slow enough that 2,000 sends take several seconds
            for chat_id in CHATS:
                tg.private_chat(chat_id, "P").seen = True

            first = await start_bot(tg, database.url, content, log, **lease)
            try:
                await tg.wait_for(
                    lambda: len(tg.sent_messages()) >= SIGNAL_AFTER,
                    timeout=60,
                    what=f"{SIGNAL_AFTER} questions sent",
                )
                loop = asyncio.get_running_loop()
                signalled = loop.time()
                first.send_signal(signal.SIGTERM)
                async with asyncio.timeout(EXIT_WITHIN_SECONDS):
                    await first.wait()
                took = loop.time() - signalled
            finally:
                if first.returncode is None:
                    first.kill()
                    await first.wait()
            assert first.returncode == 0
            served_before = _served(tg)
            assert SIGNAL_AFTER <= len(served_before) < len(CHATS), "stopped mid-dispatch"
            # Every send Telegram accepted was recorded; nothing waits for a lease.
            counts = await delivery_counts(database.url)
            assert counts.get("sent", 0) == len(served_before), counts
            assert await _leased_pending(database.url, datetime.now(UTC)) == 0

            second = await start_bot(tg, database.url, content, log, **lease)
            try:
                await tg.wait_for(
                    lambda: len(tg.sent_messages()) >= len(CHATS),
                    timeout=60,
                    what="every chat served after the restart",
                )

                async def all_recorded() -> bool:
                    return await delivery_counts(database.url) == {"sent": len(CHATS)}

                await wait_until(all_recorded, 30, "every delivery recorded")
                await asyncio.sleep(1.0)  # a few more ticks: nothing more may arrive
            finally:
                second.send_signal(signal.SIGTERM)
                await second.wait()
            assert second.returncode == 0

    assert _served(tg) == dict.fromkeys(CHATS, 1)
    output = log_path.read_text(encoding="utf-8", errors="replace")
    assert "stopping: finishing what is in flight" in output
    assert TOKEN not in output
    assert "Traceback" not in output, output[output.find("Traceback") - 500 :][:4000]
    assert took < EXIT_WITHIN_SECONDS


async def test_stopping_starts_no_job_so_none_is_cancelled_before_it_runs(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """PTB's JobQueue.stop waits for the jobs running when it is called, then cancels
    any submitted since: a dispatcher tick due in that window ended in APScheduler's
    "Error running job" traceback. The service pauses the job queue as it begins to stop."""
    settings = test_settings(tg.api_root, database.url)  # a tick every 0.05 s
    service = BotService(
        build_application(settings, clock=clock, bank=small_bank()),
        settings,
        poll_interval=0.0,
        poll_timeout=1,
    )
    await service.start()
    scheduler = service.application.job_queue.scheduler  # type: ignore[union-attr]
    tg.private_chat(ADA, "Ada")
    held = tg.hold_call("sendMessage", chat_id=ADA)
    await tg.send_text(ADA, ADA, "/help")
    await asyncio.wait_for(held.arrived.wait(), timeout=10)
    with caplog.at_level(logging.INFO):
        stopping = asyncio.create_task(service.stop())
        services = service.application.bot_data.services
        assert services is not None
        await asyncio.wait_for(services.stopping.wait(), timeout=10)
        # An update is still being handled: the stop is draining, and no job may start.
        assert not held.released.is_set()
        assert scheduler.state == STATE_PAUSED
        held.release()
        await asyncio.wait_for(stopping, timeout=30)
    assert "Error running job" not in caplog.text
    assert any(m.plain_text and "/question" in m.plain_text for m in tg.sent(ADA))
