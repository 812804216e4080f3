"""The streak reminder through failures (issue 14, part 8).

A nudge that fails for a transient reason (Telegram answering 502 through every
retry) is tried again later that local day, and still sent once. A nudge not
yet sent when the bot stops is not sent by the stopping process: it is given
back, and the next start sends it, once.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from bot.domain.srs import Rating
from tests.e2e.test_progress import graded, nudges, start
from tests.support.bot_harness import TOKEN, FakeClock, running_bot, test_settings
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram

ADA = 1001
CROWD = range(2001, 2021)  # more than the 16 nudges sent at once
NUDGE = "streak</b> is waiting"


async def _ticks() -> None:
    await asyncio.sleep(0.3)


async def test_a_transient_failure_is_retried_the_same_day_once(
    database: TestDatabase,
) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    async with (
        FakeTelegram(token=TOKEN) as tg,
        running_bot(test_settings(tg.api_root, database.url), clock) as bot,
    ):
        await start(tg, ADA, "Ada")
        for day in (1, 2):
            await graded(bot, ADA, "bpe", Rating.GOOD, datetime(2026, 3, day, 12, 0, tzinfo=UTC))
        # 3 March, 20:00: Telegram fails the nudge through the bot's one retry (a 5xx may
        # have been delivered, so it is retried once: README "Sends that may have arrived").
        tg.fail_next("sendMessage", status=502, times=2, chat_id=ADA)
        clock.set(datetime(2026, 3, 3, 20, 0, 1, tzinfo=UTC))
        await tg.wait_for(
            lambda: len([r for r in tg.calls("sendMessage") if r.status == 502]) == 2,
            timeout=15,
            what="the failed attempts",
        )
        await _ticks()
        assert nudges(tg, ADA) == []
        # Five minutes later, the same evening: sent, once.
        clock.set(datetime(2026, 3, 3, 20, 5, 30, tzinfo=UTC))
        await tg.wait_for(lambda: len(nudges(tg, ADA)) == 1, what="the retried nudge")
        assert "2-day streak" in (nudges(tg, ADA)[0].plain_text or "")
        clock.set(datetime(2026, 3, 3, 21, 0, tzinfo=UTC))
        await _ticks()
        assert len(nudges(tg, ADA)) == 1, "never twice a day"


class HoldingTelegram(FakeTelegram):
    """Holds every nudge until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__(token=TOKEN)
        self.held = 0
        self.release = asyncio.Event()

    async def _dispatch(
        self, token: str, method: str, raw: dict[str, Any]
    ) -> tuple[dict[str, Any], Any]:
        if method == "sendMessage" and NUDGE in str(raw.get("text", "")):
            self.held += 1
            await self.release.wait()
        return await super()._dispatch(token, method, raw)


async def test_stopping_sends_no_more_nudges_and_the_next_start_sends_the_rest(
    database: TestDatabase,
) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 8, 0, tzinfo=UTC))
    async with HoldingTelegram() as tg:
        settings = test_settings(tg.api_root, database.url)
        async with running_bot(settings, clock) as bot:
            for person in CROWD:
                await start(tg, person, "P")
                for day in (1, 2):
                    at = datetime(2026, 3, day, 12, 0, tzinfo=UTC)
                    await graded(bot, person, "bpe", Rating.GOOD, at)
            clock.set(datetime(2026, 3, 3, 20, 0, 1, tzinfo=UTC))
            await tg.wait_for(lambda: tg.held == 16, what="16 nudges in flight")
            bot.services.stopping.set()  # what SIGTERM does (bot.service.lifecycle)
            tg.release.set()
            await tg.wait_for(
                lambda: sum(len(nudges(tg, p)) for p in CROWD) == 16, what="those 16 sent"
            )
            await _ticks()
            assert sum(len(nudges(tg, p)) for p in CROWD) == 16, "nothing more while stopping"
        clock.set(datetime(2026, 3, 3, 20, 1, tzinfo=UTC))
        async with running_bot(settings, clock):
            await tg.wait_for(
                lambda: all(len(nudges(tg, p)) == 1 for p in CROWD),
                what="the rest nudged after the restart",
            )
            await _ticks()
    assert {p: len(nudges(tg, p)) for p in CROWD} == dict.fromkeys(CROWD, 1)
