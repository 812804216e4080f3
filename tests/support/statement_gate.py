"""Force an interleaving of two transactions: hold one at a chosen statement.

``StatementGate(engine, pattern)`` listens to an engine's statements (SQLAlchemy's
``before_cursor_execute`` event, no code of the bot replaced): the first statement whose
SQL matches ``pattern`` is held before it is sent, its transaction open with whatever it
did so far, until ``release()``. The event runs in SQLAlchemy's greenlet of that
session, so waiting there (``await_only``) suspends that session alone while the test
and the other sessions go on. Statements issued by others meanwhile are kept in
``after``.

``blocked_or_done(task, ...)`` then waits until the other side either finished or is
waiting for a lock the held transaction holds: on PostgreSQL a backend of this database
waiting for a lock (``pg_stat_activity``); on SQLite, which has one writer, a write
statement issued while the held transaction holds the write lock (it can only go on
after the held one ends). Both are conditions polled, not a sleep hoped long enough.
"""

from __future__ import annotations

import asyncio
import re
from types import TracebackType
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from bot.storage.database import create_engine
from tests.support.databases import TestDatabase

_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)


class StatementGate:
    def __init__(self, engine: AsyncEngine, pattern: str) -> None:
        self._engine = engine
        self._pattern = re.compile(pattern)
        self.held = ""
        self.arrived = asyncio.Event()
        self.released = asyncio.Event()
        self.after: list[str] = []

    def __enter__(self) -> StatementGate:
        event.listen(self._engine.sync_engine, "before_cursor_execute", self._before)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release()
        event.remove(self._engine.sync_engine, "before_cursor_execute", self._before)

    def release(self) -> None:
        self.released.set()

    def writes_after(self) -> list[str]:
        return [statement for statement in self.after if _WRITE.match(statement)]

    def _before(self, *args: Any) -> None:
        statement: str = args[2]
        if self.arrived.is_set():
            if not self.released.is_set():
                self.after.append(statement)
            return
        if self._pattern.search(statement):
            self.held = statement
            self.arrived.set()
            await_only(self.released.wait())

    async def wait_arrived(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            await self.arrived.wait()


async def lock_waits(url: str) -> int:
    """How many backends of this PostgreSQL database are waiting for a lock now."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            waiting = await connection.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
        return int(waiting or 0)
    finally:
        await engine.dispose()


async def blocked_or_done(
    task: asyncio.Future[Any],
    database: TestDatabase,
    gate: StatementGate,
    *,
    timeout: float = 10.0,  # noqa: ASYNC109 - a deadline on a condition
) -> None:
    """Until ``task`` is done, or waits for the transaction ``gate`` holds (see above)."""
    async with asyncio.timeout(timeout):
        while not task.done():
            if database.backend == "postgresql":
                if await lock_waits(database.url) > 0:
                    return
            elif gate.writes_after():
                return
            await asyncio.sleep(0.01)
