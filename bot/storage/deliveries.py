"""Delivery rows: one question sent to one chat, daily ones unique per local date."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import ChatRow, DeliveryRow

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5


async def create_delivery(
    *,
    session: AsyncSession,
    chat_id: int,
    question_id: str,
    now: datetime,
    daily_on: date | None,
    lease: timedelta = LEASE,
) -> DeliveryRow | None:
    """Record a delivery as pending, leased to the caller, before sending it.

    For a daily delivery this returns None when the chat already has one for
    that local date: the unique constraint is what makes delivery exactly-once.
    """
    row = new_delivery(
        chat_id=chat_id, question_id=question_id, now=now, daily_on=daily_on, lease=lease
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row


def new_delivery(
    *, chat_id: int, question_id: str, now: datetime, daily_on: date | None, lease: timedelta
) -> DeliveryRow:
    """A pending delivery row, leased until ``now + lease``; not yet added to a session."""
    return DeliveryRow(
        chat_id=chat_id,
        question_id=question_id,
        kind="daily" if daily_on is not None else "extra",
        daily_on=daily_on,
        status="pending",
        attempts=0,
        lease_until=now + lease,
        created_at=now,
    )


async def daily_delivery(
    chat_id: int, local_date: date, *, session: AsyncSession
) -> DeliveryRow | None:
    return await session.scalar(
        select(DeliveryRow).where(
            DeliveryRow.chat_id == chat_id, DeliveryRow.daily_on == local_date
        )
    )


async def get_delivery(delivery_id: int, *, session: AsyncSession) -> DeliveryRow | None:
    return await session.get(DeliveryRow, delivery_id)


async def latest_sent_delivery(chat_id: int, *, session: AsyncSession) -> DeliveryRow | None:
    return await session.scalar(
        select(DeliveryRow)
        .where(DeliveryRow.chat_id == chat_id, DeliveryRow.status == "sent")
        .order_by(DeliveryRow.created_at.desc(), DeliveryRow.id.desc())
        .limit(1)
    )


async def delivered_question_ids(chat_id: int, *, session: AsyncSession) -> set[str]:
    return (await delivered_ids_for_chats([chat_id], session=session))[chat_id]


async def delivered_ids_for_chats(
    chat_ids: Sequence[int], *, session: AsyncSession
) -> dict[int, set[str]]:
    result: dict[int, set[str]] = {chat_id: set() for chat_id in chat_ids}
    if not chat_ids:
        return result
    rows = await session.execute(
        select(DeliveryRow.chat_id, DeliveryRow.question_id)
        .where(DeliveryRow.chat_id.in_(chat_ids))
        .distinct()
    )
    for chat_id, question_id in rows:
        result[chat_id].add(question_id)
    return result


async def mark_sent(
    delivery_id: int, message_id: int, *, session: AsyncSession, now: datetime
) -> None:
    await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(status="sent", message_id=message_id, sent_at=now, lease_until=None)
    )


async def mark_failed(delivery_id: int, *, session: AsyncSession, status: str = "failed") -> None:
    await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(status=status, lease_until=None)
    )


async def release_for_retry(
    delivery_id: int, *, session: AsyncSession, now: datetime, delay: timedelta
) -> None:
    """Leave a delivery pending, to be retried once ``delay`` has passed."""
    await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id)
        .values(lease_until=now + delay, attempts=DeliveryRow.attempts + 1)
    )


async def claim_stale_pending(
    *, session: AsyncSession, now: datetime, limit: int, lease: timedelta = LEASE
) -> Sequence[DeliveryRow]:
    """Pending deliveries whose lease ran out (a crash, a failed send): lease them anew."""
    query = (
        select(DeliveryRow)
        .join(ChatRow, ChatRow.id == DeliveryRow.chat_id)
        .where(DeliveryRow.status == "pending", DeliveryRow.lease_until <= now)
        .where(ChatRow.active.is_(True))
        .order_by(DeliveryRow.lease_until, DeliveryRow.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=DeliveryRow, skip_locked=True)
    rows = (await session.scalars(query)).all()
    for row in rows:
        row.lease_until = now + lease
    return rows


async def record_answer_message(
    delivery_id: int, message_id: int | None, *, session: AsyncSession
) -> None:
    """Store the id of the posted answer; None (not posted) makes the reveal undone."""
    values = {"answer_message_id": message_id} if message_id is not None else {"revealed_at": None}
    await session.execute(update(DeliveryRow).where(DeliveryRow.id == delivery_id).values(values))


async def try_begin_reveal(delivery_id: int, *, session: AsyncSession, now: datetime) -> bool:
    """Atomically mark a delivery as revealed; False if someone already did.

    A conditional UPDATE is the race-free way to make a double tap (or two
    group members tapping at once) post the answer only once.
    """
    result = await session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id == delivery_id, DeliveryRow.revealed_at.is_(None))
        .values(revealed_at=now)
    )
    return bool(getattr(result, "rowcount", 0))
