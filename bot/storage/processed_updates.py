"""Claiming webhook updates by ``update_id``, across every instance on one database.

Telegram re-delivers an update that was not answered with 2xx (a timeout, an
instance that died mid-request), possibly to another instance behind the load
balancer. One cheap statement per update decides who handles it: an INSERT that
does nothing when the id is already there. Telegram keeps undelivered updates
for 24 hours, so claims older than ``KEEP`` are pruned.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.models import ProcessedUpdateRow

KEEP = timedelta(days=2)


async def claim(engine: AsyncEngine, update_id: int, *, now: datetime) -> bool:
    """True if this call is the first to claim ``update_id`` (so it must be handled)."""
    values = {"update_id": update_id, "received_at": now}
    insert = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(ProcessedUpdateRow).values(values).on_conflict_do_nothing()
    async with engine.begin() as connection:
        result = await connection.execute(statement)
    return bool(result.rowcount)


async def prune(engine: AsyncEngine, *, now: datetime) -> int:
    """Forget claims older than ``KEEP``; returns how many."""
    async with engine.begin() as connection:
        result = await connection.execute(
            delete(ProcessedUpdateRow).where(ProcessedUpdateRow.received_at < now - KEEP)
        )
    return int(result.rowcount or 0)
