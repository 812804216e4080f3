"""Kill the real bot process in the middle of a dispatch, restart it: one question per chat.

The bot runs as ``python -m bot run`` (a separate process, real clock) against the
fake Bot API in this test's event loop. After a number of sends the fake holds
further sendMessage requests unanswered, the test waits until the database has
recorded every answered send, then SIGKILLs the process. The held requests are
then dropped unprocessed, as if the process had died before they reached
Telegram. A second process must deliver to every remaining chat exactly once and
must not repeat any chat that was served before the crash.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from bot.domain.chats import ChatSettings
from bot.domain.schedule import Schedule
from bot.storage import chats as chat_store
from bot.storage import people
from bot.storage.database import create_engine, create_sessionmaker
from tests.support.bot_harness import TOKEN, small_bank, write_bank
from tests.support.bot_process import delivery_counts, start_bot
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram
from tests.support.fake_telegram_spec import ApiError

CHATS = 60
ANSWERED_BEFORE_CRASH = 25


class HoldingTelegram(FakeTelegram):
    """A fake Bot API that stops answering sendMessage after a number of sends."""

    def __init__(self, *, answer_first: int) -> None:
        super().__init__(token=TOKEN)
        self.answer_first = answer_first
        self.held = 0
        self.release = asyncio.Event()
        self.drop_held = False
        self._send_calls = 0

    async def _dispatch(
        self, token: str, method: str, raw: dict[str, Any]
    ) -> tuple[dict[str, Any], Any]:
        if method == "sendMessage":
            self._send_calls += 1
            if self._send_calls > self.answer_first and not self.release.is_set():
                self.held += 1
                await self.release.wait()
                if self.drop_held:
                    # The process that sent this died before Telegram processed it.
                    raise ApiError(502, "Bad Gateway: the sender is gone")
        return await super()._dispatch(token, method, raw)


def _zone_near_noon(now: datetime) -> str:
    """A fixed-offset zone where it is around noon now, so the local day cannot roll over."""
    offset = (12 - now.hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


async def _subscribe_due_chats(url: str, now: datetime, zone: str) -> None:
    engine = create_engine(url)
    sessions = create_sessionmaker(engine)
    try:
        async with sessions() as session, session.begin():
            for index in range(CHATS):
                chat_id = 5000 + index
                await people.upsert_person(
                    chat_id, session=session, first_name="P", username=None, timezone=zone, now=now
                )
                settings = ChatSettings(
                    chat_id=chat_id,
                    kind="private",
                    schedule=Schedule(
                        local_time=time(0, 0), timezone=zone, days=frozenset(range(7))
                    ),
                    decks=("ml", "nlp"),
                    next_due_at=now - timedelta(seconds=30),
                )
                await chat_store.save_chat(settings, session=session, now=now)
    finally:
        await engine.dispose()


async def _count_sent(url: str) -> tuple[int, int]:
    """(sent deliveries, all deliveries)."""
    counts = await delivery_counts(url)
    return counts.get("sent", 0), sum(counts.values())


def _start_bot(
    tg: FakeTelegram, url: str, content: Path, log: BinaryIO
) -> Awaitable[asyncio.subprocess.Process]:
    """The real bot process, leases short (1 s) and every log line kept (DEBUG)."""
    return start_bot(tg, url, content, log, DELIVERY_LEASE_SECONDS="1", LOG_LEVEL="DEBUG")


async def _wait(predicate_coro: Any, limit: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not await predicate_coro():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_killed_mid_dispatch_every_chat_gets_exactly_one(
    database: TestDatabase, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    zone = _zone_near_noon(now)
    await _subscribe_due_chats(database.url, now, zone)
    content = write_bank(small_bank(), tmp_path / "content")
    log_path = tmp_path / "bot.log"

    with log_path.open("ab") as log:
        async with HoldingTelegram(answer_first=ANSWERED_BEFORE_CRASH) as tg:
            for index in range(CHATS):
                tg.private_chat(5000 + index, "P").seen = True

            first = await _start_bot(tg, database.url, content, log)
            try:
                await tg.wait_for(lambda: tg.held > 0, timeout=60, what="sends held mid-dispatch")

                async def answered_sends_recorded() -> bool:
                    sent, _ = await _count_sent(database.url)
                    return sent >= ANSWERED_BEFORE_CRASH

                await _wait(answered_sends_recorded, 30, "the answered sends to be recorded")
            finally:
                first.send_signal(signal.SIGKILL)
                await first.wait()
            assert first.returncode == -signal.SIGKILL
            delivered_before = {m.chat_id for m in tg.sent(method="sendMessage")}
            assert len(delivered_before) == ANSWERED_BEFORE_CRASH
            tg.drop_held = True
            tg.release.set()
            await asyncio.sleep(0.2)

            second = await _start_bot(tg, database.url, content, log)
            try:
                await tg.wait_for(
                    lambda: len({m.chat_id for m in tg.sent(method="sendMessage")}) == CHATS,
                    timeout=60,
                    what="every chat served after the restart",
                )
                await asyncio.sleep(1.5)  # a few more ticks: nothing more may arrive
            finally:
                second.send_signal(signal.SIGTERM)
                await second.wait()

    per_chat: dict[int, int] = {}
    for message in tg.sent(method="sendMessage"):
        per_chat[message.chat_id] = per_chat.get(message.chat_id, 0) + 1
    assert per_chat == {5000 + index: 1 for index in range(CHATS)}
    sent, total = await _count_sent(database.url)
    assert (sent, total) == (CHATS, CHATS)
    output = log_path.read_text(encoding="utf-8", errors="replace")
    assert TOKEN not in output, "the token leaked into the logs at DEBUG"
    assert "Traceback" not in output, output[output.find("Traceback") - 500 :][:4000]
