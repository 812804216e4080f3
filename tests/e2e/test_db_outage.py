"""PostgreSQL unreachable for 30 s around a due minute: the bot rides it out.

A TCP proxy written in the test (tests/support/tcp_proxy.py) sits between the bot
and PostgreSQL; cutting it resets every connection and refuses new ones, as a
server restart or failover does. The test's own reads go to the server directly.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, time
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.domain.chats import ChatSettings
from bot.domain.schedule import Schedule
from bot.service import db_outage
from bot.storage import chats as chat_store
from bot.storage import people
from bot.storage.database import create_engine, create_sessionmaker
from bot.storage.models import DeliveryRow, ReviewRow
from tests.support.bot_harness import TOKEN, FakeClock, running_service, test_settings
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram
from tests.support.tcp_proxy import TcpProxy

ADA = 1001
FIRST_CHAT = 5000
DUE_AT_NINE = 100  # chats 5000..5099 due at 09:00, claimed just before the cut
DUE_IN_CUT = 100  # chats 5100..5199 due at 09:01, while the database is away
ANSWERED_BEFORE_CUT = 40
OUTAGE_SECONDS = 30.0


@pytest.fixture
def postgres(database: TestDatabase) -> TestDatabase:
    if database.backend != "postgresql":
        pytest.skip("a database outage is a PostgreSQL scenario (server restart, failover)")
    return database


@pytest.fixture
async def proxy(postgres: TestDatabase) -> AsyncIterator[TcpProxy]:
    async with TcpProxy.for_database(postgres.url) as running:
        yield running


class HoldingTelegram(FakeTelegram):
    """Holds the dispatcher's sends to the subscribed chats after a number of them."""

    def __init__(self, *, answer_first: int) -> None:
        super().__init__(token=TOKEN)
        self.answer_first = answer_first
        self.held = 0
        self.release = asyncio.Event()
        self._calls = 0

    async def _dispatch(
        self, token: str, method: str, raw: dict[str, Any]
    ) -> tuple[dict[str, Any], Any]:
        chat = str(raw.get("chat_id", ""))
        if method == "sendMessage" and chat.isdigit() and int(chat) >= FIRST_CHAT:
            self._calls += 1
            if self._calls > self.answer_first and not self.release.is_set():
                self.held += 1
                await self.release.wait()
        return await super()._dispatch(token, method, raw)


async def _subscribe(url: str, now: datetime) -> None:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session, session.begin():
            for index in range(DUE_AT_NINE + DUE_IN_CUT):
                chat_id = FIRST_CHAT + index
                minute = 0 if index < DUE_AT_NINE else 1
                await people.upsert_person(
                    chat_id, session=session, first_name="P", username=None, timezone="UTC", now=now
                )
                settings = ChatSettings(
                    chat_id=chat_id,
                    kind="private",
                    schedule=Schedule(
                        local_time=time(9, minute), timezone="UTC", days=frozenset(range(7))
                    ),
                    decks=("ml", "nlp"),
                    next_due_at=datetime(2026, 3, 2, 9, minute, tzinfo=UTC),
                )
                await chat_store.save_chat(settings, session=session, now=now)
    finally:
        await engine.dispose()


