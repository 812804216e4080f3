"""Fixtures for end-to-end tests: the fake Bot API, a movable clock, the running bot."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.rendering.progress_picture import warm_up
from tests.support.bot_harness import TOKEN, FakeClock, RunningBot, running_bot, test_settings
from tests.support.databases import TestDatabase
from tests.support.fake_telegram import FakeTelegram

# Monday 2 March 2026, 08:00 UTC.
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="session", autouse=True)
def _matplotlib_ready() -> None:
    """Draw one picture per test session before any bot runs.

    The first /stats in a process imports matplotlib and loads its fonts: about a second of
    CPU, several seconds of wall time on a loaded machine, which would eat the 5 s the tests
    wait for a reply. Latency is for benchmarks (BENCHMARKS.md), not for these tests.
    """
    warm_up()


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
async def bot(
    tg: FakeTelegram, database: TestDatabase, clock: FakeClock
) -> AsyncIterator[RunningBot]:
    async with running_bot(test_settings(tg.api_root, database.url), clock) as running:
        yield running
