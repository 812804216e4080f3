"""The running bot warms its answers and the picture library in the background after
start-up (WARM_UP_AFTER_SECONDS; the other tests' bots have it off)."""

from __future__ import annotations

import logging

import pytest

from bot.rendering import rich as rich_rendering
from tests.support.bot_harness import FakeClock, running_bot, small_bank, test_settings
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram


async def test_the_bot_warms_up_a_moment_after_it_starts(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.study.warm_up")
    rich_rendering._render_answer.cache_clear()
    settings = test_settings(tg.api_root, database.url, warm_up_after_seconds=0.01)
    async with running_bot(settings, clock):
        await tg.wait_for(
            lambda: any("warmed up" in r.getMessage() for r in caplog.records),
            what="the warm-up's log line",
        )
    line = next(r.getMessage() for r in caplog.records if "warmed up" in r.getMessage())
    questions = len(small_bank())
    assert line.startswith(f"warmed up: {questions} answers and the picture library in ")
    assert rich_rendering._render_answer.cache_info().currsize == questions
