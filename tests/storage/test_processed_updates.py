"""Claiming webhook update_ids on both backends: first claim wins, a done claim is a
duplicate, an abandoned claim is taken over, a released claim is new again, and only
done claims are pruned."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage import processed_updates
from bot.storage.processed_updates import Claim

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TIMEOUT = timedelta(seconds=60)


async def claim(engine: AsyncEngine, update_id: int, now: datetime = NOW) -> Claim:
    return await processed_updates.claim(engine, update_id, now=now, abandoned_after=TIMEOUT)


async def test_first_claim_wins_even_when_concurrent(engine: AsyncEngine) -> None:
    assert await claim(engine, 700_000_001) is Claim.NEW
    # Claimed and not done: another delivery now must not handle it, nor acknowledge it.
    assert await claim(engine, 700_000_001) is Claim.BUSY
    # Two instances receiving the same retry at the same moment: exactly one handles it.
    results = await asyncio.gather(*(claim(engine, 700_000_002) for _ in range(5)))
    assert sorted(r.value for r in results) == ["busy"] * 4 + ["new"]


async def test_a_done_claim_is_a_duplicate(engine: AsyncEngine) -> None:
    assert await claim(engine, 11) is Claim.NEW
    await processed_updates.finish(engine, 11, now=NOW + timedelta(seconds=1))
    assert await claim(engine, 11, NOW + timedelta(seconds=2)) is Claim.DONE
    # However late the retry: done stays done.
    assert await claim(engine, 11, NOW + timedelta(days=1)) is Claim.DONE


async def test_a_claim_older_than_the_timeout_and_not_done_is_taken_over(
    engine: AsyncEngine,
) -> None:
    assert await claim(engine, 21) is Claim.NEW
    assert await claim(engine, 21, NOW + TIMEOUT) is Claim.BUSY  # not older yet
    later = NOW + TIMEOUT + timedelta(seconds=1)
    # Racing retries of an abandoned claim: one takes it over.
    results = await asyncio.gather(*(claim(engine, 21, later) for _ in range(4)))
    assert sorted(r.value for r in results) == ["busy"] * 3 + ["taken_over"]
    # The take-over is a fresh claim: busy again until its own timeout.
    assert await claim(engine, 21, later + timedelta(seconds=1)) is Claim.BUSY


async def test_a_renewed_claim_is_not_taken_over(engine: AsyncEngine) -> None:
    assert await claim(engine, 31) is Claim.NEW
    await processed_updates.renew(engine, [31], now=NOW + TIMEOUT)
    assert await claim(engine, 31, NOW + TIMEOUT + timedelta(seconds=1)) is Claim.BUSY
    assert await claim(engine, 31, NOW + 2 * TIMEOUT + timedelta(seconds=1)) is Claim.TAKEN_OVER


async def test_a_released_claim_is_new_at_once_and_a_done_one_is_kept(
    engine: AsyncEngine,
) -> None:
    assert await claim(engine, 41) is Claim.NEW
    assert await claim(engine, 42) is Claim.NEW
    await processed_updates.finish(engine, 42, now=NOW)
    assert await processed_updates.release(engine, [41, 42]) == 1
    assert await claim(engine, 41) is Claim.NEW
    assert await claim(engine, 42) is Claim.DONE


async def test_only_done_claims_older_than_keep_are_pruned(engine: AsyncEngine) -> None:
    old = NOW - processed_updates.KEEP - timedelta(minutes=1)
    assert await claim(engine, 1, old) is Claim.NEW
    await processed_updates.finish(engine, 1, now=old)
    assert await claim(engine, 2, NOW - timedelta(days=1)) is Claim.NEW
    await processed_updates.finish(engine, 2, now=NOW - timedelta(days=1))
    assert await claim(engine, 3, old) is Claim.NEW  # old but never done
    assert await processed_updates.prune(engine, now=NOW) == 1
    assert await claim(engine, 1) is Claim.NEW  # forgotten: claimable again
    assert await claim(engine, 2) is Claim.DONE
    assert await claim(engine, 3) is Claim.TAKEN_OVER  # kept: its retry takes it over
