"""Reminder rows: each private chat's reminder time, and claiming the due ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.chats import format_hhmm, parse_hhmm
from bot.domain.streak_reminders import DEFAULT_REMINDER, next_reminder
from bot.storage.models import ChatRow, ReminderRow


@dataclass(frozen=True)
class Reminder:
    chat_id: int
    enabled: bool
    at: time
    next_at: datetime | None
    last_on: date | None


def _to_reminder(row: ReminderRow) -> Reminder:
    return Reminder(row.chat_id, row.enabled, parse_hhmm(row.remind_at), row.next_at, row.last_on)


async def get_reminder(chat_id: int, *, session: AsyncSession) -> Reminder | None:
    row = await session.get(ReminderRow, chat_id)
    return _to_reminder(row) if row is not None else None


def reschedule(row: ReminderRow, timezone: str, *, now: datetime) -> None:
    """Recompute ``next_at`` from the row's time, the chat's zone and ``last_on``.

    ``last_on`` is the local date of the last nudge sent: a new time later today
    still reminds today unless a nudge went out already.
    """
    row.next_at = (
        next_reminder(parse_hhmm(row.remind_at), timezone, now=now, last_reminded=row.last_on)
        if row.enabled
        else None
    )
    row.updated_at = now


def move_past(row: ReminderRow, day: date, timezone: str, *, now: datetime) -> None:
    """After the dispatcher considered ``day``: the next instant is on a later local day."""
    last = max(day, row.last_on) if row.last_on else day
    row.next_at = (
        next_reminder(parse_hhmm(row.remind_at), timezone, now=now, last_reminded=last)
        if row.enabled
        else None
    )
    row.updated_at = now


async def ensure_reminder(
    chat_id: int, timezone: str, *, session: AsyncSession, now: datetime
) -> Reminder:
    """The chat's reminder, created with the default (20:00 local, on) when it has none."""
    row = await session.get(ReminderRow, chat_id)
    if row is None:
        row = ReminderRow(chat_id=chat_id, enabled=True, remind_at=format_hhmm(DEFAULT_REMINDER))
        reschedule(row, timezone, now=now)
        session.add(row)
        await session.flush()
    return _to_reminder(row)


async def set_reminder(
    chat_id: int,
    timezone: str,
    *,
    session: AsyncSession,
    now: datetime,
    enabled: bool,
    at: time | None = None,
) -> Reminder:
    """Switch the reminder on or off, optionally at a new time, and reschedule it."""
    await ensure_reminder(chat_id, timezone, session=session, now=now)
    row = await session.get(ReminderRow, chat_id)
    assert row is not None
    row.enabled = enabled
    if at is not None:
        row.remind_at = format_hhmm(at)
    reschedule(row, timezone, now=now)
    await session.flush()
    return _to_reminder(row)


async def follow_timezone(
    chat_id: int, timezone: str, *, session: AsyncSession, now: datetime
) -> None:
    """The chat moved to another zone: the reminder follows its local time there."""
    row = await session.get(ReminderRow, chat_id)
    if row is not None:
        reschedule(row, timezone, now=now)


async def claim_due(
    *, session: AsyncSession, now: datetime, limit: int
) -> Sequence[tuple[ReminderRow, ChatRow]]:
    """Lock up to ``limit`` reminders whose instant has come, with their chats.

    Paused and inactive chats are claimed too, so that their reminder moves on
    to the next day instead of firing late after a resume. ``FOR UPDATE SKIP
    LOCKED`` on PostgreSQL lets several instances share the work.
    """
    query = (
        select(ReminderRow, ChatRow)
        .join(ChatRow, ChatRow.id == ReminderRow.chat_id)
        .where(ReminderRow.next_at.is_not(None), ReminderRow.next_at <= now)
        .order_by(ReminderRow.next_at, ReminderRow.chat_id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(of=ReminderRow, skip_locked=True)
    return [(reminder, chat) for reminder, chat in (await session.execute(query)).all()]


async def give_back(
    chat_id: int, day: date, *, previous: date | None, at: datetime | None, session: AsyncSession
) -> None:
    """A claimed nudge for ``day`` was not sent: the day is not reminded after all.

    ``last_on`` returns to ``previous`` and, when ``at`` is given (still that local
    day), the reminder is due again then. Only while ``last_on`` is still ``day``:
    a /remind change meanwhile wins.
    """
    values: dict[str, object] = {"last_on": previous}
    if at is not None:
        values["next_at"] = at
    await session.execute(
        update(ReminderRow)
        .where(ReminderRow.chat_id == chat_id, ReminderRow.last_on == day)
        .values(**values)
    )
