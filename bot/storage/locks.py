"""Lock a row for the rest of the transaction, on both databases.

A read-modify-write (a chat's decks, a person's limits) is atomic only if nobody else
can change what was read before the write commits. :func:`lock_row` is called first in
the transaction, before the rows it guards are read:

- PostgreSQL: ``SELECT ... FOR UPDATE`` (``FOR SHARE`` with ``shared=True``) on the row;
  a second transaction locking it waits until the first commits, then reads what the
  first wrote (READ COMMITTED takes a new snapshot per statement).
- SQLite: SQLAlchemy renders ``with_for_update()`` as nothing there, and the driver
  opens a transaction only before the first write, so reads before it see no lock at
  all. A no-op ``UPDATE <table> SET <pk> = <pk>`` is a write: it begins the transaction
  and takes the database's one write lock at once (as ``BEGIN IMMEDIATE`` would),
  waiting ``busy_timeout`` for another writer (bot/storage/database.py). The reads that
  follow are inside the transaction, and a transaction that writes first never has to
  upgrade a read snapshot, so it cannot fail with "database is locked" that way. (An
  unchanged primary key fires no ``ON UPDATE CASCADE``.)

Lock in one order where a transaction takes several: person, then deck, then chat.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.storage.models import Base


async def lock_row(
    session: AsyncSession, model: type[Base], key: Any, *, shared: bool = False
) -> bool:
    """Lock the row of ``model`` whose primary key is ``key`` until the transaction ends;
    False: there is no such row (nothing to lock; on SQLite the write lock is held all
    the same). ``shared``: others may lock it shared too (PostgreSQL ``FOR SHARE``: it
    keeps the row from being changed or deleted meanwhile, without queueing readers)."""
    [column] = model.__table__.primary_key.columns  # type: ignore[attr-defined]
    bind = session.bind
    if bind is not None and bind.dialect.name == "postgresql":
        found = await session.scalar(
            select(column).where(column == key).with_for_update(read=shared)
        )
        return found is not None
    result = await session.execute(
        update(model.__table__).where(column == key).values({column: column})  # type: ignore[arg-type]
    )
    return bool(getattr(result, "rowcount", 0))
