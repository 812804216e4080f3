"""HISTORY_RETENTION_DAYS: old deliveries that never reached a chat go; nothing else does."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.storage import deliveries as delivery_store
from bot.storage import retention
from bot.storage.models import DeliveryRow, LlmUsageRow
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


async def _delivery(session: AsyncSession, *, days_ago: int, status: str) -> int:
    row = delivery_store.new_delivery(
        chat_id=1,
        question_id=f"q-{status}-{days_ago}",
        now=NOW - timedelta(days=days_ago),
        daily_on=None,
        lease=timedelta(0),
    )
    row.status = status
    session.add(row)
    await session.flush()
    return row.id


async def _seed(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, 1, now=NOW - timedelta(days=400))
        ids = {
            f"{status} {days}": await _delivery(session, days_ago=days, status=status)
            for status in ("sent", "expired", "failed", "pending")
            for days in (200, 10)
        }
        session.add_all(
            LlmUsageRow(person_id=1, day=day, requests=3)
            for day in (date(2026, 12, 5), date(2026, 11, 1))
        )
    return ids


async def _left(sessions: async_sessionmaker[AsyncSession]) -> set[int]:
    async with sessions() as session:
        return set(await session.scalars(select(DeliveryRow.id)))


async def test_unsent_deliveries_older_than_the_retention_are_pruned(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ids = await _seed(sessions)
    removed = await retention.prune(engine, now=NOW, retention_days=90)
    assert removed == 3  # expired 200, failed 200, last month's model-grader counter
    assert await _left(sessions) == set(ids.values()) - {ids["expired 200"], ids["failed 200"]}
    async with sessions() as session:
        assert list(await session.scalars(select(LlmUsageRow.day))) == [date(2026, 12, 5)]


async def test_zero_keeps_every_delivery(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ids = await _seed(sessions)
    assert await retention.prune(engine, now=NOW, retention_days=0) == 1  # the old counter
    assert await _left(sessions) == set(ids.values())
