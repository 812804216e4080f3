"""The use cases' tests run against a real database (both backends), without Telegram."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.service.context import Services
from tests.support.bot_harness import small_bank, test_settings
from tests.support.databases import TestDatabase


@pytest.fixture
def services(
    database: TestDatabase, engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> Services:
    """What a running bot hands its use cases: the small test bank, this test's database."""
    settings = test_settings("http://127.0.0.1:9", database.url)
    return Services(settings=settings, bank=small_bank(), engine=engine, sessions=sessions)
