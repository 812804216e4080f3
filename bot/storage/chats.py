"""Chat rows ↔ ChatSettings, and claiming due chats for the dispatcher."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Row, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain.chats import ChatSettings, days_to_mask, format_hhmm, mask_to_days, parse_hhmm
from bot.domain.schedule import Schedule
from bot.storage.models import ChatRow, ReviewRow

# The table, for the dispatcher's Core statements (built once, no ORM objects per chat).
_CHATS = cast(Table, ChatRow.__table__)


def to_settings(row: ChatRow | Row[Any]) -> ChatSettings:
    """The settings of a chat row: an ORM ``ChatRow`` or a Core row of the chats
    columns (``claim_due_rows``); both are read by attribute."""
    return ChatSettings(
        chat_id=row.id,
        kind=row.kind,
        schedule=Schedule(
            local_time=parse_hhmm(row.delivery_time),
            timezone=row.timezone,
            days=mask_to_days(row.days),
        ),
        decks=tuple(deck for deck in row.decks.split(",") if deck),
        paused=row.paused,
        active=row.active,
        next_due_at=row.next_due_at,
        last_delivered_on=row.last_delivered_on,
    )


def apply_settings(row: ChatRow, settings: ChatSettings, *, now: datetime) -> None:
    """Copy settings onto a loaded row (flushed with the session)."""
    row.kind = settings.kind
    row.timezone = settings.schedule.timezone
    row.delivery_time = format_hhmm(settings.schedule.local_time)
    row.days = days_to_mask(settings.schedule.days)
    row.decks = ",".join(settings.decks)
    row.paused = settings.paused
    row.active = settings.active
    row.next_due_at = settings.next_due_at
    row.last_delivered_on = settings.last_delivered_on
    row.updated_at = now


async def get_chat(chat_id: int, *, session: AsyncSession) -> ChatSettings | None:
    row = await session.get(ChatRow, chat_id)
    return to_settings(row) if row is not None else None


async def save_chat(
    settings: ChatSettings, *, session: AsyncSession, now: datetime, title: str | None = None
) -> None:
    """Insert or update a chat's settings."""
    row = await session.get(ChatRow, settings.chat_id)
    if row is None:
        row = ChatRow(id=settings.chat_id, created_at=now, title=title)
        session.add(row)
    elif title is not None:
        row.title = title
    apply_settings(row, settings, now=now)
    await session.flush()


async def set_active(chat_id: int, active: bool, *, session: AsyncSession, now: datetime) -> bool:
    """Mark a chat (in)active, e.g. blocked by the user; True if it existed."""
    result = await session.execute(
        update(ChatRow).where(ChatRow.id == chat_id).values(active=active, updated_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def claim_due_chats(*, session: AsyncSession, now: datetime, limit: int) -> Sequence[ChatRow]:
    """Lock up to ``limit`` chats whose next due instant has come.

    On PostgreSQL ``FOR UPDATE SKIP LOCKED`` lets several dispatchers share the
    work without waiting for each other; SQLite serialises writers anyway.
    """
    query = (
        select(ChatRow)
        .where(ChatRow.next_due_at.is_not(None), ChatRow.next_due_at <= now)
        .where(ChatRow.active.is_(True), ChatRow.paused.is_(False))
        .order_by(ChatRow.next_due_at, ChatRow.id)
        .limit(limit)
    )
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return (await session.scalars(query)).all()


_CLAIM_COLUMNS = (
    _CHATS.c.id,
    _CHATS.c.kind,
    _CHATS.c.timezone,
    _CHATS.c.delivery_time,
    _CHATS.c.days,
    _CHATS.c.decks,
    _CHATS.c.paused,
    _CHATS.c.active,
    _CHATS.c.next_due_at,
    _CHATS.c.last_delivered_on,
)


def _claim_rows_statement(*, postgres: bool) -> Any:
    query = (
        select(*_CLAIM_COLUMNS)
        .where(_CHATS.c.next_due_at.is_not(None), _CHATS.c.next_due_at <= bindparam("now"))
        .where(_CHATS.c.active.is_(True), _CHATS.c.paused.is_(False))
        .order_by(_CHATS.c.next_due_at, _CHATS.c.id)
        .limit(bindparam("limit"))
    )
    return query.with_for_update(skip_locked=True) if postgres else query


_CLAIM_ROWS_POSTGRESQL = _claim_rows_statement(postgres=True)
_CLAIM_ROWS_SQLITE = _claim_rows_statement(postgres=False)


async def claim_due_rows(*, session: AsyncSession, now: datetime, limit: int) -> Sequence[Row[Any]]:
    """``claim_due_chats`` for the dispatcher: the same rows, locked the same way, as
    Core rows of the settings columns (``to_settings`` reads them).

    The dispatcher only reads a claimed chat and moves its next due instant
    (``reschedule_many``): loading 500 ORM objects and flushing their changes
    was a tenth of its CPU per delivery (benchmarks.history, cProfile).
    """
    postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
    statement = _CLAIM_ROWS_POSTGRESQL if postgres else _CLAIM_ROWS_SQLITE
    return (await session.execute(statement, {"now": now, "limit": limit})).all()


_RESCHEDULE = (
    update(_CHATS)
    .where(_CHATS.c.id == bindparam("chat"))
    .values(
        next_due_at=bindparam("due", type_=_CHATS.c.next_due_at.type),
        last_delivered_on=bindparam("last", type_=_CHATS.c.last_delivered_on.type),
        updated_at=bindparam("at", type_=_CHATS.c.updated_at.type),
    )
)


def rescheduled_row(settings: ChatSettings, *, now: datetime) -> dict[str, Any]:
    """The parameters of ``reschedule_many`` for a chat whose settings are ``settings``."""
    return {
        "chat": settings.chat_id,
        "due": settings.next_due_at,
        "last": settings.last_delivered_on,
        "at": now,
    }


async def reschedule_many(rows: Sequence[dict[str, Any]], *, session: AsyncSession) -> None:
    """Store claimed chats' next due instant and last delivered date (``rescheduled_row``)
    in one executemany: the only columns the dispatcher changes."""
    if rows:
        await session.execute(_RESCHEDULE, list(rows))


async def migrate_chat(old_id: int, new_id: int, *, session: AsyncSession, now: datetime) -> None:
    """A group became a supergroup: move its settings and history to the new id.

    The deliveries follow through ``ON UPDATE CASCADE``. If a row for the new id
    was already created (its first update arrived first) the old one wins,
    because it carries the settings the admins chose.
    """
    if old_id == new_id:
        return
    existing = await session.get(ChatRow, new_id)
    if existing is not None:
        await session.delete(existing)
        await session.flush()
    await session.execute(
        update(ChatRow)
        .where(ChatRow.id == old_id)
        .values(id=new_id, kind="supergroup", updated_at=now)
    )
    # Reviews name their chat without a foreign key (they outlive a chat's row).
    await session.execute(
        update(ReviewRow).where(ReviewRow.chat_id == old_id).values(chat_id=new_id)
    )
    session.expire_all()