async def _deliveries(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            rows = await session.execute(
                select(DeliveryRow.status, func.count())
                .where(DeliveryRow.chat_id >= FIRST_CHAT)
                .group_by(DeliveryRow.status)
            )
            return {status: int(count) for status, count in rows}
    finally:
        await engine.dispose()


async def _reviews(url: str) -> int:
    engine = create_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            return int(await session.scalar(select(func.count()).select_from(ReviewRow)) or 0)
    finally:
        await engine.dispose()


async def _health(root: str) -> tuple[int, dict[str, Any]]:
    async with aiohttp.ClientSession() as http, http.get(f"{root}/healthz") as response:
        return response.status, json.loads(await response.text())


def _questions_per_chat(tg: FakeTelegram) -> dict[int, int]:
    counts: dict[int, int] = {}
    for message in tg.sent(method="sendMessage"):
        if message.chat_id >= FIRST_CHAT:
            counts[message.chat_id] = counts.get(message.chat_id, 0) + 1
    return counts


async def test_healthz_follows_the_database(
    proxy: TcpProxy, postgres: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    async with FakeTelegram(token=TOKEN) as tg:
        settings = test_settings(
            tg.api_root, proxy.database_url(postgres.url), http_listen="127.0.0.1:0"
        )
        async with running_service(settings, clock) as bot:
            assert (await _health(bot.http_root))[0] == 200
            proxy.cut()
            status, body = await _health(bot.http_root)
            assert status == 503
            assert body["database"] == "down"
            proxy.restore()
            assert (await _health(bot.http_root))[0] == 200


async def test_thirty_seconds_without_the_database_around_a_due_minute(
    proxy: TcpProxy, postgres: TestDatabase, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    await _subscribe(postgres.url, clock())
    async with HoldingTelegram(answer_first=ANSWERED_BEFORE_CUT) as tg:
        for index in range(DUE_AT_NINE + DUE_IN_CUT):
            tg.private_chat(FIRST_CHAT + index, "P").seen = True
        settings = test_settings(
            tg.api_root, proxy.database_url(postgres.url), http_listen="127.0.0.1:0"
        )
        caplog.set_level(logging.INFO)
        async with running_service(settings, clock) as bot:
            # Ada studies: today's question, its answer, and the grade buttons.
            tg.private_chat(ADA, "Ada")
            await tg.send_text(ADA, ADA, "/start")
            await tg.wait_for_messages(ADA, 1)
            await tg.send_text(ADA, ADA, "/question")
            question = (await tg.wait_for_messages(ADA, 2))[-1]
            reveal = next(d for _, d in question.buttons if d and d.startswith("v1:r:"))
            await tg.press(ADA, ADA, question.message_id, reveal)
            await tg.wait_for(
                lambda: any(t.startswith("Good") for m in tg.sent(ADA) for t, _ in m.buttons)
            )
            answer = next(
                m for m in tg.sent(ADA) if any(t.startswith("Good") for t, _ in m.buttons)
            )
            good = next(d for t, d in answer.buttons if t.startswith("Good"))
            assert good is not None

            # 09:00: the dispatcher claims the first hundred and starts sending...
            clock.set(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC))
            await tg.wait_for(lambda: tg.held > 0, timeout=20, what="sends in flight")

            async def answered_recorded() -> bool:
                return (await _deliveries(postgres.url)).get("sent", 0) >= ANSWERED_BEFORE_CUT

            for _ in range(200):
                if await answered_recorded():
                    break
                await asyncio.sleep(0.05)
            # ...and the database goes away with sends in flight, whose outcome the bot
            # cannot record: Telegram accepts them while the connection is cut.
            loop = asyncio.get_running_loop()
            cut_at = loop.time()
            proxy.cut()
            tg.release.set()
            await tg.wait_for(
                lambda: len(_questions_per_chat(tg)) == DUE_AT_NINE,
                timeout=20,
                what="the first hundred sent to Telegram",
            )
            # 09:01: the second hundred fall due while the database is away.
            clock.set(datetime(2026, 3, 2, 9, 1, 5, tzinfo=UTC))

            # Ada grades and asks for her stats meanwhile: told to try again, no crash.
            answers_before = len(tg.callback_answers)
            await tg.press(ADA, ADA, answer.message_id, good)
            await tg.wait_for(
                lambda: len(tg.callback_answers) > answers_before, what="the grade's answer"
            )
            assert tg.callback_answers[-1].text == db_outage.UNAVAILABLE_BUTTON
            assert tg.callback_answers[-1].show_alert
            sent_before = len(tg.sent(ADA))
            await tg.send_text(ADA, ADA, "/stats")
            replies = await tg.wait_for_messages(ADA, sent_before + 1)
            assert replies[-1].plain_text == db_outage.UNAVAILABLE
            status, body = await _health(bot.http_root)
            assert (status, body["database"]) == (503, "down")

            await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (loop.time() - cut_at)))
            assert len(tg.sent(ADA)) == sent_before + 1, "one answer per request, not one per try"
            assert _questions_per_chat(tg).keys() == {FIRST_CHAT + i for i in range(DUE_AT_NINE)}, (
                "nothing due during the cut can be sent before it is recorded"
            )
            proxy.restore()

            # Back: every chat due meanwhile gets its question, each exactly once.
            everyone = {FIRST_CHAT + i for i in range(DUE_AT_NINE + DUE_IN_CUT)}
            await tg.wait_for(
                lambda: _questions_per_chat(tg).keys() == everyone,
                timeout=30,
                what="every chat served after the outage",
            )

            async def all_recorded() -> bool:
                return (await _deliveries(postgres.url)) == {"sent": len(everyone)}

            for _ in range(100):
                if await all_recorded():
                    break
                await asyncio.sleep(0.1)
            assert await _deliveries(postgres.url) == {"sent": len(everyone)}
            assert _questions_per_chat(tg) == dict.fromkeys(everyone, 1)
            assert (await _health(bot.http_root))[0] == 200

            # The grade pressed during the outage was not lost silently: pressed again, saved.
            await tg.press(ADA, ADA, answer.message_id, good)
            await tg.wait_for(
                lambda: any("Saved: Good" in (a.text or "") for a in tg.callback_answers)
            )
            assert await _reviews(postgres.url) == 1

    records = [r for r in caplog.records if r.name.startswith(("bot", "telegram"))]
    gone = [r for r in records if "database unreachable" in r.getMessage()]
    back = [r for r in records if "database reachable again" in r.getMessage()]
    assert len(gone) == 1, [r.getMessage() for r in gone]
    assert len(back) == 1
    tracebacks = [r for r in records if r.exc_info or r.exc_text]
    assert tracebacks == [], [r.getMessage() for r in tracebacks]
