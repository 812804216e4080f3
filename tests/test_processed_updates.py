"""Claiming webhook update_ids: first claim wins, on both backends; old claims are pruned."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage import processed_updates

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


async def test_first_claim_wins_even_when_concurrent(engine: AsyncEngine) -> None:
    assert await processed_updates.claim(engine, 700_000_001, now=NOW)
    assert not await processed_updates.claim(engine, 700_000_001, now=NOW)
    # Two instances receiving the same retry at the same moment: exactly one handles it.
    results = await asyncio.gather(
        *(processed_updates.claim(engine, 700_000_002, now=NOW) for _ in range(5))
    )
    assert sorted(results) == [False, False, False, False, True]


async def test_claims_older_than_two_days_are_pruned(engine: AsyncEngine) -> None:
    old = NOW - processed_updates.KEEP - timedelta(minutes=1)
    assert await processed_updates.claim(engine, 1, now=old)
    assert await processed_updates.claim(engine, 2, now=NOW - timedelta(days=1))
    assert await processed_updates.prune(engine, now=NOW) == 1
    assert await processed_updates.claim(engine, 1, now=NOW)  # forgotten: claimable again
    assert not await processed_updates.claim(engine, 2, now=NOW)
