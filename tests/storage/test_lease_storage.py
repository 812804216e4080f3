"""Delivery leases in storage, exact rows on both databases: renewing only running
leases, recording sends whose rows may have vanished, re-sends counted as attempts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.storage import deliveries
from bot.storage.models import DeliveryRow
from tests.support.storage_rows import add_person_with_private_chat

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
ADA = 1001


async def _three_pending(sessions: async_sessionmaker[AsyncSession]) -> list[int]:
    async with sessions() as session, session.begin():
        await add_person_with_private_chat(session, ADA, now=NOW)
        ids = []
        for question in ("q1", "q2", "q3"):
            row = await deliveries.create_delivery(
                session=session, chat_id=ADA, question_id=question, now=NOW, daily_on=None
            )
            assert row is not None
            await session.flush()
            ids.append(row.id)
        return ids


async def _leases(
    sessions: async_sessionmaker[AsyncSession],
) -> dict[int, tuple[str, datetime | None]]:
    async with sessions() as session:
        rows = await session.execute(
            select(DeliveryRow.id, DeliveryRow.status, DeliveryRow.lease_until)
        )
        return {delivery: (status, lease) for delivery, status, lease in rows}


async def test_only_running_leases_of_pending_deliveries_are_renewed(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    running, expired, sent = await _three_pending(sessions)
    later = NOW + timedelta(seconds=30)
    async with sessions() as session, session.begin():
        await deliveries.release_for_retry(expired, session=session, now=NOW, delay=timedelta(0))
        await deliveries.mark_sent(sent, 77, session=session, now=NOW)
    async with sessions() as session, session.begin():
        renewed = await deliveries.renew_leases(
            [running, expired, sent], session=session, now=later, until=later + LEASE
        )
    assert renewed == {running}
    assert await _leases(sessions) == {
        running: ("pending", later + LEASE),
        expired: ("pending", NOW),  # may be another instance's now: not taken back
        sent: ("sent", None),
    }


async def test_sends_are_recorded_together_and_a_vanished_row_is_skipped(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first, gone, third = await _three_pending(sessions)
    async with sessions() as session, session.begin():
        await session.execute(delete(DeliveryRow).where(DeliveryRow.id == gone))
    async with sessions() as session, session.begin():
        await deliveries.mark_many_sent(
            [
                {"delivery": first, "message": 11},
                {"delivery": gone, "message": 12},
                {"delivery": third, "message": 13},
            ],
            session=session,
            now=NOW,
        )
    async with sessions() as session:
        rows = (
            await session.execute(
                select(DeliveryRow.id, DeliveryRow.status, DeliveryRow.message_id).order_by(
                    DeliveryRow.id
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [(first, "sent", 11), (third, "sent", 13)]


async def test_a_resend_counts_as_an_attempt(sessions: async_sessionmaker[AsyncSession]) -> None:
    ids = await _three_pending(sessions)
    after = NOW + 2 * LEASE
    async with sessions() as session, session.begin():
        claimed = await deliveries.claim_stale_pending(
            session=session, now=after, limit=10, lease=LEASE
        )
        assert sorted(row.id for row in claimed) == ids
        assert [row.attempts for row in claimed] == [1, 1, 1]
    assert {lease for _, lease in (await _leases(sessions)).values()} == {after + LEASE}
