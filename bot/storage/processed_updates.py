"""Claiming webhook updates by ``update_id``, across every instance on one database.

Telegram re-delivers an update that was not answered with 2xx (a timeout, an
instance that died mid-request, a 503 while stopping), possibly to another instance
behind the load balancer. The bot answers 200 only once the update was handled, so
a re-delivery means "not known to be handled". One statement per delivery decides:

- no row yet: this delivery claims the update (``NEW``);
- a row marked done: handled already, acknowledge it (``DONE``);
- a row not done whose ``claimed_at`` is older than ``abandoned_after``: its claimer died or
  gave up, this delivery takes it over (``TAKEN_OVER``);
- a row not done and claimed recently: another delivery is handling it right now;
  answer non-2xx so that Telegram asks again later (``BUSY``).

While an update is handled its claim is renewed (``renew``), so "older than the
timeout" means "nobody is working on it". A claim whose handling was cut short at
shutdown is ``release``d (deleted), so that the retry is a new claim at once.
Telegram keeps undelivered updates for 24 hours, so done claims older than ``KEEP``
are pruned; claims not done are never pruned.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage.models import ProcessedUpdateRow

KEEP = timedelta(days=2)

_TABLE = ProcessedUpdateRow.__table__


class Claim(enum.Enum):
    """What one delivery of an update found (see the module docstring)."""

    NEW = "new"
    TAKEN_OVER = "taken_over"
    DONE = "done"
    BUSY = "busy"

    @property
    def mine(self) -> bool:
        """This delivery must handle the update."""
        return self in (Claim.NEW, Claim.TAKEN_OVER)


async def claim(
    engine: AsyncEngine, update_id: int, *, now: datetime, abandoned_after: timedelta
) -> Claim:
    """Claim ``update_id`` for this delivery, or say why not.

    ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` takes a missing or abandoned claim
    in one statement (PostgreSQL locks the row, so two deliveries racing for the same
    abandoned claim cannot both win); ``RETURNING received_at`` tells a new claim
    (received now) from a take-over. Only when nothing was taken is the row read.
    """
    insert = postgresql_insert if engine.dialect.name == "postgresql" else sqlite_insert
    values = insert(ProcessedUpdateRow).values(
        update_id=update_id, received_at=now, claimed_at=now, done_at=None
    )
    statement = values.on_conflict_do_update(
        index_elements=[ProcessedUpdateRow.update_id],
        set_={"claimed_at": values.excluded.claimed_at},
        where=(_TABLE.c.done_at.is_(None)) & (_TABLE.c.claimed_at < now - abandoned_after),
    ).returning(ProcessedUpdateRow.received_at)
    async with engine.begin() as connection:
        received = (await connection.execute(statement)).scalar_one_or_none()
        if received is not None:
            return Claim.NEW if received == now else Claim.TAKEN_OVER
        done_at = await connection.scalar(
            select(ProcessedUpdateRow.done_at).where(ProcessedUpdateRow.update_id == update_id)
        )
    # A row pruned or released between the two statements is not "done": ask again.
    return Claim.DONE if done_at is not None else Claim.BUSY


async def finish(engine: AsyncEngine, update_id: int, *, now: datetime) -> None:
    """The update was handled: later deliveries of it are acknowledged, not handled."""
    async with engine.begin() as connection:
        await connection.execute(
            update(ProcessedUpdateRow)
            .where(ProcessedUpdateRow.update_id == update_id)
            .values(done_at=now)
        )


async def renew(engine: AsyncEngine, update_ids: Collection[int], *, now: datetime) -> None:
    """Still handling these: keep their claims from looking abandoned."""
    if not update_ids:
        return
    async with engine.begin() as connection:
        await connection.execute(
            update(ProcessedUpdateRow)
            .where(
                ProcessedUpdateRow.update_id.in_(list(update_ids)),
                ProcessedUpdateRow.done_at.is_(None),
            )
            .values(claimed_at=now)
        )


async def release(engine: AsyncEngine, update_ids: Collection[int]) -> int:
    """Give up claims not done (handling cut short): the next delivery claims anew."""
    if not update_ids:
        return 0
    async with engine.begin() as connection:
        result = await connection.execute(
            delete(ProcessedUpdateRow).where(
                ProcessedUpdateRow.update_id.in_(list(update_ids)),
                ProcessedUpdateRow.done_at.is_(None),
            )
        )
    return int(result.rowcount or 0)


async def prune(engine: AsyncEngine, *, now: datetime) -> int:
    """Forget done claims older than ``KEEP``; returns how many."""
    async with engine.begin() as connection:
        result = await connection.execute(
            delete(ProcessedUpdateRow).where(ProcessedUpdateRow.done_at < now - KEEP)
        )
    return int(result.rowcount or 0)
